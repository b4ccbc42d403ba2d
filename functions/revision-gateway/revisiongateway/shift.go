package revisiongateway

import (
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
)

// shift is mode shift (S4): scale each old gateway to 0 and remove its HPA,
// once its replacement can take the traffic. Nothing else changes.
func shift(items []*mesh.Item, m *mesh.Model, pairs []mesh.GatewayPair, spec Spec, res *krm.Results) ([]*mesh.Item, error) {
	removed := map[mesh.ID]bool{}
	for _, p := range pairs {
		o, n := p.Old.Workload, p.New.Workload
		if gaps := m.ReplacementGaps(o, n); len(gaps) > 0 {
			res.Errorf(o.Object, "refusing to scale down %s: its replacement %s (revision %s) cannot take its traffic: %s. Run mode canary first", o.ID, n.ID, p.NewRevision, strings.Join(gaps, "; "))
			continue
		}
		var hpas []*mesh.HPA
		for _, h := range m.HPAs {
			if h.ID.Namespace == o.ID.Namespace && h.TargetName == o.ID.Name && (h.TargetKind == "" || h.TargetKind == "Deployment") {
				hpas = append(hpas, h)
			}
		}
		svcs := o.Services()
		names := make([]string, len(svcs))
		for i, s := range svcs {
			names[i] = s.ID.String()
		}
		if o.DesiredReplicas() != 0 {
			if err := setInt(o.Node(), []string{"spec"}, "replicas", 0); err != nil {
				return nil, err
			}
			res.Infof(o.Object, "scaled %s from %d to 0 replicas: %s (revision %s) is selected by %s, serves their targetPorts and guarantees %d replicas", o.ID, m.MinReplicas(o), n.ID, p.NewRevision, strings.Join(names, ", "), m.MinReplicas(n))
		} else {
			res.Infof(o.Object, "%s is already at 0 replicas; %s (revision %s) serves %s", o.ID, n.ID, p.NewRevision, strings.Join(names, ", "))
		}
		for _, h := range hpas {
			removed[h.ID] = true
			res.Infof(h.Object, "removed %s: it would keep %s at %d replicas or more", h.ID, o.ID, h.MinReplicas)
		}
		if spec.Ordering.ArgoCDSyncWave != "" {
			if err := addAnnotation(o.Node(), mesh.AnnotationSyncWave, spec.Ordering.ArgoCDSyncWave); err != nil {
				return nil, err
			}
			res.Infof(o.Object, "sync-wave %s on %s: Argo CD scales it down after the lower waves are healthy", spec.Ordering.ArgoCDSyncWave, o.ID)
		}
		if spec.Ordering.KptDependsOn {
			if err := addDependsOn(o.Node(), n.ID); err != nil {
				return nil, err
			}
			res.Infof(o.Object, "depends-on %s: kpt scales %s down only once its replacement is reconciled", n.ID, o.ID)
		}
	}
	if res.Failed() {
		return items, nil
	}
	if len(removed) == 0 {
		return items, nil
	}
	out := make([]*mesh.Item, 0, len(items))
	for _, it := range items {
		if o, err := mesh.IdentifyItem(0, it); err == nil && removed[o.ID] {
			continue
		}
		out = append(out, it)
	}
	return out, nil
}
