package webhookfix

import (
	"maps"
	"slices"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// builder builds the nodes of the objects webhook-fix generates, keeping
// the first error of any step in err (the nodes built after it are not to
// be used).
type builder struct{ err error }

// field is one field of a mapping; a nil value leaves it out.
type field struct {
	key   string
	value *yaml.RNode
}

// mapping is a new mapping of the fields, in their order.
func (b *builder) mapping(fields ...field) *yaml.RNode {
	n := yaml.NewMapRNode(nil)
	for _, f := range fields {
		if f.value == nil || b.err != nil {
			continue
		}
		b.err = n.PipeE(yaml.SetField(f.key, f.value))
	}
	return n
}

// lookup is n's field, or nil (also when n is not a mapping: recorded).
func (b *builder) lookup(n *yaml.RNode, field string) *yaml.RNode {
	v, err := n.Pipe(yaml.Lookup(field))
	if err != nil && b.err == nil {
		b.err = err
	}
	return v
}

// object is a new object: apiVersion, kind, metadata (annotations when
// any, labels, name) and webhooks.
func (b *builder) object(apiVersion, kind, name string, labels, annotations map[string]string, webhooks *yaml.RNode) *yaml.RNode {
	var ann *yaml.RNode
	if len(annotations) > 0 {
		ann = b.sortedMap(annotations)
	}
	return b.mapping(
		field{"apiVersion", yaml.NewStringRNode(apiVersion)},
		field{"kind", yaml.NewStringRNode(kind)},
		field{"metadata", b.mapping(
			field{"annotations", ann},
			field{"labels", b.sortedMap(labels)},
			field{"name", yaml.NewStringRNode(name)},
		)},
		field{"webhooks", webhooks},
	)
}

func (b *builder) sortedMap(m map[string]string) *yaml.RNode {
	fs := make([]field, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fs = append(fs, field{k, yaml.NewStringRNode(m[k])})
	}
	return b.mapping(fs...)
}

type expr struct {
	key, op string
	values  []string
}

func in(k string, v ...string) expr    { return expr{k, "In", v} }
func notIn(k string, v ...string) expr { return expr{k, "NotIn", v} }
func notExists(k string) expr          { return expr{k, "DoesNotExist", nil} }

// exprs builds {matchExpressions: [...]}.
func (b *builder) exprs(es ...expr) *yaml.RNode {
	list := make([]*yaml.RNode, 0, len(es))
	for _, e := range es {
		var values *yaml.RNode
		if len(e.values) > 0 {
			values = strList(e.values...)
		}
		list = append(list, b.mapping(
			field{"key", yaml.NewStringRNode(e.key)},
			field{"operator", yaml.NewStringRNode(e.op)},
			field{"values", values},
		))
	}
	return b.mapping(field{"matchExpressions", seq(list...)})
}

// seq is a sequence of the nodes.
func seq(ns ...*yaml.RNode) *yaml.RNode {
	s := &yaml.Node{Kind: yaml.SequenceNode, Tag: yaml.NodeTagSeq}
	for _, n := range ns {
		s.Content = append(s.Content, n.YNode())
	}
	return yaml.NewRNode(s)
}

// copied is a copy of n, or nil.
func copied(n *yaml.Node) *yaml.RNode {
	if n == nil {
		return nil
	}
	return yaml.NewRNode(yaml.CopyYNode(n))
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
