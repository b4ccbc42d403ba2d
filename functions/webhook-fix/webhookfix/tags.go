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
		if cb, _ := r.Pipe(yaml.Lookup("clientConfig", "caBundle")); cb != nil && cb.YNode().Value != "" {
			c.caBundle = cb.YNode()
		}
		if rp, _ := r.Pipe(yaml.Lookup("reinvocationPolicy")); rp != nil {
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
	n := newObject("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", name, labels, c.annotations)
	hooks := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	tag := mesh.DefaultTag
	// Case 1 and 2 of the template: the tag's own namespace and object
	// selectors.
	hooks.Content = append(hooks.Content,
		f.core(c, "rev.namespace.", retag(c.revNamespace, "namespaceSelector", f.rev, tag, exprs(in(mesh.LabelRev, tag), notExists("istio-injection"))),
			retag(c.revNamespace, "objectSelector", f.rev, tag, exprs(notIn("sidecar.istio.io/inject", "false")))),
		f.core(c, "rev.object.", retag(c.revObject, "namespaceSelector", f.rev, tag, exprs(notExists(mesh.LabelRev), notExists("istio-injection"))),
			retag(c.revObject, "objectSelector", f.rev, tag, exprs(notIn("sidecar.istio.io/inject", "false"), in(mesh.LabelRev, tag)))),
		// The default tag also takes over the default revision's legacy
		// selectors (kept in sync with mutatingwebhook.yaml).
		f.core(c, "namespace.", exprs(in("istio-injection", "enabled")), exprs(notIn("sidecar.istio.io/inject", "false"))),
		f.core(c, "object.", exprs(notExists("istio-injection"), notExists(mesh.LabelRev)), exprs(in("sidecar.istio.io/inject", "true"), notExists(mesh.LabelRev))),
	)
	if err := n.PipeE(yaml.SetField("webhooks", yaml.NewRNode(hooks))); err != nil {
		return nil, err
	}
	return n, nil
}

// core is the template's "core" webhook.
func (f *fixer) core(c canonical, prefix string, nsSel, objSel *yaml.Node) *yaml.Node {
	cc := yaml.NewMapRNode(nil)
	if c.caBundle != nil {
		_ = cc.PipeE(yaml.SetField("caBundle", yaml.NewRNode(yaml.CopyYNode(c.caBundle))))
	}
	if c.url != "" {
		_ = cc.PipeE(yaml.SetField("url", yaml.NewStringRNode(c.url)))
	} else {
		svc := yaml.NewMapRNode(nil)
		_ = svc.PipeE(yaml.SetField("name", yaml.NewStringRNode(c.service)))
		_ = svc.PipeE(yaml.SetField("namespace", yaml.NewStringRNode(f.ns)))
		_ = svc.PipeE(yaml.SetField("path", yaml.NewStringRNode(c.path)))
		_ = svc.PipeE(yaml.SetField("port", yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: "443"})))
		_ = cc.PipeE(yaml.SetField("service", svc))
	}
	w := yaml.NewMapRNode(nil)
	_ = w.PipeE(yaml.SetField("admissionReviewVersions", strList("v1")))
	_ = w.PipeE(yaml.SetField("clientConfig", cc))
	_ = w.PipeE(yaml.SetField("failurePolicy", yaml.NewStringRNode("Fail")))
	_ = w.PipeE(yaml.SetField("name", yaml.NewStringRNode(prefix+injectionSuffix)))
	_ = w.PipeE(yaml.SetField("namespaceSelector", yaml.NewRNode(nsSel)))
	_ = w.PipeE(yaml.SetField("objectSelector", yaml.NewRNode(objSel)))
	if c.reinvocationPolicy != "" {
		_ = w.PipeE(yaml.SetField("reinvocationPolicy", yaml.NewStringRNode(c.reinvocationPolicy)))
	}
	rule := yaml.NewMapRNode(nil)
	_ = rule.PipeE(yaml.SetField("apiGroups", strList("")))
	_ = rule.PipeE(yaml.SetField("apiVersions", strList("v1")))
	_ = rule.PipeE(yaml.SetField("operations", strList("CREATE")))
	_ = rule.PipeE(yaml.SetField("resources", strList("pods")))
	_ = w.PipeE(yaml.SetField("rules", yaml.NewRNode(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{rule.YNode()}})))
	_ = w.PipeE(yaml.SetField("sideEffects", yaml.NewStringRNode("None")))
	return w.YNode()
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
	n := newObject("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", defaultValidator, labels, c.annotations)
	cc := yaml.NewMapRNode(nil)
	if c.caBundle != nil {
		_ = cc.PipeE(yaml.SetField("caBundle", yaml.NewRNode(yaml.CopyYNode(c.caBundle))))
	}
	if c.url != "" {
		u := c.url
		if i := strings.Index(u, "://"); i >= 0 {
			if j := strings.Index(u[i+3:], "/"); j >= 0 {
				u = u[:i+3+j]
			}
		}
		_ = cc.PipeE(yaml.SetField("url", yaml.NewStringRNode(u+"/validate")))
	} else {
		svc := yaml.NewMapRNode(nil)
		_ = svc.PipeE(yaml.SetField("name", yaml.NewStringRNode(mesh.IstiodServiceName(f.rev))))
		_ = svc.PipeE(yaml.SetField("namespace", yaml.NewStringRNode(f.ns)))
		_ = svc.PipeE(yaml.SetField("path", yaml.NewStringRNode("/validate")))
		_ = cc.PipeE(yaml.SetField("service", svc))
	}
	w := yaml.NewMapRNode(nil)
	_ = w.PipeE(yaml.SetField("admissionReviewVersions", strList("v1beta1", "v1")))
	_ = w.PipeE(yaml.SetField("clientConfig", cc))
	_ = w.PipeE(yaml.SetField("failurePolicy", yaml.NewStringRNode(f.existingFailurePolicy("Ignore"))))
	_ = w.PipeE(yaml.SetField("name", yaml.NewStringRNode("validation.istio.io")))
	_ = w.PipeE(yaml.SetField("objectSelector", yaml.NewRNode(exprs(notExists(mesh.LabelRev)))))
	rule := yaml.NewMapRNode(nil)
	_ = rule.PipeE(yaml.SetField("apiGroups", strList("security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io")))
	_ = rule.PipeE(yaml.SetField("apiVersions", strList("*")))
	_ = rule.PipeE(yaml.SetField("operations", strList("CREATE", "UPDATE")))
	_ = rule.PipeE(yaml.SetField("resources", strList("*")))
	_ = w.PipeE(yaml.SetField("rules", yaml.NewRNode(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{rule.YNode()}})))
	_ = w.PipeE(yaml.SetField("sideEffects", yaml.NewStringRNode("None")))
	if err := n.PipeE(yaml.SetField("webhooks", yaml.NewRNode(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{w.YNode()}}))); err != nil {
		return nil, err
	}
	return n, nil
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

func newObject(apiVersion, kind, name string, labels, annotations map[string]string) *yaml.RNode {
	n := yaml.NewMapRNode(nil)
	_ = n.PipeE(yaml.SetField("apiVersion", yaml.NewStringRNode(apiVersion)))
	_ = n.PipeE(yaml.SetField("kind", yaml.NewStringRNode(kind)))
	md := yaml.NewMapRNode(nil)
	if len(annotations) > 0 {
		_ = md.PipeE(yaml.SetField("annotations", sortedMap(annotations)))
	}
	_ = md.PipeE(yaml.SetField("labels", sortedMap(labels)))
	_ = md.PipeE(yaml.SetField("name", yaml.NewStringRNode(name)))
	_ = n.PipeE(yaml.SetField("metadata", md))
	return n
}

func sortedMap(m map[string]string) *yaml.RNode {
	n := yaml.NewMapRNode(nil)
	for _, k := range sortedKeys(m) {
		_ = n.PipeE(yaml.SetField(k, yaml.NewStringRNode(m[k])))
	}
	return n
}

type expr struct {
	key, op string
	values  []string
}

func in(k string, v ...string) expr    { return expr{k, "In", v} }
func notIn(k string, v ...string) expr { return expr{k, "NotIn", v} }
func notExists(k string) expr          { return expr{k, "DoesNotExist", nil} }

// exprs builds {matchExpressions: [...]}.
func exprs(es ...expr) *yaml.Node {
	list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, e := range es {
		m := yaml.NewMapRNode(nil)
		_ = m.PipeE(yaml.SetField("key", yaml.NewStringRNode(e.key)))
		_ = m.PipeE(yaml.SetField("operator", yaml.NewStringRNode(e.op)))
		if len(e.values) > 0 {
			_ = m.PipeE(yaml.SetField("values", strList(e.values...)))
		}
		list.Content = append(list.Content, m.YNode())
	}
	sel := yaml.NewMapRNode(nil)
	_ = sel.PipeE(yaml.SetField("matchExpressions", yaml.NewRNode(list)))
	return sel.YNode()
}

// retag copies a selector of the canonical webhook with the tag in place of
// the revision in istio.io/rev In [...]; def when the canonical has none.
func retag(hook *yaml.Node, field, rev, tag string, def *yaml.Node) *yaml.Node {
	if hook == nil {
		return def
	}
	sel, _ := yaml.NewRNode(hook).Pipe(yaml.Lookup(field))
	if sel == nil {
		return def
	}
	cp := yaml.CopyYNode(sel.YNode())
	exprsNode, _ := yaml.NewRNode(cp).Pipe(yaml.Lookup("matchExpressions"))
	if exprsNode == nil {
		return cp
	}
	for _, e := range exprsNode.YNode().Content {
		r := yaml.NewRNode(e)
		if k, _ := r.Pipe(yaml.Lookup("key")); k == nil || k.YNode().Value != mesh.LabelRev {
			continue
		}
		vals, _ := r.Pipe(yaml.Lookup("values"))
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

// strList is a sequence of strings, each tagged !!str so that "", "true"
// and "false" stay strings when written.
func strList(vs ...string) *yaml.RNode {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: yaml.NodeTagSeq}
	for _, v := range vs {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: v})
	}
	return yaml.NewRNode(n)
}
