// Package mesh is revshift's one domain model of a rendered Istio mesh.
//
// It reads a list of rendered objects (kyaml RNodes, as every KRM function
// and the verifier hold them) and answers the questions an upgrade step asks:
// which istiods run which revision, which Deployments are gateways and which
// istiod they talk to, which Services and Istio Gateway resources select which
// pods, which webhooks call which Services, which PDBs and HPAs govern which
// Deployments, and which objects reference which.
//
// Nothing else in revshift parses selectors, ports or webhooks: functions ask
// the model. The model never mutates the nodes it was built from; functions
// that edit a node rebuild the model when they need fresh answers.
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

// Object is one rendered object and its identity.
type Object struct {
	ID         ID
	APIVersion string
	Node       *yaml.RNode
	// Index is the object's position in the input list.
	Index int
}

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
	if n == nil || n.YNode() == nil || n.YNode().Kind != yaml.MappingNode {
		return nil, &IdentityError{Index: index, Field: "(object)", Msg: "not a YAML mapping"}
	}
	kind := stringField(n, "kind")
	apiVersion := stringField(n, "apiVersion")
	name := stringField(n, "metadata", "name")
	ns := stringField(n, "metadata", "namespace")
	switch {
	case kind == "":
		return nil, &IdentityError{Index: index, Field: "kind", Msg: fmt.Sprintf("missing (object %q)", name)}
	case apiVersion == "":
		return nil, &IdentityError{Index: index, Field: "apiVersion", Msg: fmt.Sprintf("missing (%s %q)", kind, name)}
	case name == "":
		return nil, &IdentityError{Index: index, Field: "metadata.name", Msg: fmt.Sprintf("missing (%s)", kind)}
	}
	return &Object{
		ID:         ID{Group: GroupOf(apiVersion), Kind: kind, Namespace: ns, Name: name},
		APIVersion: apiVersion,
		Node:       n,
		Index:      index,
	}, nil
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
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
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
