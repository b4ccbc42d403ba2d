package verify

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

// RS023 (invariant 6, a trap): a step that repoints Service
// istio-system/istiod at the new revision's istiod moves every running
// gateway that dials istiod.istio-system.svc to the new control plane in
// place, outside its own canary step. A gateway that runs in both states
// keeps reaching, through each control-plane address it dials in both,
// every running istiod it reached before.
func ruleGatewayControlPlane(t *transCtx) {
	var prevBuf, nextBuf [3]mesh.ControlPlaneLink
	for _, g := range t.next.m.Gateways {
		if !t.next.running(g.Workload) {
			continue
		}
		pg := t.runningBefore(g)
		if pg == nil {
			continue
		}
		nextLinks := t.next.m.ControlPlaneLinks(nextBuf[:0], g)
		for _, pl := range t.prev.m.ControlPlaneLinks(prevBuf[:0], pg) {
			if pl.Service == nil {
				continue // absent before: RS007
			}
			nl := t.sameLink(pl, nextLinks)
			if nl == nil {
				continue // the gateway dials elsewhere now: RS019
			}
			before := t.prev.reachedIstiods(pl.Service)
			after := t.next.reachedIstiods(nl.Service)
			var lost []*mesh.Istiod
			for _, i := range before {
				if !t.next.holds(t.prev, i.Workload, after) {
					lost = append(lost, i)
				}
			}
			if len(lost) == 0 {
				continue
			}
			t.add(Error, append([]mesh.ID{g.ID, pl.To}, istiodIDs(lost)...),
				fmt.Sprintf("keep %s selecting the istiod of revision %s until gateway %s has shifted to its canary (order the webhook-continuity step after the gateway shifts)", pl.To, lost[0].Revision, g.ID),
				"running gateway %s dials %s (%s %s): it reached %s and now reaches %s, so its proxies move to another control plane in place, outside the gateway's canary step",
				g.ID, pl.To, pl.Why, pl.Address, istiodList(before), istiodList(after))
		}
	}
}

// sameLink returns the link of next that dials, for the same purpose, the
// Service (of prev) pl dials; nil when none does.
func (t *transCtx) sameLink(pl mesh.ControlPlaneLink, next []mesh.ControlPlaneLink) *mesh.ControlPlaneLink {
	k := t.next.find(t.prev, pl.Service.Object)
	for i := range next {
		nl := &next[i]
		if nl.Why != pl.Why {
			continue
		}
		if nl.Service != nil && nl.Service.Index == k {
			return nl
		}
		if nl.Service == nil && nl.To == pl.To {
			return nl // the Service is gone: it reaches nothing now
		}
	}
	return nil
}

// reachedIstiods are the running istiods a Service of this view selects,
// computed once per Service (gateways share their istiod's Service).
func (v *view) reachedIstiods(s *mesh.Service) []*mesh.Istiod {
	if s == nil {
		return nil
	}
	if !v.own(s.Object) {
		return v.reachIstiods(s)
	}
	if v.reached == nil {
		v.reached = make(map[int][]*mesh.Istiod)
	}
	is, ok := v.reached[s.Index]
	if !ok {
		is = v.reachIstiods(s)
		v.reached[s.Index] = is
	}
	return is
}

func (v *view) reachIstiods(s *mesh.Service) []*mesh.Istiod {
	var out []*mesh.Istiod
	for _, w := range s.Selected() {
		if i := w.Istiod(); i != nil && v.running(w) {
			out = append(out, i)
		}
	}
	return out
}

// holds reports whether one of is, of this view, has the identity of the
// workload w of view from.
func (v *view) holds(from *view, w *mesh.Workload, is []*mesh.Istiod) bool {
	k := v.find(from, w.Object)
	for _, i := range is {
		if k >= 0 && i.Index == k {
			return true
		}
	}
	return false
}

func istiodIDs(is []*mesh.Istiod) []mesh.ID {
	out := make([]mesh.ID, len(is))
	for i, x := range is {
		out[i] = x.ID
	}
	return out
}

func istiodList(is []*mesh.Istiod) string {
	if len(is) == 0 {
		return "no running istiod"
	}
	parts := make([]string, len(is))
	for i, x := range is {
		parts[i] = fmt.Sprintf("%s (revision %s)", x.ID, x.Revision)
	}
	return strings.Join(parts, ", ")
}
