package revisiongateway

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
)

// joinProduction (pass 1) gives the canary's pods the labels of every
// selector that selects the old pods, and keeps the canary's matchLabels
// in step.
func joinProduction(m *mesh.Model, w *work, res *krm.Results) error {
	o, n := w.workloads(m)
	prod, gws := w.production(m, o, n)
	if len(prod) == 0 {
		res.Errorf(o.Object, "no production Service selects the pods of running gateway %s (only the new render's %s): a canary would have nothing to join", o.ID, orNone(idList(w.renderSvcs)))
		w.failed = true
		return nil
	}
	w.prod = ids(prod, func(s *mesh.Service) mesh.ID { return s.ID })
	req, err := mesh.RequiredPodLabels(prod, gws)
	if err != nil {
		res.Errorf(o.Object, "%v", err)
		w.failed = true
		return nil
	}
	final, changes, kept, err := requireLabels(n, req)
	if err != nil {
		return err
	}
	g := n.Gateway()
	// Modern era (no --serviceCluster): istio.io/rev names the revision.
	if g.ServiceCluster == "" && w.NewRevision != mesh.DefaultRevision && final[mesh.LabelRev] != w.NewRevision {
		if _, required := requiredKey(req, mesh.LabelRev); required {
			res.Errorf(n.Object, "production selectors require %s=%s, but the canary runs revision %s: a production Service or Gateway must not select a revision", mesh.LabelRev, final[mesh.LabelRev], w.NewRevision)
			w.failed = true
			return nil
		}
		changes = append(changes, fmt.Sprintf("%s=%s (the canary's revision)", mesh.LabelRev, w.NewRevision))
		final[mesh.LabelRev] = w.NewRevision
		if err := setString(n.Node(), podLabelsPath, mesh.LabelRev, w.NewRevision); err != nil {
			return err
		}
	}
	for k, v := range n.MatchLabels() {
		if final[k] != v {
			if err := setString(n.Node(), matchLabelsPath, k, final[k]); err != nil {
				return err
			}
			changes = append(changes, fmt.Sprintf("spec.selector.matchLabels %s=%s (was %s, follows the pod label)", k, final[k], v))
		}
	}
	sort.Strings(changes)
	var from []string
	for _, s := range prod {
		from = append(from, s.ID.String())
	}
	for _, g := range gws {
		from = append(from, g.ID.String())
	}
	msg := fmt.Sprintf("canary %s replaces %s (revision %s -> %s); its pods must be selected by %s", n.ID, o.ID, w.OldRevision, w.NewRevision, strings.Join(from, ", "))
	if len(changes) > 0 {
		msg += "; set pod labels " + strings.Join(changes, ", ")
	}
	if len(kept) > 0 {
		msg += "; already carried " + strings.Join(kept, ", ")
	}
	res.Infof(n.Object, "%s", msg)
	return keepServiceCluster(m, o, n, res)
}

// production sorts the Services and Istio Gateway resources that select
// the old pods o or the canary's n: the production ones (they select o and
// are not the new render's), returned in ID order, and the new render's
// own, recorded in w.
func (w *work) production(m *mesh.Model, o, n *mesh.Workload) ([]*mesh.Service, []*mesh.IstioGateway) {
	seen := map[mesh.ID]bool{}
	selectsOld := map[mesh.ID]bool{}
	for _, s := range o.Services() {
		selectsOld[s.ID] = true
	}
	var prod []*mesh.Service
	for _, s := range append(o.Services(), n.Services()...) {
		if seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		switch {
		case w.fromRender(s.Object):
			w.renderSvcs = append(w.renderSvcs, s.ID)
		case selectsOld[s.ID]:
			prod = append(prod, s)
		}
	}
	sort.Slice(prod, func(i, j int) bool { return prod[i].ID.Less(prod[j].ID) })
	var gws []*mesh.IstioGateway
	for _, g := range append(o.IstioGateways(), n.IstioGateways()...) {
		if seen[g.ID] {
			continue
		}
		seen[g.ID] = true
		switch {
		case w.fromRender(g.Object):
			w.renderGws = append(w.renderGws, g.ID)
		case g.Selects(o):
			gws = append(gws, g)
		}
	}
	return prod, gws
}

// requireLabels sets the pod labels the production selectors require on
// canary n. It returns the pod labels the canary ends with, the changes
// and the required labels it already carried.
func requireLabels(n *mesh.Workload, req []mesh.RequiredLabel) (map[string]string, []string, []string, error) {
	final := map[string]string{}
	for k, v := range n.PodLabels {
		final[k] = v
	}
	var changes, kept []string
	for _, r := range req {
		cur, has := n.PodLabels[r.Key]
		switch {
		case has && cur == r.Value:
			kept = append(kept, r.Key+"="+r.Value)
			continue
		case has:
			changes = append(changes, fmt.Sprintf("%s=%s (was %s; required by %s)", r.Key, r.Value, cur, idList(r.From)))
		default:
			changes = append(changes, fmt.Sprintf("%s=%s (required by %s)", r.Key, r.Value, idList(r.From)))
		}
		final[r.Key] = r.Value
		if err := setString(n.Node(), podLabelsPath, r.Key, r.Value); err != nil {
			return nil, nil, nil, err
		}
	}
	return final, changes, kept, nil
}

// keepServiceCluster (1.5/1.6 era): the canary reports telemetry under the
// running gateway's --serviceCluster, the production cluster name.
func keepServiceCluster(m *mesh.Model, o, n *mesh.Workload, res *krm.Results) error {
	g, og := n.Gateway(), o.Gateway()
	if og.ServiceCluster == "" || g.ServiceCluster == "" || g.ServiceCluster == og.ServiceCluster {
		return nil
	}
	c, err := container(n.Node(), g.Proxy.Index)
	if err != nil {
		return err
	}
	if _, err := setArgValue(c, "--serviceCluster", og.ServiceCluster); err != nil {
		return err
	}
	res.Infof(n.Object, "--serviceCluster %s (was %s): the canary reports telemetry under the production name, as %s does", og.ServiceCluster, g.ServiceCluster, o.ID)
	return nil
}

func requiredKey(req []mesh.RequiredLabel, k string) (string, bool) {
	for _, r := range req {
		if r.Key == k {
			return r.Value, true
		}
	}
	return "", false
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ownSelector (pass 2) makes the canary's selector exclude the old pods
// (the old Deployment's selector cannot change: it is immutable and it
// matches the labels the production Services need, so it also matches the
// canary's pods; the Deployment controller only adopts orphans, so that
// overlap is harmless, but the reverse would make the canary count the old
// pods as its own).
func ownSelector(m *mesh.Model, w *work, res *krm.Results) error {
	o, n := w.workloads(m)
	prodKeys := map[string]bool{}
	for _, id := range w.prod {
		for k := range m.Service(id.Namespace, id.Name).Selector {
			prodKeys[k] = true
		}
	}
	if !n.SelectsPodsOf(o) {
		// Already its own; remember a label that tells the pods apart.
		keys := slices.Sorted(maps.Keys(n.MatchLabels()))
		for _, k := range keys {
			if v := n.MatchLabels()[k]; o.PodLabels[k] != v {
				w.discKey, w.discValue = k, v
				break
			}
		}
		return nil
	}
	for _, k := range discriminators {
		if v := n.PodLabels[k]; v != "" && o.PodLabels[k] != v && !prodKeys[k] {
			w.discKey, w.discValue = k, v
			break
		}
	}
	if w.discKey == "" {
		if o.PodLabels[mesh.LabelRev] == w.NewRevision || prodKeys[mesh.LabelRev] {
			res.Errorf(n.Object, "no label tells the canary's pods from those of %s (tried %s); list spec.pairs or give the canary a distinct %s label", o.ID, strings.Join(discriminators, ", "), mesh.LabelRev)
			w.failed = true
			return nil
		}
		w.discKey, w.discValue = mesh.LabelRev, w.NewRevision
		if err := setString(n.Node(), podLabelsPath, w.discKey, w.discValue); err != nil {
			return err
		}
	}
	if err := setString(n.Node(), matchLabelsPath, w.discKey, w.discValue); err != nil {
		return err
	}
	res.Infof(n.Object, "spec.selector.matchLabels %s=%s added: the canary's selector no longer selects the pods of %s", w.discKey, w.discValue, o.ID)
	return nil
}

// Labels that tell a canary's pods from the running ones, in order of
// preference: the modern revision label, then the canonical revision every
// gateway chart since 1.6 sets to the revision (1.5 sets it to "1.5").
var discriminators = []string{mesh.LabelRev, "service.istio.io/canonical-revision"}
