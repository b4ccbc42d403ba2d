package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Carriers. Two renders of the same mesh collide on kind/namespace/name
// (CRDs, ClusterRoles, the default gateway, the user gateways), so plain
// kustomize cannot load both as resources. A render travels into a step as
// the data of a local-config ConfigMap (one YAML stream per key), whose
// annotation says which render it carries:
//
//	configMapGenerator:
//	- name: running-render
//	  files: [control-plane.yaml]
//	  options:
//	    disableNameSuffixHash: true
//	    annotations:
//	      revshift.dev/running-render: "true"
//	      config.kubernetes.io/local-config: "true"
//
// This is the one way a render is carried; Carried reads every kind.
const (
	// AnnotationRunningRender: the running control plane and gateways
	// (canary-control-plane re-emits them, prune-legacy prunes them).
	AnnotationRunningRender = "revshift.dev/running-render"
	// AnnotationCanaryRender: a target render of gateways, under their
	// rendered names; revision-gateway gives each object its canary name
	// and follows its references (see CanaryName).
	AnnotationCanaryRender = "revshift.dev/canary-render"
	// AnnotationHeldRender: the target's version of the objects that both
	// renders hold under one identity, which canary-control-plane holds
	// back (or merges) while the running revision runs; prune-legacy
	// applies them when it removes the running revision.
	AnnotationHeldRender = "revshift.dev/held-render"
)

// AnnotationState marks an object of the old (running) state inside one
// input that also holds the desired state; StateOld is its value.
// canary-control-plane sets it on the running objects it re-emits
// (spec.includeRunning), prune-legacy reads it, and a revshift Step strips
// it before output, so the cluster never sees it.
const (
	AnnotationState = "revshift.dev/state"
	StateOld        = "old"
)

// AnnotationLocalConfig keeps an object out of what kustomize, kpt and
// Argo CD apply.
const AnnotationLocalConfig = "config.kubernetes.io/local-config"

// IsRunningRender reports whether an item carries the running render.
func IsRunningRender(it *Item) bool { return IsCarrier(it, AnnotationRunningRender) }

// IsCarrier reports whether an item is a ConfigMap carrying a render of the
// kind the annotation names.
func IsCarrier(it *Item, annotation string) bool {
	v, ok := it.Annotation(annotation)
	if !ok || v == "false" {
		return false
	}
	if it.node == nil && it.text != nil {
		// The identity is among the facts: checking it must not
		// materialize a carrier (which would then be encoded again).
		if f := it.factsOf(); f.obj != nil {
			return f.obj.ID.Group == "" && f.obj.ID.Kind == "ConfigMap" && f.obj.APIVersion == "v1"
		}
	}
	n := it.Node()
	return n.GetKind() == "ConfigMap" && n.GetApiVersion() == "v1"
}

// carried is what RunningRender read from a carrier that is still text:
// several functions of one Step read the same carrier, and the text of an
// item never changes in place (SetAnnotation and Node replace it), so the
// same text gives the same objects. Only objects that are themselves text
// are kept, and each call hands out copies, so that no caller sees
// another's edits.
type carried struct {
	text    []byte
	objects []*Item
}

// sameText reports whether a and b are the same bytes in memory.
func sameText(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// copies returns a copy of each item (text items only: they share their
// immutable text and facts).
func copies(items []*Item) []*Item {
	out := make([]*Item, len(items))
	for i, it := range items {
		c := *it
		out[i] = &c
	}
	return out
}

// RunningRender reads the objects of every running-render carrier among
// items (Carried).
func RunningRender(items []*Item) (objects []*Item, carriers []*Item, err error) {
	return Carried(items, AnnotationRunningRender)
}

// Carried reads the objects of every carrier of one kind among items, in
// item order and key order. It rejects YAML aliases (a carried stream is
// parsed here, after the ResourceList's own alias check) and documents
// that are not objects, naming the ConfigMap, the key and the document.
func Carried(items []*Item, annotation string) (objects []*Item, carriers []*Item, err error) {
	for _, it := range items {
		if !IsCarrier(it, annotation) {
			continue
		}
		carriers = append(carriers, it)
		if c := it.carried; c != nil && it.node == nil && sameText(c.text, it.text) {
			objects = append(objects, copies(c.objects)...)
			continue
		}
		objs, err := readCarrier(it, annotation)
		if err != nil {
			return nil, nil, err
		}
		if it.node == nil && it.text != nil && allText(objs) {
			it.carried = &carried{text: it.text, objects: copies(objs)}
		}
		objects = append(objects, objs...)
	}
	return objects, carriers, nil
}

// NewCarrier is a local-config ConfigMap carrying objects, as one YAML
// stream under data.render.yaml, annotated as a carrier of the given kind.
func NewCarrier(name, annotation string, objs []*yaml.RNode) (*Item, error) {
	var b strings.Builder
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		s, err := o.String()
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	n, err := yaml.FromMap(map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":        name,
			"annotations": map[string]any{annotation: "true", AnnotationLocalConfig: "true"},
		},
		"data": map[string]any{"render.yaml": b.String()},
	})
	if err != nil {
		return nil, err
	}
	return NewItem(n), nil
}

func allText(items []*Item) bool {
	for _, it := range items {
		if it.node != nil || it.text == nil {
			return false
		}
	}
	return true
}

// readCarrier reads the objects of one carrier ConfigMap, in key order. A
// carrier that is still text is parsed here and left as text.
func readCarrier(it *Item, annotation string) ([]*Item, error) {
	n := it.node
	if n == nil && it.text != nil {
		y, err := parseEntry(it.text, it.line)
		if err != nil {
			return nil, err
		}
		n = yaml.NewRNode(y)
	} else {
		n = it.Node()
	}
	name := n.GetNamespace() + "/" + n.GetName()
	if n.GetNamespace() == "" {
		name = n.GetName()
	}
	data := lookup(n.YNode(), "data")
	if data == nil || data.Kind != yaml.MappingNode || len(data.Content) == 0 {
		return nil, fmt.Errorf("ConfigMap %s is annotated %s but has no data: put the render's files under data (configMapGenerator files:)", name, annotation)
	}
	keys := map[string]*yaml.Node{}
	var order []string
	for i := 0; i+1 < len(data.Content); i += 2 {
		keys[data.Content[i].Value] = data.Content[i+1]
		order = append(order, data.Content[i].Value)
	}
	sort.Strings(order)
	var objects []*Item
	for _, k := range order {
		v := keys[k]
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("ConfigMap %s data.%s: expected a string holding YAML", name, k)
		}
		objs, err := parseStream(v.Value)
		if err != nil {
			return nil, fmt.Errorf("ConfigMap %s data.%s: %v", name, k, err)
		}
		objects = append(objects, objs...)
	}
	return objects, nil
}

// parseStream reads a YAML stream of objects. When its documents are
// separated by plain "---" lines (istioctl's output, kustomize's), each is
// read on its own and kept as text with its facts, as ResourceList items are
// (see Item); any other stream, or any error, is parsed whole, which words
// the error.
func parseStream(s string) ([]*Item, error) {
	if items, ok := parseStreamLazily(s); ok {
		return items, nil
	}
	dec := yaml.NewDecoder(strings.NewReader(s))
	var out []*Item
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", doc, err)
		}
		if a := aliasIn(&n, 0); a != nil {
			return nil, fmt.Errorf("document %d, line %d: YAML aliases are not supported", doc, a.Line)
		}
		y := &n
		if y.Kind == yaml.DocumentNode {
			if len(y.Content) == 0 {
				continue
			}
			y = y.Content[0]
		}
		if y.Kind == yaml.ScalarNode && (y.Tag == "!!null" || y.Value == "") {
			continue // comment-only documents (istioctl separates components with them)
		}
		if y.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("document %d (line %d): expected an object", doc, y.Line)
		}
		out = append(out, NewItem(yaml.NewRNode(y)))
	}
}

func parseStreamLazily(s string) ([]*Item, bool) {
	var out []*Item
	var entry bytes.Buffer
	start, startLine, line := 0, 1, 0
	carry := ""
	flush := func(end int) bool {
		doc := s[start:end]
		if !hasContent(doc) {
			if start == 0 {
				// Comments before the stream's first "---" head its
				// first object, as the YAML decoder reads them.
				carry = doc
			}
			return true // empty or comment-only document
		}
		if carry != "" {
			doc, carry = carry+doc, ""
		}
		entry.Reset()
		_ = IndentEntry(&entry, []byte(doc))
		text := make([]byte, entry.Len())
		copy(text, entry.Bytes())
		it, err := ParseEntry(text, startLine)
		if err != nil {
			return false
		}
		out = append(out, it)
		return true
	}
	for pos := 0; pos < len(s); {
		line++
		end := strings.IndexByte(s[pos:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += pos + 1
		}
		l := strings.TrimRight(s[pos:end], " \t\r\n")
		switch {
		case l == "---":
			if !flush(pos) {
				return nil, false
			}
			start, startLine = end, line+1
		case strings.HasPrefix(l, "---") || strings.HasPrefix(l, "...") || strings.HasPrefix(l, "%") || strings.HasPrefix(l, "\t"):
			return nil, false // markers with content, directives, tabs
		}
		pos = end
	}
	if !flush(len(s)) {
		return nil, false
	}
	PackItems(out)
	return out, true
}

// hasContent reports whether a document has a line that is not blank or a
// comment (istioctl separates components with comment-only documents).
func hasContent(doc string) bool {
	for doc != "" {
		l := doc
		if i := strings.IndexByte(doc, '\n'); i >= 0 {
			l, doc = doc[:i], doc[i+1:]
		} else {
			doc = ""
		}
		if t := strings.TrimSpace(l); t != "" && t[0] != '#' {
			return true
		}
	}
	return false
}
func aliasIn(n *yaml.Node, depth int) *yaml.Node {
	if n.Kind == yaml.AliasNode || depth > 1000 {
		return n
	}
	for _, c := range n.Content {
		if a := aliasIn(c, depth+1); a != nil {
			return a
		}
	}
	return nil
}

// NotRendered reports an input that holds IstioOperator resources (the
// input of `istioctl manifest generate`) and none of what it renders (no
// istiod, no gateway): revshift works on rendered manifests, so it says how
// to get them instead of failing later with a puzzling message.
func NotRendered(m *Model) error {
	if len(m.Istiods) > 0 || len(m.Gateways) > 0 {
		return nil
	}
	var ops []string
	for _, o := range m.Objects {
		if o.ID.Group == "install.istio.io" && o.ID.Kind == "IstioOperator" {
			ops = append(ops, o.ID.String())
		}
	}
	if len(ops) == 0 {
		return nil
	}
	return fmt.Errorf("the input holds %s, the input of istioctl, not rendered manifests: render it with `istioctl manifest generate -f <file> [--revision <rev>]` and give revshift the output", strings.Join(ops, ", "))
}
