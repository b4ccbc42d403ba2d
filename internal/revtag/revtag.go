// Package revtag rebuilds offline what `istioctl tag set <tag> --revision
// <rev> [--overwrite]` creates, from the revision's own render. Sources
// (istio/istio):
//   - istioctl/pkg/tag/generate.go: Generate, generateMutatingWebhook,
//     generateValidatingWebhook, tagWebhookConfigFromCanonicalWebhook,
//     generateLabels;
//   - istioctl/pkg/tag/util.go: GetWebhooksWithRevision (the canonical
//     injector is labelled istio.io/rev=<rev> and not istio.io/tag);
//   - manifests/charts/istio-control/istio-discovery/templates/
//     revision-tags-mwc.yaml (the tag's MutatingWebhookConfiguration) and
//     revision-tags-svc.yaml (its Service, istiod-revision-tag-<tag>);
//   - manifests/charts/default/templates/validatingwebhook.yaml
//     (istiod-default-validator, the default tag only).
//
// The objects are built as nodes, keys in the order istioctl's serializer
// writes them (alphabetical), so that nothing here can fail once the
// canonical injector is read.
package revtag

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	// InjectionSuffix ends the name of every injector webhook
	// (istioInjectionWebhookSuffix).
	InjectionSuffix = "sidecar-injector.istio.io"
	// DefaultValidatorName is the default tag's validator (vwhBaseTemplateName).
	DefaultValidatorName = "istiod-default-validator"
)

// WebhookName is the tag's MutatingWebhookConfiguration name
// (revision-tags-mwc.yaml: the namespace is appended outside istio-system).
func WebhookName(tag, ns string) string {
	name := "istio-revision-tag-" + tag
	if ns != "istio-system" {
		name += "-" + ns
	}
	return name
}

// ServiceName is the tag's Service (revision-tags-svc.yaml), which selects
// the pods of the revision the tag points at.
func ServiceName(tag string) string { return "istiod-revision-tag-" + tag }

// WebhookID is the identity of the tag's MutatingWebhookConfiguration.
func WebhookID(tag, ns string) mesh.ID {
	return mesh.ID{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration", Name: WebhookName(tag, ns)}
}

// DefaultValidatorID is the identity of istiod-default-validator.
func DefaultValidatorID() mesh.ID {
	return mesh.ID{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration", Name: DefaultValidatorName}
}

// Canonical is what istioctl reads from the revision's own injector
// (tagWebhookConfigFromCanonicalWebhook).
type Canonical struct {
	// Revision and Namespace are the revision and its istiod's namespace.
	Revision, Namespace string
	Object              *mesh.Object
	service, path, url  string
	caBundle            *yaml.Node
	reinvocationPolicy  string
	labels              map[string]string // without "app"
	annotations         map[string]string
	// revNamespace / revObject are the revision's own rev.namespace and
	// rev.object webhooks, whose selectors a tag copies with the tag in
	// place of the revision (the template is "adapted from
	// mutatingwebhook.yaml"; copying keeps the chart version's
	// revisionLabelPreference).
	revNamespace, revObject *yaml.Node
}

// ReadCanonical reads the revision's canonical injector from the model; ns
// is the namespace of the revision's istiod.
func ReadCanonical(m *mesh.Model, rev, ns string) (*Canonical, error) {
	inj, err := m.CanonicalInjector(rev)
	if err != nil {
		return nil, err
	}
	if inj == nil {
		return nil, fmt.Errorf("no MutatingWebhookConfiguration labelled %s=%s (without %s) in the input, which istioctl tag needs as its canonical webhook", mesh.LabelRev, rev, mesh.LabelTag)
	}
	c := &Canonical{Revision: rev, Namespace: ns, Object: inj, labels: map[string]string{}, annotations: map[string]string{}}
	found := false
	hooks := inj.Node().YNode()
	for i, h := range m.WebhooksOf(inj.ID) {
		node := mesh.Lookup(hooks, "webhooks").Content[i]
		switch {
		case strings.HasPrefix(h.Name, "rev.namespace."):
			c.revNamespace = node
		case strings.HasPrefix(h.Name, "rev.object."):
			c.revObject = node
		}
		if found || !strings.HasSuffix(h.Name, InjectionSuffix) {
			continue
		}
		found = true
		if h.Service != nil {
			c.service, c.path = h.Service.Name, h.Service.Path
		}
		c.url = h.URL
		if cb := mesh.Lookup(node, "clientConfig", "caBundle"); cb != nil && cb.Value != "" {
			c.caBundle = cb
		}
		if rp := mesh.Lookup(node, "reinvocationPolicy"); rp != nil {
			c.reinvocationPolicy = rp.Value
		}
	}
	if !found {
		return nil, fmt.Errorf("%s: no webhook named *%s, which istioctl tag copies (tagWebhookConfigFromCanonicalWebhook)", inj.ID, InjectionSuffix)
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
	return c, nil
}

// Webhook renders revision-tags-mwc.yaml for revisionTags=[tag],
// revision=<rev>, enableNamespacesByDefault=false (istioctl's default), then
// applies generateMutatingWebhook's edits: caBundle and service path and
// name from the canonical webhook, labels merged with the canonical's
// (without "app"), annotations from the canonical. The default tag also
// takes over the default revision's legacy selectors.
func (c *Canonical) Webhook(tag string) *yaml.RNode {
	labels := map[string]string{
		mesh.LabelTag: tag,
		mesh.LabelRev: c.Revision,
		"install.operator.istio.io/owning-resource": "unknown",
		"operator.istio.io/component":               "Pilot",
		"app":                                       "sidecar-injector",
		"release":                                   "istio",
		"app.kubernetes.io/name":                    "istiod",
	}
	for k, v := range c.labels {
		labels[k] = v
	}
	// Case 1 and 2 of the template: the tag's own namespace and object
	// selectors.
	hooks := []*yaml.Node{
		c.core("rev.namespace.", c.retag(c.revNamespace, "namespaceSelector", tag, exprs(in(mesh.LabelRev, tag), notExists("istio-injection"))),
			c.retag(c.revNamespace, "objectSelector", tag, exprs(notIn("sidecar.istio.io/inject", "false")))),
		c.core("rev.object.", c.retag(c.revObject, "namespaceSelector", tag, exprs(notExists(mesh.LabelRev), notExists("istio-injection"))),
			c.retag(c.revObject, "objectSelector", tag, exprs(notIn("sidecar.istio.io/inject", "false"), in(mesh.LabelRev, tag)))),
	}
	if tag == mesh.DefaultTag {
		// Kept in sync with mutatingwebhook.yaml.
		hooks = append(hooks,
			c.core("namespace.", exprs(in("istio-injection", "enabled")), exprs(notIn("sidecar.istio.io/inject", "false"))),
			c.core("object.", exprs(notExists("istio-injection"), notExists(mesh.LabelRev)), exprs(in("sidecar.istio.io/inject", "true"), notExists(mesh.LabelRev))),
		)
	}
	n := object("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", WebhookName(tag, c.Namespace), labels, c.annotations)
	n.Content = append(n.Content, str("webhooks"), seq(hooks...))
	return yaml.NewRNode(n)
}

// core is the template's "core" webhook.
func (c *Canonical) core(prefix string, nsSel, objSel *yaml.Node) *yaml.Node {
	var cc []field
	if c.caBundle != nil {
		cc = append(cc, field{"caBundle", yaml.CopyYNode(c.caBundle)})
	}
	if c.url != "" {
		cc = append(cc, field{"url", str(c.url)})
	} else {
		cc = append(cc, field{"service", mapping(
			field{"name", str(c.service)},
			field{"namespace", str(c.Namespace)},
			field{"path", str(c.path)},
			field{"port", &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: "443"}},
		)})
	}
	fields := []field{
		{"admissionReviewVersions", strs("v1")},
		{"clientConfig", mapping(cc...)},
		{"failurePolicy", str("Fail")},
		{"name", str(prefix + InjectionSuffix)},
		{"namespaceSelector", nsSel},
		{"objectSelector", objSel},
	}
	if c.reinvocationPolicy != "" {
		fields = append(fields, field{"reinvocationPolicy", str(c.reinvocationPolicy)})
	}
	fields = append(fields,
		field{"rules", seq(mapping(
			field{"apiGroups", strs("")},
			field{"apiVersions", strs("v1")},
			field{"operations", strs("CREATE")},
			field{"resources", strs("pods")},
		))},
		field{"sideEffects", str("None")},
	)
	return mapping(fields...)
}

// DefaultValidator renders manifests/charts/default/templates/
// validatingwebhook.yaml with revision=<rev> (validateGateway off, its
// default in manifests/charts/default/values.yaml), then applies
// generateValidatingWebhook's edits: caBundle from the canonical injector,
// labels merged with the canonical's (without "app"), annotations from it.
// A URL injector gives a URL validator with path /validate (fixWhConfig).
// failurePolicy is the one to write (istiod flips it at run time; keep the
// cluster's).
func (c *Canonical) DefaultValidator(failurePolicy string) *yaml.RNode {
	labels := map[string]string{
		"app":                         "istiod",
		"istio":                       "istiod",
		mesh.LabelRev:                 c.Revision,
		mesh.LabelTag:                 mesh.DefaultTag,
		"operator.istio.io/component": "Pilot",
	}
	for k, v := range c.labels {
		labels[k] = v
	}
	var cc []field
	if c.caBundle != nil {
		cc = append(cc, field{"caBundle", yaml.CopyYNode(c.caBundle)})
	}
	if c.url != "" {
		u := c.url
		if i := strings.Index(u, "://"); i >= 0 {
			if j := strings.Index(u[i+3:], "/"); j >= 0 {
				u = u[:i+3+j]
			}
		}
		cc = append(cc, field{"url", str(u + "/validate")})
	} else {
		cc = append(cc, field{"service", mapping(
			field{"name", str(mesh.IstiodServiceName(c.Revision))},
			field{"namespace", str(c.Namespace)},
			field{"path", str("/validate")},
		)})
	}
	hook := mapping(
		field{"admissionReviewVersions", strs("v1beta1", "v1")},
		field{"clientConfig", mapping(cc...)},
		field{"failurePolicy", str(failurePolicy)},
		field{"name", str("validation.istio.io")},
		field{"objectSelector", exprs(notExists(mesh.LabelRev))},
		field{"rules", seq(mapping(
			field{"apiGroups", strs("security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io")},
			field{"apiVersions", strs("*")},
			field{"operations", strs("CREATE", "UPDATE")},
			field{"resources", strs("*")},
		))},
		field{"sideEffects", str("None")},
	)
	n := object("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", DefaultValidatorName, labels, c.annotations)
	n.Content = append(n.Content, str("webhooks"), seq(hook))
	return yaml.NewRNode(n)
}

// retag copies a selector of the canonical webhook with the tag in place of
// the revision in istio.io/rev In [...]; def when the canonical has none.
func (c *Canonical) retag(hook *yaml.Node, fieldName, tag string, def *yaml.Node) *yaml.Node {
	sel := mesh.Lookup(hook, fieldName)
	if sel == nil {
		return def
	}
	cp := yaml.CopyYNode(sel)
	list := mesh.Lookup(cp, "matchExpressions")
	if list == nil {
		return cp
	}
	for _, e := range list.Content {
		if k := mesh.Lookup(e, "key"); k == nil || k.Value != mesh.LabelRev {
			continue
		}
		if vals := mesh.Lookup(e, "values"); vals != nil {
			for _, v := range vals.Content {
				if v.Value == c.Revision {
					v.Value = tag
				}
			}
		}
	}
	return cp
}

// field is one key and value of a mapping node.
type field struct {
	key   string
	value *yaml.Node
}

func mapping(fields ...field) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range fields {
		n.Content = append(n.Content, str(f.key), f.value)
	}
	return n
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: s}
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: yaml.NodeTagSeq, Content: items}
}

// strs is a sequence of strings, each tagged !!str so that "", "true" and
// "false" stay strings when written.
func strs(vs ...string) *yaml.Node {
	n := seq()
	for _, v := range vs {
		n.Content = append(n.Content, str(v))
	}
	return n
}

func sortedMap(m map[string]string) *yaml.Node {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := mapping()
	for _, k := range keys {
		n.Content = append(n.Content, str(k), str(m[k]))
	}
	return n
}

func object(apiVersion, kind, name string, labels, annotations map[string]string) *yaml.Node {
	var md []field
	if len(annotations) > 0 {
		md = append(md, field{"annotations", sortedMap(annotations)})
	}
	md = append(md, field{"labels", sortedMap(labels)}, field{"name", str(name)})
	return mapping(field{"apiVersion", str(apiVersion)}, field{"kind", str(kind)}, field{"metadata", mapping(md...)})
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
	list := seq()
	for _, e := range es {
		fields := []field{{"key", str(e.key)}, {"operator", str(e.op)}}
		if len(e.values) > 0 {
			fields = append(fields, field{"values", strs(e.values...)})
		}
		list.Content = append(list.Content, mapping(fields...))
	}
	return mapping(field{"matchExpressions", list})
}
