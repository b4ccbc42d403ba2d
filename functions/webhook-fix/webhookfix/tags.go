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
// rebuilt offline from the revision's render (internal/revtag).
func (f *fixer) tags() error {
	c, err := revtag.ReadCanonical(f.m, f.rev, f.ns)
	if err != nil {
		return fmt.Errorf("cannot set the default tag: %v", err)
	}
	if err := f.put(c.Webhook(mesh.DefaultTag), "the default revision tag: namespaces labelled istio-injection=enabled or istio.io/rev=default, and pods labelled sidecar.istio.io/inject=true, are injected by revision "+f.rev+" (what `istioctl tag set default --revision "+f.rev+"` creates). Unlike `tag set`, nothing deactivates the old default injector here: until it is pruned both match istio-injection=enabled namespaces, and the API server calls istio-revision-tag-default first (mutating webhooks run in name order), whose injection the old injector then skips as already done"); err != nil {
		return err
	}
	return f.put(c.DefaultValidator(f.existingFailurePolicy("Ignore")), "the default validator: Istio resources without an istio.io/rev label are validated by revision "+f.rev)
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
