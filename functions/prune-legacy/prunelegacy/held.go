package prunelegacy

import (
	"fmt"

	"github.com/revshift/revshift/internal/mesh"
)

// applyHeld puts the target's version of every object both renders hold
// (carried by canary-control-plane, mesh.AnnotationHeldRender) into the
// desired state: once the running revision is gone, such an object is the
// target's, never deleted. Its running copy is then "present in the desired
// state" and is not pruned; a union of both revisions' roles or bindings
// that canary-control-plane emitted while both ran shrinks to the target's
// version. Any other desired object of that identity is a later step's
// planned edit (webhook-fix's) and stays.
func applyHeld(items []*mesh.Item, its []*item) ([]*item, error) {
	held, _, err := mesh.Carried(items, mesh.AnnotationHeldRender)
	if err != nil {
		return nil, err
	}
	if len(held) == 0 {
		return its, nil
	}
	at := map[mesh.ID]int{}
	oldAt := map[mesh.ID]int{}
	for i, it := range its {
		id := mesh.CanonicalID(it.obj.ID)
		if it.old {
			oldAt[id] = i
		} else {
			at[id] = i
		}
	}
	after := map[int][]*item{}
	var tail []*item
	for j, h := range held {
		o, err := mesh.IdentifyItem(len(items)+j, h)
		if err != nil {
			return nil, fmt.Errorf("held carrier: %v", err)
		}
		id := mesh.CanonicalID(o.ID)
		t := &item{node: h, obj: o}
		if i, ok := at[id]; ok {
			if mesh.IsRole(id) || mesh.IsBinding(id) {
				its[i] = t // the union shrinks to the target's version
			}
			continue
		}
		if i, ok := oldAt[id]; ok {
			after[i] = append(after[i], t)
			continue
		}
		tail = append(tail, t)
	}
	out := make([]*item, 0, len(its)+len(held))
	for i, it := range its {
		out = append(out, it)
		out = append(out, after[i]...)
	}
	return append(out, tail...), nil
}
