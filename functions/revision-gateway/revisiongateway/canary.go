package revisiongateway

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Labels that tell a canary's pods from the running ones, in order of
// preference: the modern revision label, then the canonical revision every
// gateway chart since 1.6 sets to the revision (1.5 sets it to "1.5").
var discriminators = []string{mesh.LabelRev, "service.istio.io/canonical-revision"}

// work is one pair being turned into a canary.
type work struct {
	mesh.GatewayPair
	oldID, newID mesh.ID
	// prod are the production Services (they select the old pods and are
	// not from the new render); renderSvcs are the new render's own.
	prod       []mesh.ID
	renderSvcs []mesh.ID
	renderGws  []mesh.ID
	// disc is a pod label the canary carries and the old pods do not.
	discKey, discValue string
	failed             bool
}

// canary is mode canary (S3). It edits in three passes, rebuilding the
// model between them so that every selection question is asked of the
// objects as they are by then.
func canary(items []*mesh.Item, pairs []mesh.GatewayPair, spec Spec, res *krm.Results) ([]*mesh.Item, error) {
	m, err := mesh.BuildItems(items)
	if err != nil {
		return nil, err
	}
	ws := make([]*work, len(pairs))
	for i, p := range pairs {
		w := &work{GatewayPair: p, oldID: p.Old.ID, newID: p.New.ID}
		ws[i] = w
		if err := joinProduction(m, w, res); err != nil {
			return nil, err
		}
	}
	// Pass 2: a selector of its own.
	if m, err = mesh.BuildItems(items); err != nil {
		return nil, err
	}
	for _, w := range ws {
		if !w.failed {
			if err := ownSelector(m, w, res); err != nil {
				return nil, err
			}
		}
	}
	if m, err = mesh.BuildItems(items); err != nil {
		return nil, err
	}
	for _, w := range ws {
		if w.failed {
			continue
		}
		o, n := m.Workload(w.oldID), m.Workload(w.newID)
		if n.SelectsPodsOf(o) || !n.SelectsPodsOf(n) {
			res.Errorf(n.Object, "spec.selector %s of canary %s must select its own pods and not those of %s; give it a selector of its own", flow(n.SelectorNode()), n.ID, o.ID)
			w.failed = true
		}
	}
	// Pass 3: everything that depends on the final labels.
	var removed = map[mesh.ID]bool{}
	var added []*yaml.RNode
	for _, w := range ws {
		if w.failed {
			continue
		}
		a, err := finish(m, w, spec, removed, res)
		if err != nil {
			return nil, err
		}
		added = append(added, a...)
	}
	if res.Failed() {
		return items, nil
	}
	out := make([]*mesh.Item, 0, len(items)+len(added))
	for _, it := range items {
		o, err := mesh.IdentifyItem(0, it)
		if err == nil && removed[o.ID] {
			continue
		}
		out = append(out, it)
	}
	for _, n := range added {
		out = append(out, mesh.NewItem(n))
	}
	return out, nil
}

func ids[T interface{ comparable }](xs []T, id func(T) mesh.ID) []mesh.ID {
	out := make([]mesh.ID, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func idList(xs []mesh.ID) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}

// fromRender reports whether an object is the new render's copy of
// something: revision-gateway made it from a carried canary render
// (mesh.AnnotationCanaryOf), or, in an input the user renamed by hand, its
// name carries the pair's suffix.
func (w *work) fromRender(o *mesh.Object) bool {
	if _, ok := o.CanaryOf(); ok {
		return true
	}
	return w.Suffix != "" && strings.HasSuffix(o.ID.Name, w.Suffix)
}

// joinProduction (pass 1) gives the canary's pods the labels of every
// selector that selects the old pods, and keeps the canary's matchLabels
// in step.
func joinProduction(m *mesh.Model, w *work, res *krm.Results) error {
	o, n := m.Workload(w.oldID), m.Workload(w.newID)
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
	if len(prod) == 0 {
		res.Errorf(o.Object, "no production Service selects the pods of running gateway %s (only the new render's %s): a canary would have nothing to join", o.ID, orNone(idList(w.renderSvcs)))
		w.failed = true
		return nil
	}
	w.prod = ids(prod, func(s *mesh.Service) mesh.ID { return s.ID })
	var gws []*mesh.IstioGateway
	gseen := map[mesh.ID]bool{}
	for _, g := range append(o.IstioGateways(), n.IstioGateways()...) {
		if gseen[g.ID] {
			continue
		}
		gseen[g.ID] = true
		switch {
		case w.fromRender(g.Object):
			w.renderGws = append(w.renderGws, g.ID)
		case g.Selects(o):
			gws = append(gws, g)
		}
	}
	req, err := mesh.RequiredPodLabels(prod, gws)
	if err != nil {
		res.Errorf(o.Object, "%v", err)
		w.failed = true
		return nil
	}
	var from []string
	for _, s := range prod {
		from = append(from, s.ID.String())
	}
	for _, g := range gws {
		from = append(from, g.ID.String())
	}
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
			return err
		}
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
	msg := fmt.Sprintf("canary %s replaces %s (revision %s -> %s); its pods must be selected by %s", n.ID, o.ID, w.OldRevision, w.NewRevision, strings.Join(from, ", "))
	if len(changes) > 0 {
		msg += "; set pod labels " + strings.Join(changes, ", ")
	}
	if len(kept) > 0 {
		msg += "; already carried " + strings.Join(kept, ", ")
	}
	res.Infof(n.Object, "%s", msg)
	// 1.5/1.6 era: telemetry keeps the production cluster name.
	if og := o.Gateway(); og.ServiceCluster != "" && g.ServiceCluster != "" && g.ServiceCluster != og.ServiceCluster {
		c, err := container(n.Node(), g.Proxy.Index)
		if err != nil {
			return err
		}
		if _, err := setArgValue(c, "--serviceCluster", og.ServiceCluster); err != nil {
			return err
		}
		res.Infof(n.Object, "--serviceCluster %s (was %s): the canary reports telemetry under the production name, as %s does", og.ServiceCluster, g.ServiceCluster, o.ID)
	}
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
	o, n := m.Workload(w.oldID), m.Workload(w.newID)
	prodKeys := map[string]bool{}
	for _, id := range w.prod {
		for k := range m.Service(id.Namespace, id.Name).Selector {
			prodKeys[k] = true
		}
	}
	if !n.SelectsPodsOf(o) {
		// Already its own; remember a label that tells the pods apart.
		keys := sortedKeys(n.MatchLabels())
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

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// finish (pass 3): Services, ports, PDB, HPA or replicas, ServiceAccount,
// drain, ordering. It returns the objects it creates and records the ones
// to remove.
func finish(m *mesh.Model, w *work, spec Spec, removed map[mesh.ID]bool, res *krm.Results) ([]*yaml.RNode, error) {
	o, n := m.Workload(w.oldID), m.Workload(w.newID)
	g := n.Gateway()
	var added, canaryObjs []*yaml.RNode
	canaryObjs = append(canaryObjs, n.Node())
	prod := make([]*mesh.Service, len(w.prod))
	for i, id := range w.prod {
		prod[i] = m.Service(id.Namespace, id.Name)
	}
	// The new render's own Services and Gateway resources.
	render := make([]*mesh.Service, 0, len(w.renderSvcs))
	for _, id := range w.renderSvcs {
		render = append(render, m.Service(id.Namespace, id.Name))
	}
	previews := map[mesh.ID]bool{}
	if spec.PreviewService {
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
			canaryObjs = append(canaryObjs, pv.node)
			if created {
				added = append(added, pv.node)
			}
			res.Infof(&mesh.Object{APIVersion: "v1", ID: pv.id}, "preview %s (ClusterIP) selects only the pods of canary %s and maps ports exactly as production %s, for smoke tests before the shift", pv.id, n.ID, p.ID)
		}
	}
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
	// Other Services over the canary must agree with production on ports.
	for _, s := range n.Services() {
		if removed[s.ID] || previews[s.ID] || contains(w.prod, s.ID) || contains(w.renderSvcs, s.ID) {
			continue
		}
		if d := portDiffs(s, prod); d != "" {
			res.Errorf(s.Object, "%s also selects the pods of canary %s and maps %s (invariant 3: pilot would build the listener on either targetPort); remove it or align its targetPorts", s.ID, n.ID, d)
			w.failed = true
		}
	}
	if err := servePorts(m, w, o, n, g, prod, render, res); err != nil {
		return nil, err
	}
	pdbs, err := fixPDBs(m, w, o, n, res)
	if err != nil {
		return nil, err
	}
	for _, p := range pdbs.created {
		added = append(added, p)
	}
	canaryObjs = append(canaryObjs, pdbs.canary...)
	hpa, err := fixScale(m, w, o, n, res)
	if err != nil {
		return nil, err
	}
	if hpa.created != nil {
		added = append(added, hpa.created)
	}
	if hpa.node != nil {
		canaryObjs = append(canaryObjs, hpa.node)
	}
	deps, rbac := serviceAccount(m, o, n, res)
	if err := drain(n, g, *spec.DrainSeconds, res); err != nil {
		return nil, err
	}
	if err := addAnnotation(n.Node(), AnnotationReplaces, o.ID.Namespace+"/"+o.ID.Name); err != nil {
		return nil, err
	}
	if spec.Ordering.ArgoCDSyncWave != "" {
		for _, r := range rbac {
			canaryObjs = append(canaryObjs, r.Node())
		}
		var names []string
		for _, c := range canaryObjs {
			if err := addAnnotation(c, mesh.AnnotationSyncWave, spec.Ordering.ArgoCDSyncWave); err != nil {
				return nil, err
			}
			names = append(names, c.GetKind()+"/"+c.GetName())
		}
		res.Infof(n.Object, "sync-wave %s on the canary's objects (%s)", spec.Ordering.ArgoCDSyncWave, strings.Join(names, ", "))
	}
	if spec.Ordering.KptDependsOn {
		if g.ConfigMap != "" {
			if _, ok := m.ConfigMap(n.ID.Namespace, g.ConfigMap); ok {
				deps = append(deps, mesh.ID{Kind: "ConfigMap", Namespace: n.ID.Namespace, Name: g.ConfigMap})
			}
		}
		if len(deps) > 0 {
			if err := addDependsOn(n.Node(), deps...); err != nil {
				return nil, err
			}
			res.Infof(n.Object, "depends-on %s: kpt applies the canary after them", idList(deps))
		}
	}
	return added, nil
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
