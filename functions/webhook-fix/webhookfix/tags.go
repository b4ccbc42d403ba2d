package webhookfix

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// What `istioctl tag set default --revision <rev>` creates, rebuilt offline
// from the revision's render. Sources (istio/istio):
//   - istioctl/pkg/tag/generate.go: Generate, generateMutatingWebhook,
//     generateValidatingWebhook, tagWebhookConfigFromCanonicalWebhook,
//     generateLabels;
//   - istioctl/pkg/tag/util.go: GetWebhooksWithRevision (the canonical
//     injector is labelled istio.io/rev=<rev> and not istio.io/tag);
//   - manifests/charts/istio-control/istio-discovery/templates/revision-tags-mwc.yaml
//     (the tag's MutatingWebhookConfiguration);
//   - manifests/charts/default/templates/validatingwebhook.yaml
//     (istiod-default-validator).
const (
	injectionSuffix  = "sidecar-injector.istio.io" // istioInjectionWebhookSuffix
	defaultValidator = "istiod-default-validator"  // vwhBaseTemplateName
)

// tagMWCName is the tag's MutatingWebhookConfiguration name
// (revision-tags-mwc.yaml: the namespace is appended outside istio-system).
func tagMWCName(ns string) string {
	name := "istio-revision-tag-" + mesh.DefaultTag
	if ns != "istio-system" {
		name += "-" + ns
	}
	return name
}

// tagIDs are the objects the default tag consists of.
func tagIDs(ns string) []mesh.ID {
	return []mesh.ID{
		{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration", Name: tagMWCName(ns)},
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration", Name: defaultValidator},
	}
}

// canonical is what istioctl reads from the revision's own injector
// (tagWebhookConfigFromCanonicalWebhook).
type canonical struct {
	obj                *mesh.Object
	service            string
	path               string
	url                string
	caBundle           *yaml.Node
	reinvocationPolicy string
	labels             map[string]string // without "app"
	annotations        map[string]string
	// revNamespace / revObject are the revision's own rev.namespace and
	// rev.object webhooks, whose selectors the tag copies with the tag in
	// place of the revision (the template is "adapted from
	// mutatingwebhook.yaml"; copying keeps the chart version's
	// revisionLabelPreference).
	revNamespace, revObject *yaml.Node
}

func (f *fixer) tags() error {
	inj, err := f.m.CanonicalInjector(f.rev)
	if err != nil {
		return err
	}
	if inj == nil {
		return fmt.Errorf("cannot set the default tag: no MutatingWebhookConfiguration labelled %s=%s (without %s) in the input, which istioctl tag needs as its canonical webhook", mesh.LabelRev, f.rev, mesh.LabelTag)
	}
	c := canonical{obj: inj, labels: map[string]string{}, annotations: map[string]string{}}
	found := false
	for i, h := range f.m.WebhooksOf(inj.ID) {
		node := inj.Node().Field("webhooks").Value.YNode().Content[i]
		switch {
		case strings.HasPrefix(h.Name, "rev.namespace."):
			c.revNamespace = node
		case strings.HasPrefix(h.Name, "rev.object."):
			c.revObject = node
		}
		if found || !strings.HasSuffix(h.Name, injectionSuffix) {
			continue
		}
		found = true
		if h.Service != nil {
			c.service, c.path = h.Service.Name, h.Service.Path
		}
		c.url = h.URL
		r := yaml.NewRNode(node)
		cb, err := r.Pipe(yaml.Lookup("clientConfig", "caBundle"))
		if err != nil {
			return fmt.Errorf("%s: webhook %s: clientConfig: %v", inj.ID, h.Name, err)
		}
		if cb != nil && cb.YNode().Value != "" {
			c.caBundle = cb.YNode()
		}
		rp, err := r.Pipe(yaml.Lookup("reinvocationPolicy"))
		if err != nil {
			return fmt.Errorf("%s: webhook %s: %v", inj.ID, h.Name, err)
		}
		if rp != nil {
			c.reinvocationPolicy = rp.YNode().Value
		}
	}
	if !found {
		return fmt.Errorf("%s: no webhook named *%s, which istioctl tag copies (tagWebhookConfigFromCanonicalWebhook)", inj.ID, injectionSuffix)
	}
	for k, v := range inj.Node().GetLabels() {
		if k != "app" {
			c.labels[k] = v
		}
	}
	for k, v := range inj.Node().GetAnnotations() {
		if !mesh.IsBookkeepingAnnotation(k) {
			c.annotations[k] = v
		}
	}
	mwc, err := f.tagMWC(c)
	if err != nil {
		return err
	}
	if err := f.put(mwc, "the default revision tag: namespaces labelled istio-injection=enabled or istio.io/rev=default, and pods labelled sidecar.istio.io/inject=true, are injected by revision "+f.rev+" (what `istioctl tag set default --revision "+f.rev+"` creates). Unlike `tag set`, nothing deactivates the old default injector here: until it is pruned both match istio-injection=enabled namespaces, and the API server calls istio-revision-tag-default first (mutating webhooks run in name order), whose injection the old injector then skips as already done"); err != nil {
		return err
	}
	vwc, err := f.defaultValidator(c)
	if err != nil {
		return err
	}
	return f.put(vwc, "the default validator: Istio resources without an istio.io/rev label are validated by revision "+f.rev)
}

// put appends a generated object, or replaces the input's object of the
// same identity when it differs.
func (f *fixer) put(n *yaml.RNode, why string) error {
	o, err := mesh.Identify(0, n)
	if err != nil {
		return err
	}
	if existing, ok := f.m.Get(o.ID); ok {
		if mesh.SameObject(existing.Node(), n) {
			return nil
		}
		for k, v := range existing.Node().GetAnnotations() {
			if mesh.IsBookkeepingAnnotation(k) {
				if err := n.PipeE(yaml.SetAnnotation(k, v)); err != nil {
					return err
				}
			}
		}
		existing.Node().SetYNode(n.YNode())
		f.res.Infof(existing, "replaced %s with %s", o.ID, why)
		return nil
	}
	f.out = append(f.out, mesh.NewItem(n))
	f.res.Infof(o, "added %s: %s", o.ID, why)
	return nil
}

// tagMWC renders revision-tags-mwc.yaml for revisionTags=[default],
// revision=<rev>, enableNamespacesByDefault=false (istioctl's default),
// then applies generateMutatingWebhook's edits: caBundle and service path
// and name from the canonical webhook, labels merged with the canonical's
// (without "app"), annotations from the canonical. Keys are written in the
// order istioctl's serializer writes them (alphabetical).
func (f *fixer) tagMWC(c canonical) (*yaml.RNode, error) {
	name := tagMWCName(f.ns)
	labels := map[string]string{
		mesh.LabelTag: mesh.DefaultTag,
		mesh.LabelRev: f.rev,
		"install.operator.istio.io/owning-resource": "unknown",
		"operator.istio.io/component":               "Pilot",
		"app":                                       "sidecar-injector",
		"release":                                   "istio",
		"app.kubernetes.io/name":                    "istiod",
	}
	for k, v := range c.labels {
		labels[k] = v
	}
	b := &builder{}
	tag := mesh.DefaultTag
	hooks := seq(
		// Case 1 and 2 of the template: the tag's own namespace and object
		// selectors.
		f.core(b, c, "rev.namespace.", b.retag(c.revNamespace, "namespaceSelector", f.rev, tag, b.exprs(in(mesh.LabelRev, tag), notExists("istio-injection"))),
			b.retag(c.revNamespace, "objectSelector", f.rev, tag, b.exprs(notIn("sidecar.istio.io/inject", "false")))),
		f.core(b, c, "rev.object.", b.retag(c.revObject, "namespaceSelector", f.rev, tag, b.exprs(notExists(mesh.LabelRev), notExists("istio-injection"))),
			b.retag(c.revObject, "objectSelector", f.rev, tag, b.exprs(notIn("sidecar.istio.io/inject", "false"), in(mesh.LabelRev, tag)))),
		// The default tag also takes over the default revision's legacy
		// selectors (kept in sync with mutatingwebhook.yaml).
		f.core(b, c, "namespace.", b.exprs(in("istio-injection", "enabled")), b.exprs(notIn("sidecar.istio.io/inject", "false"))),
		f.core(b, c, "object.", b.exprs(notExists("istio-injection"), notExists(mesh.LabelRev)), b.exprs(in("sidecar.istio.io/inject", "true"), notExists(mesh.LabelRev))),
	)
	n := b.object("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", name, labels, c.annotations, hooks)
	return n, b.err
}

// core is the template's "core" webhook.
func (f *fixer) core(b *builder, c canonical, prefix string, nsSel, objSel *yaml.RNode) *yaml.RNode {
	var cc *yaml.RNode
	if c.url != "" {
		cc = b.mapping(field{"caBundle", copied(c.caBundle)}, field{"url", yaml.NewStringRNode(c.url)})
	} else {
		cc = b.mapping(field{"caBundle", copied(c.caBundle)}, field{"service", b.mapping(
			field{"name", yaml.NewStringRNode(c.service)},
			field{"namespace", yaml.NewStringRNode(f.ns)},
			field{"path", yaml.NewStringRNode(c.path)},
			field{"port", yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: "443"})},
		)})
	}
	var reinvocation *yaml.RNode
	if c.reinvocationPolicy != "" {
		reinvocation = yaml.NewStringRNode(c.reinvocationPolicy)
	}
	return b.mapping(
		field{"admissionReviewVersions", strList("v1")},
		field{"clientConfig", cc},
		field{"failurePolicy", yaml.NewStringRNode("Fail")},
		field{"name", yaml.NewStringRNode(prefix + injectionSuffix)},
		field{"namespaceSelector", nsSel},
		field{"objectSelector", objSel},
		field{"reinvocationPolicy", reinvocation},
		field{"rules", seq(b.mapping(
			field{"apiGroups", strList("")},
			field{"apiVersions", strList("v1")},
			field{"operations", strList("CREATE")},
			field{"resources", strList("pods")},
		))},
		field{"sideEffects", yaml.NewStringRNode("None")},
	)
}

// defaultValidator renders manifests/charts/default/templates/validatingwebhook.yaml
// with revision=<rev> (validateGateway off, its default in
// manifests/charts/default/values.yaml), then applies
// generateValidatingWebhook's edits: caBundle from the canonical injector,
// labels merged with the canonical's (without "app"), annotations from it.
// A URL injector gives a URL validator with path /validate (fixWhConfig).
func (f *fixer) defaultValidator(c canonical) (*yaml.RNode, error) {
	labels := map[string]string{
		"app":                         "istiod",
		"istio":                       "istiod",
		mesh.LabelRev:                 f.rev,
		mesh.LabelTag:                 mesh.DefaultTag,
		"operator.istio.io/component": "Pilot",
	}
	for k, v := range c.labels {
		labels[k] = v
	}
	b := &builder{}
	var cc *yaml.RNode
	if c.url != "" {
		u := c.url
		if i := strings.Index(u, "://"); i >= 0 {
			if j := strings.Index(u[i+3:], "/"); j >= 0 {
				u = u[:i+3+j]
			}
		}
		cc = b.mapping(field{"caBundle", copied(c.caBundle)}, field{"url", yaml.NewStringRNode(u + "/validate")})
	} else {
		cc = b.mapping(field{"caBundle", copied(c.caBundle)}, field{"service", b.mapping(
			field{"name", yaml.NewStringRNode(mesh.IstiodServiceName(f.rev))},
			field{"namespace", yaml.NewStringRNode(f.ns)},
			field{"path", yaml.NewStringRNode("/validate")},
		)})
	}
	w := b.mapping(
		field{"admissionReviewVersions", strList("v1beta1", "v1")},
		field{"clientConfig", cc},
		field{"failurePolicy", yaml.NewStringRNode(f.existingFailurePolicy("Ignore"))},
		field{"name", yaml.NewStringRNode("validation.istio.io")},
		field{"objectSelector", b.exprs(notExists(mesh.LabelRev))},
		field{"rules", seq(b.mapping(
			field{"apiGroups", strList("security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io")},
			field{"apiVersions", strList("*")},
			field{"operations", strList("CREATE", "UPDATE")},
			field{"resources", strList("*")},
		))},
		field{"sideEffects", yaml.NewStringRNode("None")},
	)
	n := b.object("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", defaultValidator, labels, c.annotations, seq(w))
	return n, b.err
}

// existingFailurePolicy keeps the failurePolicy of an istiod-default-validator
// already in the input, as fixWhConfig keeps the one in the cluster (istiod
// flips it to Fail once its webhook is ready).
func (f *fixer) existingFailurePolicy(def string) string {
	o, ok := f.m.Get(mesh.ID{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration", Name: defaultValidator})
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

// retag copies a selector of the canonical webhook with the tag in place of
// the revision in istio.io/rev In [...]; def when the canonical has none.
func (b *builder) retag(hook *yaml.Node, field, rev, tag string, def *yaml.RNode) *yaml.RNode {
	if hook == nil {
		return def
	}
	sel := b.lookup(yaml.NewRNode(hook), field)
	if sel == nil {
		return def
	}
	cp := yaml.NewRNode(yaml.CopyYNode(sel.YNode()))
	exprsNode := b.lookup(cp, "matchExpressions")
	if exprsNode == nil {
		return cp
	}
	for _, e := range exprsNode.YNode().Content {
		r := yaml.NewRNode(e)
		if k := b.lookup(r, "key"); k == nil || k.YNode().Value != mesh.LabelRev {
			continue
		}
		vals := b.lookup(r, "values")
		if vals == nil {
			continue
		}
		for _, v := range vals.YNode().Content {
			if v.Value == rev {
				v.Value = tag
			}
		}
	}
	return cp
}
