// Package canarycontrolplane is step S1 of the upgrade (see
// docs/upgrade-model.md): install a new control-plane revision
// next to the running one without touching anything the running revision
// runs.
//
// A revision render (istioctl manifest generate --revision <rev>) also
// carries non-revisioned objects with the same names as the running
// render's: the default gateway istio-system/istio-ingressgateway (mounting
// the NEW revision's ConfigMap, so applying it bounces the running gateway
// onto the new revision at once), its Service, PDB and ServiceAccount, the
// validating webhook istiod-<ns>, shared ClusterRoles with fewer rules, and
// the CRDs. This function receives the new render as its items and the
// running render as the data of a ConfigMap annotated
// revshift.dev/running-render (see mesh.AnnotationRunningRender and the
// README), and emits:
//   - every object of the new render that the running render does not have
//     and that belongs to the new revision (istiod-<rev>, istio-<rev>, the
//     revision's injector, its EnvoyFilters, new CRDs, new RBAC);
//   - CRDs that the running render also has: the newer definition wins; a
//     version the running definition serves and the new one drops is an
//     error;
//   - shared Roles and ClusterRoles as the union of both renders' rules, and
//     shared bindings with the union of their subjects, so the running
//     istiod keeps every permission while both revisions run;
//
// and holds back, with an info result each, every other object that would
// rewrite a running one, and every webhook configuration that does not call
// the new revision (webhook-fix moves those in S6). The parts of a rendered
// gateway that would restart a running gateway in place (its Deployment,
// ServiceAccount, PDB, HPA, Roles and RoleBindings: mesh.GatewayParts) are
// all held back: revision-gateway migrates that gateway as a canary of its
// own, under canary names.
//
// The target's version of every other object both renders hold under one
// identity (held back, or emitted as a union) travels on in a carrier
// annotated mesh.AnnotationHeldRender: prune-legacy applies it when it
// removes the running revision, so the last state holds the target's
// objects and the unions shrink to the target's rules.
package canarycontrolplane

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind.
const Kind = "CanaryControlPlane"

// Spec is the optional functionConfig:
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: CanaryControlPlane
//	metadata: {name: canary}
//	spec:
//	  revision: 1-6-14   # the new revision; default: the one revision whose
//	                     # istiod is in the items and not in the running render
type Spec struct {
	Revision string `yaml:"revision"`
	// IncludeRunning also emits the running render's objects (those the
	// new revision does not supersede: a newer CRD, a role union), marked
	// revshift.dev/state: old, so that the output is the complete desired
	// state of S1 and later steps can edit the running objects (the shift
	// scales the old gateways). revshift plan's steps use it.
	IncludeRunning bool `yaml:"includeRunning"`
}

// Transform emits the canary control plane. See the package doc.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	var spec Spec
	if err := krm.DecodeConfig(config, Kind, &spec); err != nil {
		return nil, err
	}
	if spec.Revision != "" {
		if err := mesh.ValidRevision(spec.Revision); err != nil {
			return nil, fmt.Errorf("functionConfig spec.revision: %v", err)
		}
	}
	items, err := restoreRender(items, spec.IncludeRunning)
	if err != nil {
		return nil, err
	}
	newModel, err := mesh.BuildItems(items)
	if err != nil {
		return nil, err
	}
	if err := mesh.NotRendered(newModel); err != nil {
		return nil, err
	}
	runningNodes, carriers, err := mesh.RunningRender(items)
	if err != nil {
		return nil, err
	}
	if len(carriers) == 0 {
		return nil, fmt.Errorf("no running render in the input: add the running control plane's render as the data of a ConfigMap annotated %s (a kustomize configMapGenerator, see the README); without it the function cannot tell which objects would rewrite running ones", mesh.AnnotationRunningRender)
	}
	running, err := mesh.BuildItems(runningNodes)
	if err != nil {
		return nil, fmt.Errorf("running render: %v", err)
	}
	rev, err := newRevision(spec.Revision, newModel, running)
	if err != nil {
		return nil, err
	}
	c := &canary{res: res, rev: rev, newModel: newModel, running: running, gatewayPart: gatewayParts(newModel, running)}
	if c.merged, err = merge(running, newModel, carriers); err != nil {
		return nil, err
	}
	c.runningNewer, c.versions = newerRender(running, newModel, rev)

	isCarrier := map[*mesh.Item]bool{}
	for _, it := range carriers {
		isCarrier[it] = true
	}
	out := make([]*mesh.Item, 0, len(items))
	emitted := make(map[mesh.ID]bool, len(items))
	for _, o := range newModel.Objects {
		if isCarrier[o.Item()] {
			if err := keepLocal(o, res); err != nil {
				return nil, err
			}
			out = append(out, o.Item())
			emitted[o.ID] = true
			continue
		}
		target := c.heldVersion(o)
		keep, err := c.decide(o)
		if err != nil {
			return nil, err
		}
		if keep {
			out = append(out, o.Item())
			emitted[o.ID] = true
		}
		if target != nil && (!keep || !mesh.SameObject(target, o.Node())) {
			c.held = append(c.held, target)
		}
	}
	if len(c.held) > 0 {
		sort.Slice(c.held, func(i, j int) bool { return heldKey(c.held[i]) < heldKey(c.held[j]) })
		carrier, err := mesh.NewCarrier("target-held", mesh.AnnotationHeldRender, c.held)
		if err != nil {
			return nil, err
		}
		out = append(out, carrier)
		res.Infof(nil, "carried the target's version of %d object(s) that both renders hold (annotation %s, local-config): prune-legacy applies them when it removes the running revision", len(c.held), mesh.AnnotationHeldRender)
	}
	if spec.IncludeRunning {
		n := 0
		for _, o := range running.Objects {
			// An emitted object of the same identity (the newer CRD, a
			// role union) replaces the running one.
			if emitted[o.ID] {
				continue
			}
			if err := o.Item().SetAnnotation(mesh.AnnotationState, mesh.StateOld); err != nil {
				return nil, err
			}
			out = append(out, o.Item())
			n++
		}
		res.Infof(nil, "included %d objects of the running render unchanged (spec.includeRunning), marked %s: %s", n, mesh.AnnotationState, mesh.StateOld)
	}
	return out, nil
}

type canary struct {
	res               *krm.Results
	rev               string
	newModel, running *mesh.Model
	merged            *mesh.Model
	runningNewer      bool
	versions          string
	// gatewayPart are the new render's gateway parts that a running
	// gateway of the same identity would be restarted by, with that
	// gateway.
	gatewayPart map[mesh.ID]*mesh.Gateway
	// held are the target's versions of the objects both renders hold,
	// for the held carrier.
	held []*yaml.RNode
}

// newRevision is spec.revision, or the one revision whose istiod the items
// have and the running render has not.
func newRevision(want string, newModel, running *mesh.Model) (string, error) {
	runningRevs := running.Revisions()
	isRunning := map[string]bool{}
	for _, r := range runningRevs {
		isRunning[r] = true
	}
	if want != "" {
		if len(newModel.IstiodsOf(want)) == 0 {
			return "", fmt.Errorf("functionConfig spec.revision %q: no istiod of that revision in the input (revisions present: %s)", want, list(newModel.Revisions()))
		}
		if isRunning[want] {
			return "", fmt.Errorf("functionConfig spec.revision %q is the running revision: a canary needs a new revision (istioctl manifest generate --revision <rev>)", want)
		}
		return want, nil
	}
	var cands []string
	for _, r := range newModel.Revisions() {
		if !isRunning[r] {
			cands = append(cands, r)
		}
	}
	switch len(cands) {
	case 0:
		return "", fmt.Errorf("no new revision in the input: the items have istiods of %s and the running render of %s; render the new control plane with istioctl manifest generate --revision <rev>", list(newModel.Revisions()), list(runningRevs))
	case 1:
		return cands[0], nil
	}
	return "", fmt.Errorf("several new revisions in the input (%s): set functionConfig spec.revision", strings.Join(cands, ", "))
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// merge is the cluster as it would be with the new render applied over the
// running one: where webhooks' Services are resolved.
func merge(running, newModel *mesh.Model, carriers []*mesh.Item) (*mesh.Model, error) {
	skip := map[*mesh.Item]bool{}
	for _, it := range carriers {
		skip[it] = true
	}
	var items []*mesh.Item
	for _, o := range running.Objects {
		if !newModel.Has(o.ID) {
			items = append(items, o.Item())
		}
	}
	for _, o := range newModel.Objects {
		if !skip[o.Item()] {
			items = append(items, o.Item())
		}
	}
	return mesh.BuildItems(items)
}

// newerRender reports whether the running render is a newer Istio than the
// new revision (a rollback), from the istiods' image tags.
func newerRender(running, newModel *mesh.Model, rev string) (bool, string) {
	var newest, target *mesh.Version
	for _, i := range running.Istiods {
		if v, ok := mesh.IstiodVersion(i); ok && (newest == nil || v.Compare(*newest) > 0) {
			newest = &v
		}
	}
	for _, i := range newModel.IstiodsOf(rev) {
		if v, ok := mesh.IstiodVersion(i); ok {
			target = &v
			break
		}
	}
	if newest == nil || target == nil {
		return false, "Istio versions unknown: the new render's definitions win"
	}
	return newest.Compare(*target) > 0, fmt.Sprintf("running Istio %s, revision %s runs %s", newest, rev, target)
}

// keepLocal keeps the running-render carrier in the output (so a second run
// sees it) and makes sure nothing applies it.
func keepLocal(o *mesh.Object, res *krm.Results) error {
	if v, _ := o.Annotation(mesh.AnnotationLocalConfig); v == "true" {
		return nil
	}
	if err := o.Node().PipeE(yaml.SetAnnotation(mesh.AnnotationLocalConfig, "true")); err != nil {
		return err
	}
	res.Infof(o, "annotated the running-render carrier %s: \"true\" so that kustomize, kpt and Argo CD never apply it", mesh.AnnotationLocalConfig)
	return nil
}

// decide reports whether a new-render object is emitted, editing it when
// it is a union.
func (c *canary) decide(o *mesh.Object) (bool, error) {
	id := o.ID
	if mesh.IsWebhookConfig(id) {
		return c.webhookConfig(o)
	}
	if g := c.gatewayPart[id]; g != nil {
		grev, _ := c.newModel.GatewayRevision(g)
		if id.Group == "" && id.Kind == "Service" && c.running.Has(id) {
			c.res.Infof(o, "held back %s: the production Service of gateway %s; the running Service stays (its address is what clients reach) and will select the gateway's canary of revision %s", id, g.ID, grev)
			return false, nil
		}
		c.res.Infof(o, "held back %s: part of gateway %s, which would restart the running gateway of the same name onto revision %s at once; revision-gateway migrates it as a canary of its own, under canary names, and the running gateway keeps its own", id, g.ID, grev)
		return false, nil
	}
	old, collides := c.running.Get(id)
	if !collides {
		return true, nil
	}
	switch {
	case mesh.IsCRD(id):
		return c.crd(o, old)
	case mesh.IsRole(id):
		return c.role(o, old)
	case mesh.IsBinding(id):
		return c.binding(o, old)
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: identical to the running object, applying it changes nothing", id)
		return false, nil
	}
	diff := strings.Join(diffPaths(o.Node(), old.Node()), ", ")
	if w := c.newModel.Workload(id); w != nil {
		if g := w.Gateway(); g != nil {
			grev, src := c.newModel.GatewayRevision(g)
			c.res.Infof(o, "held back %s: it would replace the running gateway of the same name, restarting its pods onto revision %s at once (%s; differs in %s); the gateway is migrated later as its own step (revision-gateway), never by a bounce", id, grev, src, diff)
			return false, nil
		}
	}
	c.res.Infof(o, "held back %s: it is not revisioned and would rewrite the running object of the same name (differs in %s); it is applied when the old revision is pruned", id, diff)
	return false, nil
}

// webhookConfig emits a webhook configuration only when every webhook in it
// calls an istiod of the new revision.
func (c *canary) webhookConfig(o *mesh.Object) (bool, error) {
	if _, tag := mesh.ConfigRevision(o); tag != "" && c.running.Has(o.ID) {
		// A running tag's webhook: moving it re-injects whatever runs on
		// the tag at its next pod restart (verify RS019).
		c.res.Infof(o, "held back %s: it moves revision tag %s, through which running pods are injected; a tag moves in a step of its own once the gateways on it run as canaries (revshift plan --tag %s, the revision-tag function), else when the old revision is pruned", o.ID, tag, tag)
		return false, nil
	}
	hooks := c.merged.WebhooksOf(o.ID)
	var other []string
	for _, h := range hooks {
		if h.Service == nil {
			other = append(other, fmt.Sprintf("%s calls URL %s", h.Name, h.URL))
			continue
		}
		r, ok := c.merged.WebhookRevision(h)
		if !ok {
			return false, fmt.Errorf("%s: webhook %s calls Service %s/%s, which resolves to no revision: it is in neither render, or it selects no istiod", o.ID, h.Name, h.Service.Namespace, h.Service.Name)
		}
		if r != c.rev {
			other = append(other, fmt.Sprintf("%s calls Service %s/%s (revision %s)", h.Name, h.Service.Namespace, h.Service.Name, r))
		}
	}
	if len(other) == 0 {
		return true, nil
	}
	what := "a new"
	if c.running.Has(o.ID) {
		what = "the running"
	}
	c.res.Infof(o, "held back %s: it is not the new revision's (%s); applying it would change %s webhook configuration while the old istiod runs. webhook-fix (S6) points the webhooks at revision %s before the old revision is removed", o.ID, strings.Join(other, "; "), what, c.rev)
	return false, nil
}

func (c *canary) crd(o, old *mesh.Object) (bool, error) {
	nv, err := mesh.CRDVersions(o)
	if err != nil {
		return false, &mesh.ObjectError{ID: o.ID, Err: err}
	}
	ov, err := mesh.CRDVersions(old)
	if err != nil {
		return false, fmt.Errorf("running render: %v", &mesh.ObjectError{ID: old.ID, Err: err})
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: identical to the running definition", o.ID)
		return false, nil
	}
	if c.runningNewer {
		c.res.Infof(o, "held back %s: the running definition is the newer one (%s); it stays", o.ID, c.versions)
		return false, nil
	}
	if dropped := mesh.DroppedVersions(ov, nv); len(dropped) > 0 {
		c.res.Errorf(o, "%s: the new definition stops serving %s, which the running definition serves (running serves %s, new serves %s); objects in those versions and the running istiod's watches would break. Keep the version served until every revision that reads it is gone", o.ID, strings.Join(dropped, ", "), list(mesh.ServedVersions(ov)), list(mesh.ServedVersions(nv)))
		return false, nil
	}
	c.res.Infof(o, "replaces the running definition of %s (%s; served versions %s -> %s)", o.ID, c.versions, list(mesh.ServedVersions(ov)), list(mesh.ServedVersions(nv)))
	return true, nil
}

func (c *canary) role(o, old *mesh.Object) (bool, error) {
	nr, err := mesh.RoleRules(o)
	if err != nil {
		return false, &mesh.ObjectError{ID: o.ID, Err: err}
	}
	or, err := mesh.RoleRules(old)
	if err != nil {
		return false, fmt.Errorf("running render: %v", &mesh.ObjectError{ID: old.ID, Err: err})
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: identical to the running object", o.ID)
		return false, nil
	}
	lost := mesh.RulesLost(or, nr)
	if len(lost) == 0 {
		c.res.Infof(o, "replaces the running %s: the new rules grant everything the running ones do", o.ID)
		return true, nil
	}
	seq := lookupSeq(o.Node(), "rules")
	if seq == nil {
		seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if err := o.Node().PipeE(yaml.SetField("rules", yaml.NewRNode(seq))); err != nil {
			return false, err
		}
		seq = lookupSeq(o.Node(), "rules")
	}
	var desc []string
	for _, r := range lost {
		seq.Content = append(seq.Content, yaml.CopyYNode(r.Node))
		desc = append(desc, r.String())
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: the union of both renders' rules is the running object itself, applying it changes nothing", o.ID)
		return false, nil
	}
	c.res.Infof(o, "%s is shared by both revisions: emitted the union of its rules, keeping %d rule(s) of the running render that the new render drops (%s) so that %s keep(s) them while both istiods run", o.ID, len(lost), strings.Join(desc, "; "), c.boundTo(old.ID))
	return true, nil
}

// boundTo names the subjects the running render binds to a role.
func (c *canary) boundTo(role mesh.ID) string {
	var out []string
	for _, b := range c.running.BindingsTo(role) {
		for _, s := range b.Subjects {
			who := s.Kind + " " + s.Name
			if s.Namespace != "" {
				who = s.Kind + " " + s.Namespace + "/" + s.Name
			}
			out = append(out, who+" ("+b.ID.Kind+" "+b.ID.Name+")")
		}
	}
	if len(out) == 0 {
		return "whatever the running revision binds to it"
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func (c *canary) binding(o, old *mesh.Object) (bool, error) {
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: identical to the running object", o.ID)
		return false, nil
	}
	nb, ob := c.newModel.BindingOf(o.ID), c.running.BindingOf(old.ID)
	if nb == nil || ob == nil {
		return false, fmt.Errorf("%s: not a parsed binding", o.ID)
	}
	if nb.RoleRef != ob.RoleRef {
		c.res.Warnf(o, "held back %s: its roleRef (%s) differs from the running binding's (%s) and roleRef cannot be changed in place; it is applied when the old revision is pruned. Check that revision %s gets its permissions from another binding meanwhile", o.ID, nb.RoleRef, ob.RoleRef, c.rev)
		return false, nil
	}
	have := map[mesh.Subject]bool{}
	for _, s := range nb.Subjects {
		have[s] = true
	}
	oldSubjects := lookupSeq(old.Node(), "subjects")
	var added []string
	for i, s := range ob.Subjects {
		if have[s] || oldSubjects == nil || i >= len(oldSubjects.Content) {
			continue
		}
		seq := lookupSeq(o.Node(), "subjects")
		if seq == nil {
			if err := o.Node().PipeE(yaml.SetField("subjects", yaml.NewRNode(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}))); err != nil {
				return false, err
			}
			seq = lookupSeq(o.Node(), "subjects")
		}
		seq.Content = append(seq.Content, yaml.CopyYNode(oldSubjects.Content[i]))
		have[s] = true
		added = append(added, s.Kind+" "+s.Namespace+"/"+s.Name)
	}
	if len(added) == 0 {
		c.res.Infof(o, "replaces the running %s: it keeps every subject of the running binding", o.ID)
		return true, nil
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: the union of both renders' subjects is the running object itself, applying it changes nothing", o.ID)
		return false, nil
	}
	c.res.Infof(o, "%s is shared by both revisions: emitted the union of its subjects, keeping %s of the running render so the running revision keeps %s", o.ID, strings.Join(added, ", "), nb.RoleRef)
	return true, nil
}

func lookupSeq(n *yaml.RNode, field string) *yaml.Node {
	f := n.Field(field)
	if f == nil || f.Value == nil || f.Value.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	return f.Value.YNode()
}

// diffPaths lists up to five field paths where two objects differ
// (mesh.Differences), cut at the first list and at four levels, for the
// reviewer.
func diffPaths(a, b *yaml.RNode) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range mesh.Differences(mesh.Plain(a), mesh.Plain(b)) {
		path := d.Path
		for i, p := range path {
			if strings.HasPrefix(p, "[") || i == 4 {
				path = path[:i]
				break
			}
		}
		p := strings.Join(path, ".")
		if seen[p] {
			continue
		}
		if len(out) == 5 {
			break
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}
