package webhookfix

import (
	"fmt"

	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/revtag"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// tagIDs are the objects the default tag consists of.
func tagIDs(ns string) []mesh.ID {
	return []mesh.ID{revtag.WebhookID(mesh.DefaultTag, ns), revtag.DefaultValidatorID()}
}

// tags emits what `istioctl tag set default --revision <rev>` creates,
// rebuilt offline from the revision's render (internal/revtag), but moves
// no default injector the running mesh does not have (runsWithoutDefault).
func (f *fixer) tags() error {
	c, err := revtag.ReadCanonical(f.m, f.rev, f.ns)
	if err != nil {
		return fmt.Errorf("cannot set the default tag: %v", err)
	}
	if f.runsWithoutDefault() {
		f.res.Infof(nil, "the running control plane in the input has no default injector (none answers istio.io/rev=default or istio-injection=enabled), so none is created: only the default validator moves to revision %s", f.rev)
	} else if err := f.put(c.Webhook(mesh.DefaultTag), "the default revision tag: namespaces labelled istio-injection=enabled or istio.io/rev=default, and pods labelled sidecar.istio.io/inject=true, are injected by revision "+f.rev+" (what `istioctl tag set default --revision "+f.rev+"` creates). Unlike `tag set`, nothing deactivates the old default injector here: until it is pruned both match istio-injection=enabled namespaces, and the API server calls istio-revision-tag-default first (mutating webhooks run in name order), whose injection the old injector then skips as already done"); err != nil {
		return err
	}
	return f.put(c.DefaultValidator(f.existingFailurePolicy("Ignore")), "the default validator: Istio resources without an istio.io/rev label are validated by revision "+f.rev)
}

// runsWithoutDefault reports whether the input holds the running control
// plane (an injector of another revision than the target) and no injector
// answers the default tag: none injects pods labelled istio.io/rev=default
// or namespaces labelled istio-injection=enabled or istio.io/rev=default. A revisioned Helm install is such a mesh: its
// base chart's defaultRevision renders only the validator
// (manifests/charts/base/templates/defaultrevision-validatingwebhookconfiguration.yaml),
// and a default injector created now would inject, on their next restart,
// the istio-injection=enabled namespaces and sidecar.istio.io/inject=true
// pods that nothing injects today. Given the target render alone, the tag
// is set as `istioctl tag set default` sets it.
func (f *fixer) runsWithoutDefault() bool {
	if _, _, ok := f.m.TagRevision(mesh.DefaultTag); ok {
		return false
	}
	for _, ns := range []map[string]string{{mesh.LabelInjection: "enabled"}, {mesh.LabelRev: mesh.DefaultTag}} {
		if len(f.m.InjectorsForNamespace(ns)) > 0 {
			return false
		}
	}
	for _, h := range f.m.Webhooks {
		if rev, ok := f.m.WebhookRevision(h); ok && mesh.IsInjector(h) && rev != f.rev {
			return true
		}
	}
	return false
}

// put adds a generated object or replaces the input's (revtag.Put).
func (f *fixer) put(n *yaml.RNode, why string) error {
	out, err := revtag.Put(f.m, f.out, n, f.res, why)
	f.out = out
	return err
}

// existingFailurePolicy keeps the failurePolicy of an istiod-default-validator
// already in the input, as fixWhConfig keeps the one in the cluster (istiod
// flips it to Fail once its webhook is ready).
func (f *fixer) existingFailurePolicy(def string) string {
	o, ok := f.m.Get(revtag.DefaultValidatorID())
	if !ok {
		return def
	}
	for _, h := range f.m.WebhooksOf(o.ID) {
		if h.Name == "validation.istio.io" && h.FailurePolicy != "" {
			return h.FailurePolicy
		}
	}
	return def
}
