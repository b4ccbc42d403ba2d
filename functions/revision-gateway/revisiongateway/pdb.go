package revisiongateway

import (
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

type pdbResult struct {
	created []*yaml.RNode
	canary  []*yaml.RNode
}

// fixPDBs (invariant 7): the canary gets one PDB that selects exactly its
// pods; no other PDB selects them.
func fixPDBs(m *mesh.Model, w *work, o, n *mesh.Workload, res *krm.Results) (pdbResult, error) {
	var r pdbResult
	ns := n.ID.Namespace
	canaryID := mesh.ID{Group: "policy", Kind: "PodDisruptionBudget", Namespace: ns, Name: n.ID.Name}
	oldPDBs := o.PDBs()
	named, hasNamed := m.Get(mesh.ID{Group: "policy", Kind: "PodDisruptionBudget", Namespace: ns, Name: o.ID.Name})
	if len(oldPDBs) == 0 && hasNamed && pdbEmpty(m, named.ID) && w.discKey != "" {
		// The running gateway's own PDB selects no pod at all (the 1.5 and
		// 1.6 charts add release: istio, which the pods do not carry): give
		// it the running gateway's selector, without the canary's pods, so
		// that both pod sets keep a budget during the canary (invariant 7).
		cur, _ := named.Node().Pipe(yaml.Lookup("spec", "selector"))
		was := "(none)"
		if cur != nil {
			was = flow(cur.YNode())
		}
		osel := yaml.NewRNode(o.SelectorNode()).Copy()
		expr, err := notIn(w.discKey, w.discValue)
		if err != nil {
			return r, err
		}
		if err := osel.PipeE(yaml.LookupCreate(yaml.SequenceNode, "matchExpressions"), yaml.Append(expr.YNode())); err != nil {
			return r, err
		}
		if err := named.Node().PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("selector", osel)); err != nil {
			return r, err
		}
		res.Infof(named, "%s selected no pod (spec.selector %s asks for labels the pods of %s do not carry); it now selects the pods of %s and not the canary's (spec.selector %s), so that both keep a budget (invariant 7)", named.ID, was, o.ID, o.ID, flow(osel.YNode()))
	}
	sel := yaml.NewRNode(n.SelectorNode()).Copy()
	if existing, ok := m.Get(canaryID); ok {
		cur, _ := existing.Node().Pipe(yaml.Lookup("spec", "selector"))
		var curNode *yaml.Node
		if cur != nil {
			curNode = cur.YNode()
		}
		if was := flow(curNode); was != flow(sel.YNode()) {
			if err := existing.Node().PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("selector", sel)); err != nil {
				return r, err
			}
			res.Infof(existing, "%s now selects exactly the pods of canary %s (spec.selector %s, was %s)", canaryID, n.ID, flow(sel.YNode()), was)
		}
		r.canary = append(r.canary, existing.Node())
	} else {
		var tmpl *mesh.Object
		if len(oldPDBs) > 0 {
			tmpl = oldPDBs[0].Object
		} else if hasNamed {
			tmpl = named
		}
		if tmpl != nil {
			p, err := newPDB(tmpl, canaryID, sel)
			if err != nil {
				return r, err
			}
			r.created = append(r.created, p)
			r.canary = append(r.canary, p)
			res.Infof(&mesh.Object{APIVersion: tmpl.APIVersion, ID: canaryID}, "created %s for canary %s, with the budget of %s and spec.selector %s", canaryID, n.ID, tmpl.ID, flow(sel.YNode()))
		}
	}
	for _, p := range n.PDBs() {
		if p.ID == canaryID {
			continue
		}
		if w.discKey == "" {
			res.Errorf(p.Object, "%s also selects the pods of canary %s and no label tells them apart to narrow it (a pod selected by two PDBs cannot be evicted: istio/istio#23075)", p.ID, n.ID)
			w.failed = true
			continue
		}
		expr, err := notIn(w.discKey, w.discValue)
		if err != nil {
			return r, err
		}
		if err := p.Node().PipeE(yaml.LookupCreate(yaml.SequenceNode, "spec", "selector", "matchExpressions"), yaml.Append(expr.YNode())); err != nil {
			return r, err
		}
		res.Infof(p.Object, "narrowed %s with matchExpressions {key: %s, operator: NotIn, values: [%s]} so that it no longer selects the pods of canary %s, which %s covers (a pod selected by two PDBs cannot be evicted: istio/istio#23075)", p.ID, w.discKey, w.discValue, n.ID, canaryID)
	}
	return r, nil
}

func newPDB(tmpl *mesh.Object, id mesh.ID, sel *yaml.RNode) (*yaml.RNode, error) {
	n := yaml.NewMapRNode(nil)
	for _, f := range []yaml.Filter{
		yaml.SetField("apiVersion", yaml.NewStringRNode(tmpl.APIVersion)),
		yaml.SetField("kind", yaml.NewStringRNode("PodDisruptionBudget")),
	} {
		if err := n.PipeE(f); err != nil {
			return nil, err
		}
	}
	if err := n.SetName(id.Name); err != nil {
		return nil, err
	}
	if err := n.SetNamespace(id.Namespace); err != nil {
		return nil, err
	}
	if l := tmpl.Node().GetLabels(); len(l) > 0 {
		if err := n.SetLabels(l); err != nil {
			return nil, err
		}
	}
	for _, f := range []string{"minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy"} {
		if v, _ := tmpl.Node().Pipe(yaml.Lookup("spec", f)); v != nil {
			if err := n.PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField(f, v.Copy())); err != nil {
				return nil, err
			}
		}
	}
	return n, n.PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("selector", sel))
}

// notIn is the selector requirement {key: k, operator: NotIn, values: [v]},
// fields in that order.
func notIn(k, v string) (*yaml.RNode, error) {
	n := yaml.NewMapRNode(nil)
	for _, f := range []yaml.Filter{
		yaml.SetField("key", yaml.NewStringRNode(k)),
		yaml.SetField("operator", yaml.NewStringRNode("NotIn")),
		yaml.SetField("values", yaml.NewListRNode(v)),
	} {
		if err := n.PipeE(f); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// pdbEmpty reports whether the PDB id selects no workload at all.
func pdbEmpty(m *mesh.Model, id mesh.ID) bool {
	for _, p := range m.PDBs {
		if p.ID == id {
			return len(p.Selected()) == 0
		}
	}
	return false
}
