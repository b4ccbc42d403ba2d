package prunelegacy

import (
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// markOld wraps every object that is not a carrier yet into an OldObject
// carrier, in input order. kustomize refuses two resources with the same
// group/kind/namespace/name, and the old and new renders share many (CRDs,
// Namespaces, the default gateway, the validating webhook). A carrier is
// named after the object it wraps, so carriers never collide with the
// desired state, and kustomize's transformers leave the wrapped object
// alone: it reaches prune-legacy exactly as rendered.
func markOld(items []*mesh.Item, its []*item, res *krm.Results) ([]*mesh.Item, error) {
	out := make([]*mesh.Item, 0, len(items))
	wrapped := 0
	for i, it := range its {
		if it.carrier {
			out = append(out, items[i])
			continue
		}
		c, err := carrier(it.obj)
		if err != nil {
			return nil, err
		}
		out = append(out, mesh.NewItem(c))
		wrapped++
	}
	res.Infof(nil, "wrapped %d objects as old (%s carriers); %d were already wrapped", wrapped, CarrierKind, len(its)-wrapped)
	return out, nil
}

// CarrierName is the carrier's name for an identity: Kind[.group]_ns_name.
// "_" cannot occur in a kind, group, namespace or name, so distinct
// identities get distinct names.
func CarrierName(id mesh.ID) string {
	k := id.Kind
	if id.Group != "" {
		k += "." + id.Group
	}
	return k + "_" + id.Namespace + "_" + id.Name
}

func carrier(o *mesh.Object) (*yaml.RNode, error) {
	payload := yaml.NewRNode(o.Node().YNode())
	if err := stripToolAnnotations(payload); err != nil {
		return nil, err
	}
	c := yaml.NewMapRNode(nil)
	for _, f := range []struct{ k, v string }{{"apiVersion", krm.APIVersion}, {"kind", CarrierKind}} {
		if err := c.PipeE(yaml.SetField(f.k, yaml.NewStringRNode(f.v))); err != nil {
			return nil, err
		}
	}
	if err := c.SetName(CarrierName(o.ID)); err != nil {
		return nil, err
	}
	spec := yaml.NewMapRNode(nil)
	if err := spec.PipeE(yaml.SetField("object", payload)); err != nil {
		return nil, err
	}
	if err := c.PipeE(yaml.SetField("spec", spec)); err != nil {
		return nil, err
	}
	return c, nil
}

// stripToolAnnotations removes the bookkeeping annotations that kustomize
// and kpt put on the objects they hand to a function (ids, indexes, paths,
// previous names). Inside a carrier they would be stale, and kustomize
// matches a function's output to its input by them.
func stripToolAnnotations(n *yaml.RNode) error {
	meta := n.Field("metadata")
	if meta == nil {
		return nil
	}
	ann := meta.Value.Field("annotations")
	if ann == nil || ann.Value.YNode().Kind != yaml.MappingNode {
		return nil
	}
	y := ann.Value.YNode()
	kept := y.Content[:0]
	for i := 0; i+1 < len(y.Content); i += 2 {
		if toolAnnotation(y.Content[i].Value) {
			continue
		}
		kept = append(kept, y.Content[i], y.Content[i+1])
	}
	y.Content = kept
	if len(kept) == 0 {
		return meta.Value.PipeE(yaml.Clear("annotations"))
	}
	return nil
}

func toolAnnotation(k string) bool {
	switch k {
	case "config.kubernetes.io/index", "config.kubernetes.io/path", "config.k8s.io/id", "kustomize.config.k8s.io/id":
		return true
	}
	return strings.HasPrefix(k, "internal.config.kubernetes.io/")
}
