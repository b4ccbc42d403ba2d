package revtag

import (
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Put adds a generated object to items, or replaces the object of the same
// identity in m when it differs (keeping its pipeline bookkeeping
// annotations); an equal one is left alone, so a second run changes nothing.
// why ends the info result.
func Put(m *mesh.Model, items []*mesh.Item, n *yaml.RNode, res *krm.Results, why string) ([]*mesh.Item, error) {
	o, err := mesh.Identify(0, n)
	if err != nil {
		return nil, err
	}
	existing, ok := m.Get(o.ID)
	if !ok {
		res.Infof(o, "added %s: %s", o.ID, why)
		return append(items, mesh.NewItem(n)), nil
	}
	if mesh.SameObject(existing.Node(), n) {
		return items, nil
	}
	for k, v := range existing.Node().GetAnnotations() {
		if mesh.IsBookkeepingAnnotation(k) {
			if err := n.PipeE(yaml.SetAnnotation(k, v)); err != nil {
				return nil, err
			}
		}
	}
	existing.Node().SetYNode(n.YNode())
	res.Infof(existing, "replaced %s with %s", o.ID, why)
	return items, nil
}
