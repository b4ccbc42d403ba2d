package verify

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

// lastStep is set on the step that produces the last state of a sequence
// checked with its renders: RS022 judges that state, and only it.
type lastStep struct {
	// from and to name the step's two states.
	from, to string
	// original: the last state is the running render again (the end of a
	// rollback walk), which converges to Renders.Running.
	original bool
	// rewrites are the planned rewrites RS022 found, for the report.
	rewrites []Rewrite
}

// Rewrite is one planned rewrite found in the last state: a named,
// planned way in which it differs from the render it converges to, and the
// objects it explains.
type Rewrite struct {
	Name    string
	Objects []mesh.ID
}

// rewriteDocs is the closed list of planned rewrites RS022 accepts, in the
// order the report lists them. Anything else that differs from the render
// is an error.
var rewriteDocs = []struct{ name, doc string }{
	{"prune-protection", "Argo CD/Flux prune protection (sync-options, sync-wave, kustomize.toolkit.fluxcd.io/prune) and revshift.dev/ annotations"},
	{"production-service-kept", "a production gateway Service of the running state keeps its running content"},
	{"gateway-service-dropped", "a rendered gateway Service over a gateway that runs as a canary: the production Service carries its traffic"},
	{"crd-newest", "a CustomResourceDefinition keeps the other render's definition, which serves every version"},
	{"webhook-continuity", "admission webhook configurations, and the Services webhooks call, as webhook-fix leaves them"},
	{"dataplane-relabel", "Namespace labels istio-injection / istio.io/rev"},
	{"canary-gateway", "objects under canary names (" + mesh.AnnotationCanaryOf + "), rewritten by revision-gateway"},
	{"mesh-config-copy", "istio-<rev> ConfigMaps copied next to the gateways that mount them"},
	{"include", "the user's own objects (inputs/include)"},
}

// pruneProtection are the annotations prune-legacy and the functions set on
// what they keep; revshift.dev/ annotations are revshift's own records.
var pruneProtection = []string{mesh.AnnotationSyncOptions, mesh.AnnotationSyncWave, "kustomize.toolkit.fluxcd.io/prune"}

// RS022 (invariant 16): the last state holds every object of the render it
// converges to (the target; the running render at the end of a rollback),
// under its own name or as a canary, and differs from it only by planned
// rewrites.
func ruleConvergence(t *transCtx) {
	if t.end == nil || t.renders == nil {
		return
	}
	render, other, what := t.renders.Target, t.renders.Running, "target"
	if t.end.original {
		render, other, what = t.renders.Running, t.renders.Target, "running"
	}
	if render == nil {
		return
	}
	c := &converge{t: t, render: render, other: other, what: what,
		canaries: t.next.m.Canaries(), found: map[string][]mesh.ID{}, webhookSvc: map[mesh.ID]bool{}}
	for _, m := range []*mesh.Model{t.next.m, render} {
		for _, h := range m.Webhooks {
			if h.Service != nil {
				c.webhookSvc[h.Service.ID()] = true
			}
		}
	}
	for _, o := range render.Objects {
		c.object(o)
	}
	c.extras()
	t.end.rewrites = c.rewrites()
}

// converge is one RS022 run.
type converge struct {
	t             *transCtx
	render, other *mesh.Model
	what          string
	canaries      map[mesh.ID][]*mesh.Object
	// found: planned rewrite -> objects it explains.
	found      map[string][]mesh.ID
	webhookSvc map[mesh.ID]bool
}

func (c *converge) note(rewrite string, id mesh.ID) {
	c.found[rewrite] = append(c.found[rewrite], id)
}

// object checks one object of the render: present under its identity, or
// as canaries, or planned away. When canaries stand in for it, they are
// what is judged; an object of the same identity beside them is the
// running one (in the running render too), not the rendered one.
func (c *converge) object(o *mesh.Object) {
	cur, present := c.t.next.m.Get(o.ID)
	canaries := c.canaries[o.ID]
	if present && len(canaries) == 0 {
		c.compare(o, cur)
		return
	}
	for _, k := range canaries {
		c.compareCanary(o, k)
	}
	if len(canaries) > 0 {
		return
	}
	if c.droppedGatewayService(o) {
		c.note("gateway-service-dropped", o.ID)
		return
	}
	deleted := ""
	if c.t.prev.m.Has(o.ID) {
		deleted = fmt.Sprintf("; step %s deletes it (%s had it)", c.t.end.to, c.t.end.from)
	}
	c.t.add(Error, []mesh.ID{o.ID},
		fmt.Sprintf("keep %s in every state from the one that adds it (the %s render needs it); prune only objects the %s render does not have", o.ID, c.what, c.what),
		"the last state lacks %s of the %s render, under its own name or a canary's (%s)%s",
		o.ID, c.what, mesh.AnnotationCanaryOf, deleted)
}

// droppedGatewayService: a rendered Service over a gateway that runs as a
// canary (revision-gateway removes the render's own Service; the
// production Service selects the canary's pods).
func (c *converge) droppedGatewayService(o *mesh.Object) bool {
	if o.ID.Group != "" || o.ID.Kind != "Service" {
		return false
	}
	s := c.render.Service(o.ID.Namespace, o.ID.Name)
	if s == nil {
		return false
	}
	for _, w := range s.Selected() {
		if w.Gateway() != nil && len(c.canaries[w.ID]) > 0 {
			return true
		}
	}
	return false
}

// compare checks an object present under its own identity.
func (c *converge) compare(o, cur *mesh.Object) {
	want := mesh.Plain(o.Node())
	ds := c.filter(cur.ID, mesh.Differences(want, mesh.Plain(cur.Node())))
	if len(ds) == 0 {
		return
	}
	if name := c.wholeObject(cur); name != "" {
		c.note(name, cur.ID)
		return
	}
	c.t.add(Error, []mesh.ID{cur.ID},
		fmt.Sprintf("make the last state's %s the %s render's, or add the difference to RS022's planned rewrites (internal/verify/convergence.go) if a function makes it on purpose", cur.ID, c.what),
		"%s differs from the %s render at %s (%s), which no planned rewrite explains", cur.ID, c.what, ds[0], describeDiff(ds[0]))
}

// filter drops the differences that per-field rewrites explain, noting
// them.
func (c *converge) filter(id mesh.ID, ds []mesh.Difference) []mesh.Difference {
	var out []mesh.Difference
	noted := map[string]bool{}
	for _, d := range ds {
		name := fieldRewrite(id, d)
		if name == "" {
			out = append(out, d)
			continue
		}
		if !noted[name] {
			noted[name] = true
			c.note(name, id)
		}
	}
	return out
}

// fieldRewrite names the per-field rewrite that explains a difference.
func fieldRewrite(id mesh.ID, d mesh.Difference) string {
	if len(d.Path) >= 3 && d.Under("metadata", "annotations") {
		k := d.Path[2]
		if k == mesh.AnnotationCanaryOf {
			return "canary-gateway"
		}
		if strings.HasPrefix(k, "revshift.dev/") {
			return "prune-protection"
		}
		for _, p := range pruneProtection {
			if k == p {
				return "prune-protection"
			}
		}
	}
	if id.Group == "" && id.Kind == "Namespace" && len(d.Path) == 3 && d.Under("metadata", "labels") &&
		(d.Path[2] == mesh.LabelInjection || d.Path[2] == mesh.LabelRev) {
		return "dataplane-relabel"
	}
	return ""
}

// wholeObject names the rewrite that explains every difference of an
// object, or "".
func (c *converge) wholeObject(cur *mesh.Object) string {
	switch {
	case mesh.IsWebhookConfig(cur.ID), cur.ID.Group == "" && cur.ID.Kind == "Service" && c.webhookSvc[cur.ID]:
		return "webhook-continuity"
	case cur.ID.Group == "" && cur.ID.Kind == "Service":
		if k := c.t.base.find(c.t.next, cur); k >= 0 && c.t.base.isProd[k] && c.same(c.t.base.objAt[k], cur) {
			return "production-service-kept"
		}
	case mesh.IsCRD(cur.ID) && c.other != nil:
		if o, ok := c.other.Get(cur.ID); ok && c.same(o, cur) && c.servesAll(cur) {
			return "crd-newest"
		}
	}
	return ""
}

// same: a and b differ by per-field rewrites at most.
func (c *converge) same(a, b *mesh.Object) bool {
	for _, d := range mesh.Differences(mesh.Plain(a.Node()), mesh.Plain(b.Node())) {
		if fieldRewrite(b.ID, d) == "" {
			return false
		}
	}
	return true
}

// servesAll: the CRD serves every version that either render serves.
func (c *converge) servesAll(cur *mesh.Object) bool {
	have, err := mesh.CRDVersions(cur)
	if err != nil {
		return false
	}
	served := map[string]bool{}
	for _, v := range mesh.ServedVersions(have) {
		served[v] = true
	}
	for _, m := range []*mesh.Model{c.render, c.other} {
		if m == nil {
			continue
		}
		o, ok := m.Get(cur.ID)
		if !ok {
			continue
		}
		vs, err := mesh.CRDVersions(o)
		if err != nil {
			return false
		}
		for _, v := range mesh.ServedVersions(vs) {
			if !served[v] {
				return false
			}
		}
	}
	return true
}

// compareCanary checks a canary standing in for a rendered object: besides
// per-field rewrites, it may differ in its name, labels, selector,
// replicas, strategy and pod template, and in references renamed to
// other canaries (an HPA's target, a binding's role and subject).
func (c *converge) compareCanary(o, k *mesh.Object) {
	c.note("canary-gateway", k.ID)
	ds := c.filter(k.ID, mesh.Differences(mesh.Plain(o.Node()), mesh.Plain(k.Node())))
	for _, d := range ds {
		if canaryField(d) || c.canaryRef(k.ID.Namespace, d) {
			continue
		}
		c.t.add(Error, []mesh.ID{k.ID, o.ID},
			fmt.Sprintf("make %s the %s render's %s but for what revision-gateway rewrites on a canary (labels, selector, replicas, strategy, pod template, references to other canaries)", k.ID, c.what, o.ID.Name),
			"canary %s of %s differs from the %s render at %s (%s), which no planned rewrite explains", k.ID, o.ID, c.what, d, describeDiff(d))
		return
	}
}

// canaryField: the fields revision-gateway rewrites on a canary.
func canaryField(d mesh.Difference) bool {
	for _, p := range [][]string{{"metadata", "name"}, {"metadata", "labels"}, {"spec", "selector"}, {"spec", "replicas"}, {"spec", "strategy"}, {"spec", "template"}} {
		if d.Under(p...) {
			return true
		}
	}
	return false
}

// canaryRef: a name in the render that the canary replaces by the name of
// another canary of the same namespace standing in for it.
func (c *converge) canaryRef(ns string, d mesh.Difference) bool {
	from, ok1 := d.A.(string)
	to, ok2 := d.B.(string)
	if !ok1 || !ok2 {
		return false
	}
	for id, ks := range c.canaries {
		if id.Name != from || id.Namespace != ns {
			continue
		}
		for _, k := range ks {
			if k.ID.Name == to {
				return true
			}
		}
	}
	return false
}

// extras lists, as one warning, the objects of the last state that neither
// render has and no planned rewrite explains.
func (c *converge) extras() {
	meshCM := map[string]bool{}
	for _, m := range []*mesh.Model{c.render, c.other} {
		if m == nil {
			continue
		}
		for _, o := range m.ByKind("ConfigMap") {
			if _, ok := mesh.RevisionOfConfigMap(o.ID.Name); ok {
				meshCM[o.ID.Name] = true
			}
		}
	}
	var odd []mesh.ID
	for _, o := range c.t.next.m.Objects {
		if c.render.Has(o.ID) || (c.other != nil && c.other.Has(o.ID)) {
			continue
		}
		if of, ok := o.CanaryOf(); ok && (c.render.Has(of) || (c.other != nil && c.other.Has(of))) {
			continue // judged with the rendered object
		}
		switch {
		case c.t.renders.Include != nil && c.t.renders.Include.Has(o.ID):
			c.note("include", o.ID)
		case o.ID.Group == "" && o.ID.Kind == "ConfigMap" && meshCM[o.ID.Name]:
			c.note("mesh-config-copy", o.ID)
		case o.ID.Group == "" && o.ID.Kind == "Service" && c.webhookSvc[o.ID]:
			c.note("webhook-continuity", o.ID)
		case mesh.IsWebhookConfig(o.ID):
			// webhook-fix adds what `istioctl tag set default` creates
			// (istio-revision-tag-default, istiod-default-validator).
			c.note("webhook-continuity", o.ID)
		default:
			odd = append(odd, o.ID)
		}
	}
	if len(odd) == 0 {
		return
	}
	sortIDs(odd)
	c.t.add(Warning, odd,
		fmt.Sprintf("drop them from the plan, or mark a canary with %s: <rendered name>", mesh.AnnotationCanaryOf),
		"the last state holds %d object(s) that neither render has and no planned rewrite explains: %s", len(odd), idList(odd))
}

// rewrites returns what was found, in the catalogue's order, each
// object once.
func (c *converge) rewrites() []Rewrite {
	var out []Rewrite
	for _, r := range rewriteDocs {
		xs := c.found[r.name]
		if len(xs) == 0 {
			continue
		}
		sortIDs(xs)
		uniq := xs[:1]
		for _, x := range xs[1:] {
			if x != uniq[len(uniq)-1] {
				uniq = append(uniq, x)
			}
		}
		out = append(out, Rewrite{Name: r.name, Objects: uniq})
	}
	return out
}

// describeDiff renders the two sides of a difference, shortened.
func describeDiff(d mesh.Difference) string {
	side := func(v any) string {
		if v == nil {
			return "absent"
		}
		s := fmt.Sprint(v)
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		return s
	}
	return fmt.Sprintf("render: %s; last state: %s", side(d.A), side(d.B))
}
