package mesh

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// ID is an object's identity: group, kind, namespace and name. Two objects
// with the same ID are the same object to the API server, whatever their
// apiVersion.
type ID struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// String renders the identity as Kind[.group]/[namespace/]name, the form used
// in every message revshift prints.
func (id ID) String() string {
	k := id.Kind
	if id.Group != "" {
		k += "." + id.Group
	}
	if id.Namespace == "" {
		return k + "/" + id.Name
	}
	return k + "/" + id.Namespace + "/" + id.Name
}

// Less orders identities deterministically (kind, namespace, name, group).
func (id ID) Less(o ID) bool {
	if id.Kind != o.Kind {
		return id.Kind < o.Kind
	}
	if id.Namespace != o.Namespace {
		return id.Namespace < o.Namespace
	}
	if id.Name != o.Name {
		return id.Name < o.Name
	}
	return id.Group < o.Group
}

// GroupOf returns the API group of an apiVersion ("apps/v1" -> "apps",
// "v1" -> "").
func GroupOf(apiVersion string) string {
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// Object is one rendered object and its identity, in one model.
type Object struct {
	ID         ID
	APIVersion string
	// Index is the object's position in the list the model was built from.
	Index int
	item  *Item
}

// Node returns the object's node, materializing its item (see Item.Node):
// call it to edit the object or to read a field the model does not index.
// It is nil for an Object made up for a message.
func (o *Object) Node() *yaml.RNode { return o.item.Node() }

// Annotation returns one of the object's annotations (see Item.Annotation).
func (o *Object) Annotation(key string) (string, bool) { return o.item.Annotation(key) }

// Label returns one of the object's labels (see Item.Label).
func (o *Object) Label(key string) (string, bool) { return o.item.Label(key) }

// Item returns the item the object was built from.
func (o *Object) Item() *Item { return o.item }

// Ref returns the object's identity fields for results and messages.
func (o *Object) String() string { return o.ID.String() }

// IdentityError is returned for an object that cannot be identified.
type IdentityError struct {
	Index int
	Field string
	Msg   string
}

func (e *IdentityError) Error() string {
	return fmt.Sprintf("items[%d]: %s: %s", e.Index, e.Field, e.Msg)
}

// Identify reads the identity of one object, failing with the field at fault
// when kind, apiVersion or metadata.name is missing.
func Identify(index int, n *yaml.RNode) (*Object, error) {
	id, apiVersion, err := identify(n)
	if err != nil {
		err.Index = index
		return nil, err
	}
	return &Object{ID: id, APIVersion: apiVersion, Index: index, item: NewItem(n)}, nil
}

// IdentifyItem is Identify for an item, from its facts when it was never
// materialized.
func IdentifyItem(index int, it *Item) (*Object, error) {
	if it.facts == nil && it.node != nil {
		// A materialized item: its identity alone, not all its facts.
		id, apiVersion, err := identify(it.node)
		if err != nil {
			err.Index = index
			return nil, err
		}
		return &Object{ID: id, APIVersion: apiVersion, Index: index, item: it}, nil
	}
	f := it.factsOf()
	if f.idErr != nil {
		e := *f.idErr
		e.Index = index
		return nil, &e
	}
	return &Object{ID: f.obj.ID, APIVersion: f.obj.APIVersion, Index: index, item: it}, nil
}

func identify(n *yaml.RNode) (ID, string, *IdentityError) {
	if n == nil || n.YNode() == nil || n.YNode().Kind != yaml.MappingNode {
		return ID{}, "", &IdentityError{Field: "(object)", Msg: "not a YAML mapping"}
	}
	kind := stringField(n, "kind")
	apiVersion := stringField(n, "apiVersion")
	name := stringField(n, "metadata", "name")
	ns := stringField(n, "metadata", "namespace")
	switch {
	case kind == "":
		return ID{}, "", &IdentityError{Field: "kind", Msg: fmt.Sprintf("missing (object %q)", name)}
	case apiVersion == "":
		return ID{}, "", &IdentityError{Field: "apiVersion", Msg: fmt.Sprintf("missing (%s %q)", kind, name)}
	case name == "":
		return ID{}, "", &IdentityError{Field: "metadata.name", Msg: fmt.Sprintf("missing (%s)", kind)}
	}
	return ID{Group: GroupOf(apiVersion), Kind: kind, Namespace: ns, Name: name}, apiVersion, nil
}

// stringField returns the scalar string at path, or "" when absent or not a
// scalar.
func stringField(n *yaml.RNode, path ...string) string {
	v := lookup(n.YNode(), path...)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// absent reports whether a field is missing or null.
func absent(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// lookup walks mapping keys without allocating RNodes (the model is built on
// every function call, over thousands of objects).
func lookup(n *yaml.Node, path ...string) *yaml.Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
			n = n.Content[0]
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == p {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	if n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// stringMap reads a mapping of scalars (labels, selectors). A value that is
// not a scalar is an error naming the field.
func stringMap(n *yaml.Node, field string) (map[string]string, error) {
	if absent(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: expected a map of strings", field)
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s.%s: expected a string", field, k.Value)
		}
		m[k.Value] = v.Value
	}
	return m, nil
}

// seq returns the elements of a sequence node, or nil.
func seq(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}
