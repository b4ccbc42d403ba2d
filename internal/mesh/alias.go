package mesh

import "sigs.k8s.io/kustomize/kyaml/yaml"

// FindAlias returns the first alias node under n, or n itself when it is
// absurdly deep (treated like an alias bomb): krm refuses a ResourceList
// with one as the entries of items are refused.
func FindAlias(n *yaml.Node) *yaml.Node { return findAlias(n, 0) }
