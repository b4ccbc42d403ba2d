package canarycontrolplane

import (
	"fmt"

	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// What canary-control-plane hands on to later steps: the target's version
// of the objects both renders hold (the held carrier), and what a previous
// run derived, given back so that a second run changes nothing.

// restoreRender gives back the new render a previous run was given, so that
// running the function on its own output changes nothing: the running
// objects it re-emitted are dropped (they are derived again from the
// running render), and the target's versions it carried in the held
// carrier take the place of the unions it emitted, or come back when it
// held them back.
func restoreRender(items []*mesh.Item, includeRunning bool) ([]*mesh.Item, error) {
	held, carriers, err := mesh.Carried(items, mesh.AnnotationHeldRender)
	if err != nil {
		return nil, err
	}
	byID := map[mesh.ID]*mesh.Item{}
	for i, it := range held {
		o, err := mesh.IdentifyItem(i, it)
		if err != nil {
			return nil, fmt.Errorf("held carrier: %v", err)
		}
		byID[o.ID] = it
	}
	isCarrier := map[*mesh.Item]bool{}
	for _, it := range carriers {
		isCarrier[it] = true
	}
	out := items[:0:0]
	for i, it := range items {
		if v, _ := it.Annotation(mesh.AnnotationState); (includeRunning && v == mesh.StateOld) || isCarrier[it] {
			continue
		}
		if o, err := mesh.IdentifyItem(i, it); err == nil && byID[o.ID] != nil {
			out = append(out, byID[o.ID])
			delete(byID, o.ID)
			continue
		}
		out = append(out, it)
	}
	for _, it := range held {
		if o, err := mesh.IdentifyItem(0, it); err == nil && byID[o.ID] != nil {
			out = append(out, it)
		}
	}
	return out, nil
}

// gatewayParts maps each part of every new-render gateway that replaces a
// running gateway of the same identity to that gateway.
func gatewayParts(newModel, running *mesh.Model) map[mesh.ID]*mesh.Gateway {
	out := map[mesh.ID]*mesh.Gateway{}
	for _, g := range newModel.Gateways {
		if w := running.Workload(g.ID); w == nil || w.Gateway() == nil {
			continue
		}
		for _, o := range newModel.GatewayParts(g) {
			out[o.ID] = g
		}
		for _, s := range g.Services() {
			out[s.ID] = g
		}
	}
	return out
}

func heldKey(n *yaml.RNode) string {
	return n.GetApiVersion() + "/" + n.GetKind() + "/" + n.GetNamespace() + "/" + n.GetName()
}

// heldVersion is a copy of the target's version of an object that the
// running render holds too, when prune-legacy must apply it at the prune:
// not a CRD (the newer definition is decided here), a webhook
// configuration (webhook-fix's), or a gateway part (migrated as a canary).
func (c *canary) heldVersion(o *mesh.Object) *yaml.RNode {
	if !c.running.Has(o.ID) || mesh.IsCRD(o.ID) || mesh.IsWebhookConfig(o.ID) || c.gatewayPart[o.ID] != nil {
		return nil
	}
	return o.Node().Copy()
}
