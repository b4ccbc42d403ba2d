// Package prunelegacy is step S7 of the upgrade (see
// docs/upgrade-model.md): remove the old revision and nothing else.
//
// The input holds the old state and the desired state (everything else: the
// new revision, the canary gateways, the user's other objects). The old state
// is the running render carried as the data of a local-config ConfigMap
// (mesh.AnnotationRunningRender, written by a kustomize configMapGenerator),
// the objects whose file path matches spec.oldPaths (kpt), and the objects
// marked revshift.dev/state: old (internal to a Step: canary-control-plane
// marks the running objects it re-emits). Every old object is classified as
// delete or keep, with a reason reported as a result. Never deleted:
// CustomResourceDefinitions, Namespaces, production Services (invariants 12
// and 14), anything present in the desired state by group/kind/namespace/
// name, and anything the desired state still references (invariant 13;
// mesh.PruneReferences). An old sidecar injector is deleted only when no
// labelled namespace still depends on it alone.
//
// Modes: delete-list outputs exactly the objects to delete, in a safe order
// for `kubectl delete -f`; desired-state outputs the input minus them, with
// GitOps prune protection on every kept old object.
package prunelegacy

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind.
const Kind = "PruneLegacy"

// Modes.
const (
	ModeDeleteList   = "delete-list"
	ModeDesiredState = "desired-state"
)

// Markers of old objects.
const (
	// AnnotationState marks an object of the old state (value StateOld).
	AnnotationState = mesh.AnnotationState
	StateOld        = "old"
)

// The retired way of carrying the old state: mode mark-old wrapped every old
// object into an OldObject (apiVersion krm.APIVersion) under spec.object.
// Both are refused with the running-render carrier as the fix, so that an
// old kustomization fails loudly instead of its carriers being read as
// desired objects.
const (
	removedModeMarkOld = "mark-old"
	removedCarrierKind = "OldObject"
)

// carrierHint is the fix for the retired carrier: the running-render
// ConfigMap, as a kustomize configMapGenerator writes it.
var carrierHint = "carry the old render as the data of a local-config ConfigMap annotated " + mesh.AnnotationRunningRender + " instead; with kustomize, replace the old resources and the mark-old transformer by:\n" +
	"  configMapGenerator:\n" +
	"  - name: running-render\n" +
	"    files: [control-plane.yaml, gateways.yaml]  # the old render files\n" +
	"    options:\n" +
	"      disableNameSuffixHash: true\n" +
	"      annotations:\n" +
	"        " + mesh.AnnotationRunningRender + ": \"true\"\n" +
	"        " + mesh.AnnotationLocalConfig + ": \"true\""

// Prune protection annotations (desired-state mode).
const (
	AnnotationArgoCDSyncOptions = "argocd.argoproj.io/sync-options"
	ArgoCDPruneFalse            = "Prune=false"
	AnnotationFluxPrune         = "kustomize.toolkit.fluxcd.io/prune"
	FluxPruneDisabled           = "disabled"
)

// Spec is the functionConfig:
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: PruneLegacy
//	metadata: {name: prune}
//	spec:
//	  mode: delete-list        # or desired-state
//	  oldPaths: [old/]         # also old: objects whose path annotation matches
//	  pruneProtection:         # desired-state: annotations on kept old objects
//	    argocd: true
//	    flux: true
type Spec struct {
	Mode            string     `yaml:"mode"`
	OldPaths        []string   `yaml:"oldPaths"`
	PruneProtection Protection `yaml:"pruneProtection"`
}

// Protection selects the GitOps prune-protection annotations (both on by
// default).
type Protection struct {
	ArgoCD *bool `yaml:"argocd"`
	Flux   *bool `yaml:"flux"`
}

func (p Protection) argocd() bool { return p.ArgoCD == nil || *p.ArgoCD }
func (p Protection) flux() bool   { return p.Flux == nil || *p.Flux }

// item is one input object, or one object of a carried render.
type item struct {
	node *mesh.Item
	obj  *mesh.Object
	old  bool
}

// decision is the fate of one old object.
type decision struct {
	keep   bool
	shared bool // present in the desired state by canonical identity
	reason string
}

// Transform classifies the old objects and writes the output of the mode.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	spec := Spec{Mode: ModeDeleteList}
	if err := krm.DecodeConfig(config, Kind, &spec); err != nil {
		return nil, err
	}
	switch spec.Mode {
	case ModeDeleteList, ModeDesiredState:
	case removedModeMarkOld:
		return nil, fmt.Errorf("functionConfig spec.mode: %q was removed, and with it the OldObject carrier: %s", spec.Mode, carrierHint)
	default:
		return nil, fmt.Errorf("functionConfig spec.mode: %q is not one of %s, %s", spec.Mode, ModeDeleteList, ModeDesiredState)
	}
	for i, p := range spec.OldPaths {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return nil, fmt.Errorf("functionConfig spec.oldPaths[%d]: %q is not a path pattern (path.Match syntax, or a directory ending in /)", i, p)
		}
	}
	its, err := readItems(items, spec.OldPaths)
	if err != nil {
		return nil, err
	}
	return prune(its, spec, res)
}

// readItems identifies every input object and tells old from desired.
func readItems(items []*mesh.Item, oldPaths []string) ([]*item, error) {
	var errs, retired []string
	its := make([]*item, 0, len(items))
	var runningCarriers []*mesh.Item
	for i, n := range items {
		if mesh.IsCarrier(n, mesh.AnnotationHeldRender) {
			continue // read by applyHeld
		}
		if mesh.IsRunningRender(n) {
			// The running render carried as the data of a local-config
			// ConfigMap (canary-control-plane's input, revshift plan's
			// inputs/): its objects are the old state. The carrier itself
			// is never applied, never deleted, and not passed on.
			runningCarriers = append(runningCarriers, n)
			continue
		}
		o, err := mesh.IdentifyItem(i, n)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if o.ID.Kind == removedCarrierKind && o.APIVersion == krm.APIVersion {
			retired = append(retired, fmt.Sprintf("items[%d]: %s %s: the %s carrier (written by the removed mode %s) is no longer read, and is not a desired object either", i, removedCarrierKind, o.ID.Name, removedCarrierKind, removedModeMarkOld))
			continue
		}
		state, set, err := stateOf(o)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		it := &item{node: n, obj: o, old: set && state == StateOld}
		if !it.old && len(oldPaths) > 0 {
			it.old = pathMatches(n.Node(), oldPaths)
		}
		its = append(its, it)
	}
	if len(retired) > 0 {
		errs = append(errs, strings.Join(retired, "\n")+"\n"+carrierHint)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	its, err := addRunning(items, its, runningCarriers)
	if err != nil {
		return nil, err
	}
	if its, err = applyHeld(items, its); err != nil {
		return nil, err
	}
	return its, checkDuplicates(its)
}

// addRunning appends the objects of the running-render carriers to the old
// state. An object already marked old in the items (canary-control-plane
// re-emits the running objects, and later steps edit them, e.g. the shift)
// is that object's current form: the carried copy is not a second old
// object.
func addRunning(items []*mesh.Item, its []*item, carriers []*mesh.Item) ([]*item, error) {
	if len(carriers) == 0 {
		return its, nil
	}
	objs, _, err := mesh.RunningRender(carriers)
	if err != nil {
		return nil, err
	}
	marked := map[mesh.ID]bool{}
	for _, it := range its {
		if it.old {
			marked[mesh.CanonicalID(it.obj.ID)] = true
		}
	}
	for j, n := range objs {
		o, err := mesh.IdentifyItem(len(items)+j, n)
		if err != nil {
			return nil, fmt.Errorf("running render: %v", err)
		}
		if marked[mesh.CanonicalID(o.ID)] {
			continue
		}
		its = append(its, &item{node: o.Item(), obj: o, old: true})
	}
	return its, nil
}

// checkDuplicates reports two objects of one identity within one state,
// with the real input positions.
func checkDuplicates(its []*item) error {
	var dups []string
	for _, old := range []bool{true, false} {
		seen := map[mesh.ID]int{}
		for _, it := range its {
			if it.old != old {
				continue
			}
			id := mesh.CanonicalID(it.obj.ID)
			if prev, ok := seen[id]; ok {
				dups = append(dups, (&mesh.DuplicateError{ID: it.obj.ID, First: prev, Second: it.obj.Index}).Error()+stateName(old))
				continue
			}
			seen[id] = it.obj.Index
		}
	}
	if len(dups) > 0 {
		return fmt.Errorf("%s", strings.Join(dups, "\n"))
	}
	return nil
}

func stateName(old bool) string {
	if old {
		return " (both in the old state)"
	}
	return " (both in the desired state)"
}

// stateOf reads the revshift.dev/state annotation.
func stateOf(o *mesh.Object) (string, bool, error) {
	v, ok := o.Annotation(AnnotationState)
	if !ok {
		return "", false, nil
	}
	if v != StateOld {
		return "", false, fmt.Errorf("items[%d]: %s: metadata.annotations[%s]: expected %q, got %q", o.Index, o.ID, AnnotationState, StateOld, v)
	}
	return v, true, nil
}

// Path annotations of the file an object was read from: kpt sets the
// internal one, older kpt and kyaml readers the legacy one.
var pathAnnotations = []string{"internal.config.kubernetes.io/path", "config.kubernetes.io/path"}

func pathMatches(n *yaml.RNode, patterns []string) bool {
	ann := field(field(n.YNode(), "metadata"), "annotations")
	for _, a := range pathAnnotations {
		v := field(ann, a)
		if v == nil || v.Kind != yaml.ScalarNode || v.Value == "" {
			continue
		}
		p := path.Clean(strings.TrimPrefix(v.Value, "./"))
		for _, pat := range patterns {
			if strings.HasSuffix(pat, "/") {
				if strings.HasPrefix(p+"/", path.Clean(pat)+"/") {
					return true
				}
				continue
			}
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		}
	}
	return false
}

// field returns the value of a mapping key, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// prune classifies the old objects and writes the mode's output.
func prune(its []*item, spec Spec, res *krm.Results) ([]*mesh.Item, error) {
	var oldNodes, newNodes []*mesh.Item
	var olds []*item
	for _, it := range its {
		if it.old {
			oldNodes = append(oldNodes, it.node)
			olds = append(olds, it)
		} else {
			newNodes = append(newNodes, it.node)
		}
	}
	mOld, err := mesh.BuildItems(oldNodes)
	if err != nil {
		return nil, fmt.Errorf("old state: %w", err)
	}
	mNew, err := mesh.BuildItems(newNodes)
	if err != nil {
		return nil, fmt.Errorf("desired state: %w", err)
	}
	// Report with the real input positions.
	for i, o := range mOld.Objects {
		o.Index = olds[i].obj.Index
	}
	if len(olds) == 0 {
		res.Warnf(nil, "no old objects in the input: nothing to prune. Carry the old render as the data of a local-config ConfigMap annotated %s: \"true\" (a kustomize configMapGenerator), or list its files in spec.oldPaths (kpt)", mesh.AnnotationRunningRender)
	}
	c := classify(mOld, mNew, res)

	var out []*mesh.Item
	switch spec.Mode {
	case ModeDeleteList:
		if out, err = deleteList(mOld, c); err != nil {
			return nil, err
		}
	case ModeDesiredState:
		protect := map[mesh.ID]bool{}
		for _, o := range mOld.Objects {
			if d := c.dec[o.ID]; d.keep {
				protect[mesh.CanonicalID(o.ID)] = true
			}
		}
		for _, it := range its {
			if it.old {
				d := c.dec[it.obj.ID]
				if !d.keep || d.shared {
					continue
				}
				if err := it.node.RemoveAnnotation(AnnotationState); err != nil {
					return nil, fmt.Errorf("%s: %v", it.obj.ID, err)
				}
			}
			if protect[mesh.CanonicalID(it.obj.ID)] {
				if err := addProtection(it.node, spec.PruneProtection); err != nil {
					return nil, fmt.Errorf("%s: metadata.annotations: %v", it.obj.ID, err)
				}
			}
			out = append(out, it.node)
		}
	}
	kept := 0
	for _, o := range mOld.Objects {
		if c.dec[o.ID].keep {
			kept++
		}
	}
	res.Infof(nil, "%d old objects: %d to delete, %d kept (mode %s)", len(mOld.Objects), len(mOld.Objects)-kept, kept, spec.Mode)
	return out, nil
}

// deleteList is the old objects to delete in a safe order (deleteTier),
// each marked old so that the function gives the same list on its output.
func deleteList(mOld *mesh.Model, c *classification) ([]*mesh.Item, error) {
	var del []*mesh.Object
	for _, o := range mOld.Objects {
		if !c.dec[o.ID].keep {
			del = append(del, o)
		}
	}
	sort.SliceStable(del, func(i, j int) bool {
		ti, tj := deleteTier(del[i].ID), deleteTier(del[j].ID)
		if ti != tj {
			return ti < tj
		}
		return del[i].ID.Less(del[j].ID)
	})
	out := make([]*mesh.Item, 0, len(del))
	for _, o := range del {
		if err := o.Item().SetAnnotation(AnnotationState, StateOld); err != nil {
			return nil, fmt.Errorf("%s: metadata.annotations: %v", o.ID, err)
		}
		out = append(out, o.Item())
	}
	return out, nil
}

// classification holds every old object's decision.
type classification struct {
	dec map[mesh.ID]decision
}

// classify decides every old object, reports each decision, and reports
// errors for the deletions that would break the desired state.
func classify(mOld, mNew *mesh.Model, res *krm.Results) *classification {
	c := &classification{dec: map[mesh.ID]decision{}}
	newByID := map[mesh.ID]*mesh.Object{}
	for _, o := range mNew.Objects {
		newByID[mesh.CanonicalID(o.ID)] = o
	}
	refIdx := mNew.PruneReferenceIndex()
	istioGW := map[mesh.ID]*mesh.IstioGateway{}
	for _, g := range mOld.IstioGateways {
		istioGW[g.ID] = g
	}
	var warnings []func()
	for _, o := range mOld.Objects {
		id := o.ID
		cid := mesh.CanonicalID(id)
		if n, ok := newByID[cid]; ok {
			why := "present in the desired state"
			if n.APIVersion != o.APIVersion {
				why += " (as " + n.APIVersion + ")"
			}
			c.dec[id] = decision{keep: true, shared: true, reason: why}
			continue
		}
		if mesh.IsCRD(id) {
			c.dec[id] = decision{keep: true, reason: "a CustomResourceDefinition: deleting it deletes every " + id.Name + " resource in the cluster (invariant 12)"}
			continue
		}
		if id.Group == "" && id.Kind == "Namespace" {
			c.dec[id] = decision{keep: true, reason: "a Namespace: deleting it deletes everything in it, the new control plane included (invariant 12)"}
			continue
		}
		var svc *mesh.Service
		if id.Group == "" && id.Kind == "Service" {
			svc = mOld.Service(id.Namespace, id.Name)
		}
		if svc != nil && (mOld.SelectsGateway(svc) || mNew.SelectsGateway(svc)) {
			c.dec[id] = decision{keep: true, reason: "a production Service: it selects gateway pods (" + selectorString(svc.Selector) + "), and its address is what clients reach (invariant 14)"}
			continue
		}
		if refs := refIdx[cid]; len(refs) > 0 {
			c.dec[id] = decision{keep: true, reason: "still referenced by the desired state: " + refList(refs)}
			for _, r := range refs {
				if r.Why == mesh.WhyFallbackDiscovery {
					r := r
					warnings = append(warnings, func() {
						w, _ := mNew.Get(r.From)
						res.Warnf(w, "%s mounts a mesh ConfigMap that is missing from namespace %s, so its proxy falls back to %s: %s is kept, but the old istiod behind it is not. Run copy-configmap (step S2) before pruning", r.From, r.From.Namespace, mesh.FallbackDiscoveryAddress, id)
					})
				}
			}
			continue
		}
		if d, ok := servesDesired(id, svc, istioGW[id], mOld, mNew); ok {
			c.dec[id] = d
			continue
		}
		if !knownKind(id) {
			c.dec[id] = decision{keep: true, reason: "unclassified: revshift does not know what a " + kindName(id) + " depends on, so it is kept rather than deleted by guess; delete it by hand if only the old revision used it"}
			warnings = append(warnings, func() { res.Warnf(o, "kept: %s", c.dec[id].reason) })
			continue
		}
		c.dec[id] = decision{reason: "only in the old state, and nothing in the desired state uses it"}
	}
	c.keepReferencedByKept(mOld)
	c.checkInjectors(mOld, mNew, res)
	c.checkProductionServices(mOld, mNew, newByID, res)
	for _, o := range mOld.Objects {
		d := c.dec[o.ID]
		if d.keep {
			res.Infof(o, "keep: %s", d.reason)
		} else {
			res.Infof(o, "delete: %s", d.reason)
		}
	}
	for _, w := range warnings {
		w()
	}
	return c
}

// servesDesired keeps an old object that serves the desired state's
// workloads: a Service that selects their pods, an Istio Gateway that
// programs their gateway pods, a validating configuration whose webhooks
// call their istiod.
func servesDesired(id mesh.ID, svc *mesh.Service, g *mesh.IstioGateway, mOld, mNew *mesh.Model) (decision, bool) {
	if svc != nil {
		if ws := mNew.WorkloadsSelectedBy(svc.ID.Namespace, svc.SelectorLabels()); len(ws) > 0 {
			return decision{keep: true, reason: "selects the pods of " + workloadList(ws) + ", which the desired state keeps"}, true
		}
	}
	if g != nil {
		if gws := mNew.GatewaysProgrammedBy(g); len(gws) > 0 {
			ws := make([]*mesh.Workload, len(gws))
			for i, gw := range gws {
				ws[i] = gw.Workload
			}
			return decision{keep: true, reason: "programs the pods of gateway " + workloadList(ws) + ", which the desired state keeps"}, true
		}
	}
	if id.Kind == "ValidatingWebhookConfiguration" && id.Group == "admissionregistration.k8s.io" {
		if istiods := validatorServedByDesired(mOld, mNew, id); len(istiods) > 0 {
			return decision{keep: true, reason: "its webhooks call " + workloadList(istiods) + " of the desired state (webhook-fix pointed them there): deleting it would silently stop validating Istio resources"}, true
		}
	}
	return decision{}, false
}

// validatorServedByDesired returns the desired state's workloads that every
// webhook of an old validating configuration reaches (through its Service,
// which webhook-fix may have re-pointed), or nil when one of them reaches
// none. Such a configuration is the one the new istiod patches and serves
// (VALIDATION_WEBHOOK_CONFIG_NAME, pilot/pkg/bootstrap/validation.go in
// 1.6-1.10): it is part of the desired state even though only the old render
// has it.
func validatorServedByDesired(mOld, mNew *mesh.Model, id mesh.ID) []*mesh.Workload {
	hooks := mOld.WebhooksOf(id)
	if len(hooks) == 0 {
		return nil
	}
	var out []*mesh.Workload
	seen := map[*mesh.Workload]bool{}
	for _, h := range hooks {
		if h.Service == nil {
			return nil
		}
		svc := mNew.Service(h.Service.Namespace, h.Service.Name)
		if svc == nil {
			svc = mOld.Service(h.Service.Namespace, h.Service.Name)
		}
		if svc == nil {
			return nil
		}
		ws := mNew.WorkloadsSelectedBy(svc.ID.Namespace, svc.SelectorLabels())
		if len(ws) == 0 {
			return nil
		}
		for _, w := range ws {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

// keepReferencedByKept keeps what kept old-only objects need, to a fixed
// point. Shared objects are not followed: their desired copy is what runs,
// and its references are already in the desired state's index.
func (c *classification) keepReferencedByKept(mOld *mesh.Model) {
	var work []*mesh.Object
	for _, o := range mOld.Objects {
		if d := c.dec[o.ID]; d.keep && !d.shared {
			work = append(work, o)
		}
	}
	byCID := map[mesh.ID]*mesh.Object{}
	for _, o := range mOld.Objects {
		byCID[mesh.CanonicalID(o.ID)] = o
	}
	for len(work) > 0 {
		o := work[0]
		work = work[1:]
		for _, r := range mOld.PruneReferences(o) {
			t, ok := byCID[mesh.CanonicalID(r.To)]
			if !ok || c.dec[t.ID].keep {
				continue
			}
			c.dec[t.ID] = decision{keep: true, reason: "needed by " + o.ID.String() + " (" + r.Why + "), which is kept"}
			work = append(work, t)
		}
	}
}

// checkInjectors keeps an old injector configuration that a labelled
// namespace still depends on alone, and reports it as an error: deleting it
// silently stops injection there, and deleting its istiod first blocks pod
// creation (failurePolicy Fail).
func (c *classification) checkInjectors(mOld, mNew *mesh.Model, res *krm.Results) {
	type nsInfo struct {
		obj    *mesh.Object
		labels map[string]string
	}
	var nss []nsInfo
	newNS := map[string]bool{}
	for _, n := range mNew.Namespaces {
		nss = append(nss, nsInfo{n.Object, n.Labels})
		newNS[n.ID.Name] = true
	}
	for _, n := range mOld.Namespaces {
		if !newNS[n.ID.Name] {
			nss = append(nss, nsInfo{n.Object, n.Labels})
		}
	}
	rev := ""
	if rs := mNew.Revisions(); len(rs) == 1 {
		rev = rs[0]
	}
	for _, o := range mOld.WebhookConfigs() {
		if c.dec[o.ID].keep || o.ID.Kind != "MutatingWebhookConfiguration" {
			continue
		}
		injector := false
		for _, h := range mOld.WebhooksOf(o.ID) {
			injector = injector || mesh.IsInjector(h)
		}
		if !injector {
			continue
		}
		if len(nss) == 0 {
			res.Warnf(o, "sidecar injector %s is deleted, but the input has no Namespace objects, so revshift cannot check that no namespace still depends on it: relabel every namespace to istio.io/rev=<new revision> (step S5) first, or add your Namespaces to the input", o.ID.Name)
			continue
		}
		for _, n := range nss {
			l := map[string]string{"kubernetes.io/metadata.name": n.obj.ID.Name}
			for k, v := range n.labels {
				l[k] = v
			}
			inj := mesh.NamespaceInjection(l)
			if !inj.Labelled() {
				continue
			}
			label := mesh.LabelRev + "=" + inj.Rev
			if inj.Legacy {
				label = mesh.LabelInjection + "=enabled"
			}
			byThis := false
			for _, h := range mOld.InjectorsForNamespace(l) {
				byThis = byThis || h.Config == o
			}
			if !byThis {
				continue
			}
			others := len(mNew.InjectorsForNamespace(l)) > 0
			for _, h := range mOld.InjectorsForNamespace(l) {
				others = others || (h.Config != o && c.dec[h.Config.ID].keep)
			}
			if others {
				continue
			}
			c.dec[o.ID] = decision{keep: true, reason: "namespace " + n.obj.ID.Name + " (" + label + ") is still injected by it and by nothing else"}
			hint := "istio.io/rev=<new revision>"
			if rev != "" {
				hint = "istio.io/rev=" + rev
			}
			res.Errorf(n.obj, "namespace %s is labelled %s and only the old injector %s selects it: deleting the injector stops sidecar injection there. Relabel it to %s (removing istio-injection) first (step S5)", n.obj.ID.Name, label, o.ID.Name, hint)
		}
	}
}

// checkProductionServices reports a kept production Service that would
// select no running gateway once the old ones are deleted (invariant 1).
func (c *classification) checkProductionServices(mOld, mNew *mesh.Model, newByID map[mesh.ID]*mesh.Object, res *krm.Results) {
	for _, s := range mOld.Services {
		if !c.dec[s.ID].keep || !mOld.SelectsGateway(s) {
			continue
		}
		target := s
		if d := mNew.Service(s.ID.Namespace, s.ID.Name); d != nil {
			target = d
		}
		running := false
		for _, w := range mNew.WorkloadsSelectedBy(target.ID.Namespace, target.SelectorLabels()) {
			if w.Gateway() != nil && mNew.MinReplicas(w) > 0 {
				running = true
				break
			}
		}
		if running {
			continue
		}
		var old []*mesh.Workload
		for _, w := range s.Selected() {
			if !c.dec[w.ID].keep {
				old = append(old, w)
			}
		}
		if len(old) == 0 {
			continue
		}
		res.Errorf(s.Object, "production Service %s would select no running gateway: it selects %s, which this prune deletes, and no gateway of the desired state with replicas > 0. Add the canary gateway (step S3) and shift to it (S4) before pruning", s.ID, workloadList(old))
	}
}

// knownKind reports whether revshift knows what an object of this kind
// depends on, so deleting it when nothing references it is safe.
func knownKind(id mesh.ID) bool {
	switch id.Group {
	case "":
		switch id.Kind {
		case "ConfigMap", "Secret", "Service", "ServiceAccount", "Endpoints":
			return true
		}
	case "apps", "extensions":
		switch id.Kind {
		case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
			return true
		}
	case "rbac.authorization.k8s.io":
		return true
	case "policy":
		return id.Kind == "PodDisruptionBudget"
	case "autoscaling":
		return id.Kind == "HorizontalPodAutoscaler"
	case "admissionregistration.k8s.io":
		return id.Kind == "MutatingWebhookConfiguration" || id.Kind == "ValidatingWebhookConfiguration"
	case "networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io":
		// Istio configuration rendered by istioctl; VirtualService ->
		// Gateway is the one edge into it (mesh.PruneReferences).
		return true
	}
	return false
}

// deleteTier orders the delete list: admission webhooks first (so no call
// reaches an istiod that is going away), then autoscalers and workloads,
// then what they used: disruption budgets, Services, Istio configuration,
// ConfigMaps and Secrets, bindings, roles, and ServiceAccounts last.
func deleteTier(id mesh.ID) int {
	switch {
	case id.Group == "admissionregistration.k8s.io":
		return 0
	case id.Kind == "HorizontalPodAutoscaler":
		return 1
	case id.Kind == "Deployment" || id.Kind == "StatefulSet" || id.Kind == "DaemonSet" || id.Kind == "ReplicaSet":
		return 2
	case id.Kind == "PodDisruptionBudget":
		return 3
	case id.Group == "" && (id.Kind == "Service" || id.Kind == "Endpoints"):
		return 4
	case strings.HasSuffix(id.Group, ".istio.io"):
		return 5
	case id.Group == "" && (id.Kind == "ConfigMap" || id.Kind == "Secret"):
		return 6
	case id.Kind == "RoleBinding" || id.Kind == "ClusterRoleBinding":
		return 7
	case id.Kind == "Role" || id.Kind == "ClusterRole":
		return 8
	case id.Kind == "ServiceAccount":
		return 9
	}
	return 10
}

func kindName(id mesh.ID) string {
	if id.Group == "" {
		return id.Kind
	}
	return id.Kind + "." + id.Group
}

func refList(refs []mesh.Reference) string {
	parts := make([]string, 0, len(refs))
	for _, r := range refs {
		parts = append(parts, r.From.String()+" ("+r.Why+")")
	}
	return strings.Join(parts, ", ")
}

func workloadList(ws []*mesh.Workload) string {
	parts := make([]string, 0, len(ws))
	for _, w := range ws {
		parts = append(parts, w.ID.String())
	}
	return strings.Join(parts, ", ")
}

func selectorString(sel map[string]string) string {
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}

// addProtection sets the GitOps prune-protection annotations. An existing
// Argo CD sync-options list keeps its other options; a Prune= option in it
// is replaced.
func addProtection(it *mesh.Item, p Protection) error {
	if p.argocd() {
		cur, _ := it.Annotation(AnnotationArgoCDSyncOptions)
		var opts []string
		for _, s := range strings.Split(cur, ",") {
			s = strings.TrimSpace(s)
			if s != "" && !strings.HasPrefix(s, "Prune=") {
				opts = append(opts, s)
			}
		}
		opts = append(opts, ArgoCDPruneFalse)
		if v := strings.Join(opts, ","); v != cur {
			if err := it.SetAnnotation(AnnotationArgoCDSyncOptions, v); err != nil {
				return err
			}
		}
	}
	if p.flux() {
		if err := it.SetAnnotation(AnnotationFluxPrune, FluxPruneDisabled); err != nil {
			return err
		}
	}
	return nil
}
