package revisiongateway

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// finish (pass 3): Services, ports, PDB, HPA or replicas, ServiceAccount,
// drain, ordering. It returns the objects it creates and records the ones
// to remove.
func finish(m *mesh.Model, w *work, spec Spec, removed map[mesh.ID]bool, res *krm.Results) ([]*yaml.RNode, error) {
	o, n := w.workloads(m)
	g := n.Gateway()
	prod := make([]*mesh.Service, len(w.prod))
	for i, id := range w.prod {
		prod[i] = m.Service(id.Namespace, id.Name)
	}
	// The new render's own Services and Gateway resources.
	render := make([]*mesh.Service, 0, len(w.renderSvcs))
	for _, id := range w.renderSvcs {
		render = append(render, m.Service(id.Namespace, id.Name))
	}
	c := canaryObjects{canary: []*yaml.RNode{n.Node()}}
	previews := map[mesh.ID]bool{}
	if spec.PreviewService {
		var err error
		if previews, err = c.addPreviews(m, w, n, prod, res); err != nil {
			return nil, err
		}
	}
	dropRenderCopies(m, w, render, prod, previews, removed, res)
	checkOtherServices(m, w, n, prod, previews, removed, res)
	if err := servePorts(w, o, n, g, prod, render, res); err != nil {
		return nil, err
	}
	pdbs, err := fixPDBs(m, w, o, n, res)
	if err != nil {
		return nil, err
	}
	c.added = append(c.added, pdbs.created...)
	c.canary = append(c.canary, pdbs.canary...)
	hpa, err := fixScale(m, o, n, res)
	if err != nil {
		return nil, err
	}
	if hpa.created != nil {
		c.added = append(c.added, hpa.created)
	}
	if hpa.node != nil {
		c.canary = append(c.canary, hpa.node)
	}
	deps, rbac := serviceAccount(m, o, n, res)
	if err := drain(n, g, *spec.DrainSeconds, res); err != nil {
		return nil, err
	}
	if err := addAnnotation(n.Node(), AnnotationReplaces, o.ID.Namespace+"/"+o.ID.Name); err != nil {
		return nil, err
	}
	c.rbac = rbac
	if err := c.order(m, n, g, spec.Ordering, deps, res); err != nil {
		return nil, err
	}
	return c.added, nil
}

// canaryObjects are the objects of one canary: added are those finish
// creates; canary, with rbac, those an ordering annotation marks (rbac is
// materialized only then).
type canaryObjects struct {
	added, canary []*yaml.RNode
	rbac          []*mesh.Object
}

// addPreviews adds a preview Service of each production Service
// (spec.previewService) and returns their IDs.
func (c *canaryObjects) addPreviews(m *mesh.Model, w *work, n *mesh.Workload, prod []*mesh.Service, res *krm.Results) (map[mesh.ID]bool, error) {
	previews := map[mesh.ID]bool{}
	for _, p := range prod {
		pv, created, err := preview(m, w, p, n)
		if err != nil {
			return nil, err
		}
		if pv == nil {
			res.Errorf(p.Object, "cannot add the preview Service %s%s: a Service of that name, not from the new render, is in the input", p.ID.Name, previewSuffix(w))
			w.failed = true
			continue
		}
		previews[pv.id] = true
		c.canary = append(c.canary, pv.node)
		if created {
			c.added = append(c.added, pv.node)
		}
		res.Infof(&mesh.Object{APIVersion: "v1", ID: pv.id}, "preview %s (ClusterIP) selects only the pods of canary %s and maps ports exactly as production %s, for smoke tests before the shift", pv.id, n.ID, p.ID)
	}
	return previews, nil
}

// dropRenderCopies removes the new render's own Services (but previews)
// and Gateway resources: production selects the canary instead.
func dropRenderCopies(m *mesh.Model, w *work, render, prod []*mesh.Service, previews, removed map[mesh.ID]bool, res *krm.Results) {
	for _, s := range render {
		if previews[s.ID] {
			continue
		}
		removed[s.ID] = true
		why := "a second Service over the canary's pods"
		if s.Type == "LoadBalancer" {
			why += " (type LoadBalancer: a second external IP)"
		}
		if d := portDiffs(s, prod); d != "" {
			why += "; it maps " + d + ", and pilot builds the gateway listener on the targetPort of whichever Service it finds on the port (\"found 2 services on port\", pilot/pkg/networking/core/v1alpha3/gateway.go)"
		}
		res.Infof(s.Object, "removed %s from the new render: %s; production %s selects the canary instead", s.ID, why, idList(w.prod))
	}
	for _, id := range w.renderGws {
		removed[id] = true
		gw, _ := m.Get(id)
		res.Infof(gw, "removed %s from the new render: it repeats the servers of the running Gateway resources, which now program the canary too", id)
	}
}

// checkOtherServices (invariant 3): any other Service over the canary must
// agree with production on ports.
func checkOtherServices(m *mesh.Model, w *work, n *mesh.Workload, prod []*mesh.Service, previews, removed map[mesh.ID]bool, res *krm.Results) {
	for _, s := range n.Services() {
		if removed[s.ID] || previews[s.ID] || contains(w.prod, s.ID) || contains(w.renderSvcs, s.ID) {
			continue
		}
		if d := portDiffs(s, prod); d != "" {
			res.Errorf(s.Object, "%s also selects the pods of canary %s and maps %s (invariant 3: pilot would build the listener on either targetPort); remove it or align its targetPorts", s.ID, n.ID, d)
			w.failed = true
		}
	}
}

// order writes spec.ordering: an Argo CD sync wave on the canary's objects,
// and kpt depends-on from the canary to what it needs (deps, and the mesh
// ConfigMap it mounts).
func (c *canaryObjects) order(m *mesh.Model, n *mesh.Workload, g *mesh.Gateway, o Ordering, deps []mesh.ID, res *krm.Results) error {
	if o.ArgoCDSyncWave != "" {
		objs := c.canary
		for _, r := range c.rbac {
			objs = append(objs, r.Node())
		}
		var names []string
		for _, obj := range objs {
			if err := addAnnotation(obj, mesh.AnnotationSyncWave, o.ArgoCDSyncWave); err != nil {
				return err
			}
			names = append(names, obj.GetKind()+"/"+obj.GetName())
		}
		res.Infof(n.Object, "sync-wave %s on the canary's objects (%s)", o.ArgoCDSyncWave, strings.Join(names, ", "))
	}
	if !o.KptDependsOn {
		return nil
	}
	if g.ConfigMap != "" {
		if _, ok := m.ConfigMap(n.ID.Namespace, g.ConfigMap); ok {
			deps = append(deps, mesh.ID{Kind: "ConfigMap", Namespace: n.ID.Namespace, Name: g.ConfigMap})
		}
	}
	if len(deps) > 0 {
		if err := addDependsOn(n.Node(), deps...); err != nil {
			return err
		}
		res.Infof(n.Object, "depends-on %s: kpt applies the canary after them", idList(deps))
	}
	return nil
}

func contains(xs []mesh.ID, id mesh.ID) bool {
	for _, x := range xs {
		if x == id {
			return true
		}
	}
	return false
}

// portDiffs describes the ports s maps to another targetPort than a
// production Service does ("port 80 to 8080 (Service default/custom-gw: 80)").
func portDiffs(s *mesh.Service, prod []*mesh.Service) string {
	var out []string
	for _, p := range s.Ports {
		for _, ps := range prod {
			if pp, ok := ps.Port(p.Port); ok && pp.TargetPort != p.TargetPort {
				out = append(out, fmt.Sprintf("port %d to %s where %s maps it to %s", p.Port, p.TargetPort, ps.ID, pp.TargetPort))
			}
		}
	}
	return strings.Join(out, ", ")
}
