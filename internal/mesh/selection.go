package mesh

import (
	"sort"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Indexed selection for callers that ask "who selects whom" for every object
// of a state (the verifier): each answer costs the size of the smallest
// candidate list in the pod-label index, not a scan of the namespace.

// equalityPairs returns the key=value pairs a selector requires (=, == and
// single-valued In), which the pod-label index can look up. ok is false for
// a selector that selects nothing.
func equalityPairs(sel labels.Selector) (pairs []labelPair, ok bool) {
	pairs, _, ok = selectorPairs(sel)
	return pairs, ok
}

// selectorPairs is equalityPairs, and whether the pairs are the whole
// selector (matchLabels only, or expressions that are all equalities): a
// pod then matches when its labels carry every pair.
func selectorPairs(sel labels.Selector) (pairs []labelPair, exact, ok bool) {
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil, false, false
	}
	exact = true
	for _, r := range reqs {
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			if vs := r.Values(); vs.Len() == 1 {
				pairs = append(pairs, labelPair{r.Key(), vs.List()[0]})
				continue
			}
		}
		exact = false
	}
	return pairs, exact, true
}

// newPDB reads a PDB's selector's equality pairs once, for the label index.
func newPDB(o *Object, sel labels.Selector) *PDB {
	p := &PDB{Object: o, Selector: sel}
	if sel != nil {
		p.indexPairs, p.exact, p.selectable = selectorPairs(sel)
	}
	return p
}

// WorkloadsSelectedBy returns the workloads of namespace ns whose pod
// template labels match sel, in input order. It gives the same answer as
// PDBSelected for a PDB's selector, using the label index.
func (m *Model) WorkloadsSelectedBy(ns string, sel labels.Selector) []*Workload {
	if sel == nil {
		return nil
	}
	pairs, ok := equalityPairs(sel)
	if !ok {
		return nil
	}
	return m.workloadsMatching(ns, sel, pairs)
}

// PDBIndex maps each workload to the PDBs that select its pods, built once
// per model (PDBsSelecting scans the namespace's PDBs per workload). Its
// tables are indexed by Object.Index: a lookup is an array access, not a
// hash of the pointer.
type PDBIndex struct {
	of       [][]*PDB
	selected [][]*Workload
	// pdbs and workloads are the model's, by Index, to tell a foreign
	// object (nil answers) from one of this model.
	pdbs      []*PDB
	workloads []*Workload
}

// NewPDBIndex indexes every PDB of the model.
func NewPDBIndex(m *Model) *PDBIndex {
	n := m.indexBound()
	x := &PDBIndex{of: make([][]*PDB, n), selected: make([][]*Workload, n), pdbs: make([]*PDB, n), workloads: make([]*Workload, n)}
	for _, w := range m.Workloads {
		x.workloads[w.Index] = w
	}
	for _, p := range m.PDBs {
		x.pdbs[p.Index] = p
		if p.Selector == nil || !p.selectable {
			continue
		}
		var ws []*Workload
		if l := p.link.of(m); l != nil {
			if l.none {
				continue
			}
			for _, w := range m.candidatesOf(l.ns, l.ids) {
				if hasAll(w.link.pairs, l.ids) && (p.exact || l.rest != nil && l.rest.matches(w.link.pairs) &&
					(!l.rest.byLabels || p.Selector.Matches(labels.Set(w.PodLabels)))) {
					ws = append(ws, w)
				}
			}
		} else {
			ws = m.workloadsMatching(p.ID.Namespace, p.Selector, p.indexPairs)
		}
		x.selected[p.Index] = ws
		for _, w := range ws {
			x.of[w.Index] = append(x.of[w.Index], p)
		}
	}
	return x
}

// Selecting returns the PDBs that select the workload's pods, in input
// order (as PDBsSelecting).
func (x *PDBIndex) Selecting(w *Workload) []*PDB {
	if w.Index < 0 || w.Index >= len(x.workloads) || x.workloads[w.Index] != w {
		return nil
	}
	return x.of[w.Index]
}

// Selected returns the workloads a PDB selects, in input order (as
// PDBSelected).
func (x *PDBIndex) Selected(p *PDB) []*Workload {
	if p.Index < 0 || p.Index >= len(x.pdbs) || x.pdbs[p.Index] != p {
		return nil
	}
	return x.selected[p.Index]
}

// IstioGatewayIndex answers IstioGatewaysSelecting for many workloads
// without testing every Gateway resource against every workload: each
// Gateway resource is filed under one of its selector's label pairs, so a
// workload only meets the Gateways filed under one of its own pod labels.
type IstioGatewayIndex struct {
	m *Model
	// byPair: pair number (Model.pairID) -> the Gateway resources filed
	// under it, in input order.
	byPair [][]*IstioGateway
}

// NewIstioGatewayIndex indexes the model's Istio Gateway resources. Each is
// filed under the rarest pair of its selector (the pair fewest Gateway
// resources share): Gateways that all carry istio=ingressgateway plus a pair
// of their own must not share one bucket, or every workload would be tested
// against all of them. A Gateway with an empty selector, or with a pair no
// pod of the model carries, selects none of its workloads and is not filed.
func NewIstioGatewayIndex(m *Model) *IstioGatewayIndex {
	x := &IstioGatewayIndex{m: m, byPair: make([][]*IstioGateway, len(m.pairID))}
	count := make([]int32, len(m.pairID))
	for _, g := range m.IstioGateways {
		if l := g.link.of(m); l != nil && !l.none {
			for _, p := range l.ids {
				count[p]++
			}
		}
	}
	for _, g := range m.IstioGateways {
		l := g.link.of(m)
		if l == nil || l.none || len(l.ids) == 0 {
			continue // selects nothing (see IstioGateway.Selects)
		}
		best := l.ids[0]
		for _, p := range l.ids[1:] {
			if count[p] < count[best] {
				best = p
			}
		}
		x.byPair[best] = append(x.byPair[best], g)
	}
	return x
}

// Selecting returns the Gateway resources that program the workload's pods,
// in input order: the same answer as Model.IstioGatewaysSelecting.
func (x *IstioGatewayIndex) Selecting(w *Workload) []*IstioGateway {
	var out []*IstioGateway
	if l := w.of(x.m); l != nil {
		for _, p := range l.pairs {
			for _, g := range x.byPair[p] {
				if hasAll(l.pairs, g.link.ids) {
					out = append(out, g)
				}
			}
		}
	} else {
		// A workload of another model: its labels' numbers here.
		for k, v := range w.PodLabels {
			if p, ok := x.m.pairID[labelPair{k, v}]; ok {
				for _, g := range x.byPair[p] {
					if g.Selects(w) {
						out = append(out, g)
					}
				}
			}
		}
	}
	if len(out) > 1 {
		sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	}
	return out
}

// AddressService names the Service a control-plane address dials, e.g.
// "istiod.istio-system.svc:15012" -> Service/istio-system/istiod; a bare
// name resolves in fromNS. ok is false for an address that names no cluster
// Service.
func AddressService(addr, fromNS string) (ID, bool) {
	ns, name, ok := hostService(addr, fromNS)
	if !ok {
		return ID{}, false
	}
	return ID{Kind: "Service", Namespace: ns, Name: name}, true
}
