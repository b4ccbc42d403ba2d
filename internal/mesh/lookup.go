package mesh

import "sigs.k8s.io/kustomize/kyaml/yaml"

// Lookup walks mapping keys from a node (a document node is entered; an
// alias resolved): the field's value node, nil when a key is absent or a
// step is not a mapping.
func Lookup(n *yaml.Node, path ...string) *yaml.Node { return lookup(n, path...) }
