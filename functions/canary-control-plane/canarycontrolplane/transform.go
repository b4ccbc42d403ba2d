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
	Revision string `yaml:"revision,omitempty"`
	// IncludeRunning also emits the running render's objects (those the
	// new revision does not supersede: a newer CRD, a role union), marked
	// revshift.dev/state: old, so that the output is the complete desired
	// state of S1 and later steps can edit the running objects (the shift
	// scales the old gateways). revshift plan's steps use it.
	IncludeRunning bool `yaml:"includeRunning,omitempty"`
}

// Validate checks spec.revision (krm.DecodeConfig calls it).
func (s Spec) Validate() error { return krm.CheckRevision("revision", s.Revision) }

// Transform emits the canary control plane. See the package doc.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	var spec Spec
	if err := krm.DecodeConfig(config, Kind, &spec); err != nil {
		return nil, err
	}
	items, err := restoreRender(items, spec.IncludeRunning)
	if err != nil {
		return nil, err
	}
	c, carriers, err := newCanary(items, spec.Revision, res)
	if err != nil {
		return nil, err
	}
	out, emitted, err := c.emit(carriers)
	if err != nil {
		return nil, err
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
		return c.includeRunning(out, emitted)
	}
	return out, nil
}

// newCanary builds the models of the new render (the items) and of the
// running render its carriers hold, and finds the new revision.
func newCanary(items []*mesh.Item, revision string, res *krm.Results) (*canary, []*mesh.Item, error) {
	newModel, err := mesh.BuildItems(items)
	if err != nil {
		return nil, nil, err
	}
	if err := mesh.NotRendered(newModel); err != nil {
		return nil, nil, err
	}
	runningNodes, carriers, err := mesh.RunningRender(items)
	if err != nil {
		return nil, nil, err
	}
	if len(carriers) == 0 {
		return nil, nil, fmt.Errorf("no running render in the input: add the running control plane's render as the data of a ConfigMap annotated %s (a kustomize configMapGenerator, see the README); without it the function cannot tell which objects would rewrite running ones", mesh.AnnotationRunningRender)
	}
	running, err := mesh.BuildItems(runningNodes)
	if err != nil {
		return nil, nil, fmt.Errorf("running render: %v", err)
	}
	rev, err := newRevision(revision, newModel, running)
	if err != nil {
		return nil, nil, err
	}
	c := &canary{res: res, rev: rev, newModel: newModel, running: running, gatewayPart: gatewayParts(newModel, running)}
	if c.merged, err = merge(running, newModel, carriers); err != nil {
		return nil, nil, err
	}
	c.runningNewer, c.versions = newerRender(running, newModel, rev)
	return c, carriers, nil
}

// emit decides every object of the new render: it returns those emitted
// (the running-render carriers among them) and their IDs, and collects in
// c.held the target's versions of the objects both renders hold.
func (c *canary) emit(carriers []*mesh.Item) ([]*mesh.Item, map[mesh.ID]bool, error) {
	isCarrier := map[*mesh.Item]bool{}
	for _, it := range carriers {
		isCarrier[it] = true
	}
	out := make([]*mesh.Item, 0, len(c.newModel.Objects))
	emitted := make(map[mesh.ID]bool, len(c.newModel.Objects))
	for _, o := range c.newModel.Objects {
		if isCarrier[o.Item()] {
			if err := keepLocal(o, c.res); err != nil {
				return nil, nil, err
			}
			out = append(out, o.Item())
			emitted[o.ID] = true
			continue
		}
		target := c.heldVersion(o)
		keep, err := c.decide(o)
		if err != nil {
			return nil, nil, err
		}
		if keep {
			out = append(out, o.Item())
			emitted[o.ID] = true
		}
		if target != nil && (!keep || !mesh.SameObject(target, o.Node())) {
			c.held = append(c.held, target)
		}
	}
	return out, emitted, nil
}

// includeRunning (spec.includeRunning) appends the running render's
// objects, marked old, but those an emitted object of the same identity (the
// newer CRD, a role union) replaces.
func (c *canary) includeRunning(out []*mesh.Item, emitted map[mesh.ID]bool) ([]*mesh.Item, error) {
	n := 0
	for _, o := range c.running.Objects {
		if emitted[o.ID] {
			continue
		}
		if err := o.Item().SetAnnotation(mesh.AnnotationState, mesh.StateOld); err != nil {
			return nil, err
		}
		out = append(out, o.Item())
		n++
	}
	c.res.Infof(nil, "included %d objects of the running render unchanged (spec.includeRunning), marked %s: %s", n, mesh.AnnotationState, mesh.StateOld)
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
