package revisiongateway

import (
	"fmt"
	"maps"
	"slices"

	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

type previewSvc struct {
	id   mesh.ID
	node *yaml.RNode
}

func previewSuffix(w *work) string {
	if w.Suffix != "" {
		return w.Suffix
	}
	return "-preview"
}

// preview builds the ClusterIP preview of production Service p: named as
// the new render names its copy of p, selecting only the canary's pods
// (its matchLabels), with p's ports (nodePorts dropped). An existing object
// of that name is rewritten when it is the new render's Service or an
// earlier preview; otherwise nil is returned.
func preview(m *mesh.Model, w *work, p *mesh.Service, n *mesh.Workload) (*previewSvc, bool, error) {
	id := mesh.ID{Kind: "Service", Namespace: p.ID.Namespace, Name: p.ID.Name + previewSuffix(w)}
	ml := n.MatchLabels()
	if len(ml) == 0 || w.discKey == "" || ml[w.discKey] != w.discValue {
		return nil, false, fmt.Errorf("%s: spec.selector.matchLabels do not tell the canary's pods from the running ones; a preview Service cannot select only them", n.ID)
	}
	node := yaml.NewMapRNode(nil)
	steps := []yaml.Filter{
		yaml.SetField("apiVersion", yaml.NewStringRNode("v1")),
		yaml.SetField("kind", yaml.NewStringRNode("Service")),
	}
	for _, s := range steps {
		if err := node.PipeE(s); err != nil {
			return nil, false, err
		}
	}
	if err := node.SetName(id.Name); err != nil {
		return nil, false, err
	}
	if err := node.SetNamespace(id.Namespace); err != nil {
		return nil, false, err
	}
	if l := p.Node().GetLabels(); len(l) > 0 {
		if err := node.SetLabels(l); err != nil {
			return nil, false, err
		}
	}
	if err := node.SetAnnotations(map[string]string{AnnotationPreviewOf: p.ID.Namespace + "/" + p.ID.Name}); err != nil {
		return nil, false, err
	}
	if err := setString(node, []string{"spec"}, "type", "ClusterIP"); err != nil {
		return nil, false, err
	}
	for _, k := range slices.Sorted(maps.Keys(ml)) {
		if err := setString(node, []string{"spec", "selector"}, k, ml[k]); err != nil {
			return nil, false, err
		}
	}
	ports, err := p.Node().Pipe(yaml.Lookup("spec", "ports"))
	if err != nil {
		return nil, false, err
	}
	if ports != nil {
		cp := ports.Copy()
		for _, e := range cp.Content() {
			if err := yaml.NewRNode(e).PipeE(yaml.Clear("nodePort")); err != nil {
				return nil, false, err
			}
		}
		if err := node.PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("ports", cp)); err != nil {
			return nil, false, err
		}
	}
	if existing, ok := m.Get(id); ok {
		if !contains(w.renderSvcs, id) && existing.Node().GetAnnotations()[AnnotationPreviewOf] == "" {
			return nil, false, nil
		}
		existing.Node().YNode().Content = node.YNode().Content
		return &previewSvc{id: id, node: existing.Node()}, false, nil
	}
	return &previewSvc{id: id, node: node}, true, nil
}
