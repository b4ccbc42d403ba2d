package mesh

import (
	"sort"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Selection: which Services, PodDisruptionBudgets and Istio Gateway
// resources select which workloads. The relations are computed once per
// model, the first time one is asked, in both directions, and kept on the
// records' links: a record answers for the model it belongs to, so a
// question about another model's record cannot be asked. To ask a model
// about a selector from elsewhere (another model's Service, a PDB, a
// Gateway resource), pass the selector: WorkloadsSelectedBy,
// SelectsGateway, GatewaysProgrammedBy.
//
// The slices returned are the model's: read them, do not change them.

// Selected returns the workloads of the Service's model whose pods it
// selects, in input order. A Service's selector is a set of key=value
// pairs, which a pod matches when its labels carry every one
// (labels.SelectorFromSet(s.Selector).Matches).
func (s *Service) Selected() []*Workload { return s.link.related().selected }

// Selected returns the workloads of the PDB's model whose pods it selects,
// in input order.
func (p *PDB) Selected() []*Workload { return p.link.related().selected }

// Services returns the Services of the workload's model that select its
// pods, in input order: for a gateway, its production Services.
func (w *Workload) Services() []*Service { return w.related().services }

// PDBs returns the PDBs of the workload's model that select its pods, in
// input order.
func (w *Workload) PDBs() []*PDB { return w.related().pdbs }

// IstioGateways returns the Gateway resources of the workload's model that
// program its pods, in input order (see IstioGateway.Selects).
func (w *Workload) IstioGateways() []*IstioGateway { return w.related().igws }

// unlinked is the link of a record no model built: it selects, and is
// selected by, nothing.
var (
	unlinkedSel      selLink
	unlinkedWorkload workloadLink
)

// related returns the link once its model's relations are computed.
func (l *selLink) related() *selLink {
	if l == nil {
		return &unlinkedSel
	}
	l.own.relate()
	return l
}

func (w *Workload) related() *workloadLink {
	if w.link == nil {
		return &unlinkedWorkload
	}
	w.link.own.relate()
	return w.link
}

// relate computes the model's selection relations, once.
func (m *Model) relate() {
	m.related.Do(func() {
		m.relateServices()
		m.relatePDBs()
		m.relateIstioGateways()
	})
}

// Gateway returns the workload's Gateway record (nil when it is not a
// gateway).
func (w *Workload) Gateway() *Gateway {
	if w.link == nil {
		return nil
	}
	return w.link.gw
}

// Istiod returns the workload's Istiod record (nil when it is not an
// istiod).
func (w *Workload) Istiod() *Istiod {
	if w.link == nil {
		return nil
	}
	return w.link.istiod
}

// Istiods returns the istiods whose pods the Service selects.
func (s *Service) Istiods() []*Istiod {
	var out []*Istiod
	for _, w := range s.Selected() {
		if i := w.Istiod(); i != nil {
			out = append(out, i)
		}
	}
	return out
}

// ProductionServices returns the Services that select a gateway's pods,
// in input order: their addresses are what clients reach.
func (m *Model) ProductionServices() []*Service {
	prod := make([]bool, m.indexBound())
	for _, g := range m.Gateways {
		for _, s := range g.Services() {
			prod[s.Index] = true
		}
	}
	var out []*Service
	for _, s := range m.Services {
		if prod[s.Index] {
			out = append(out, s)
		}
	}
	return out
}

// relateServices links every Service to the workloads it selects, and back.
func (m *Model) relateServices() {
	for _, s := range m.Services {
		l := s.link
		if len(s.Selector) == 0 || l.none {
			continue
		}
		l.selected = clip(m.carrying(l.ns, l.ids))
		for _, w := range l.selected {
			w.link.services = append(w.link.services, s)
		}
	}
	for _, w := range m.Workloads {
		w.link.services = clip(w.link.services)
	}
}

// relatePDBs links every PDB to the workloads it selects, and back.
func (m *Model) relatePDBs() {
	for _, p := range m.PDBs {
		l := p.link
		if p.Selector == nil || !p.selectable || l.none {
			continue
		}
		var ws []*Workload
		for _, w := range m.candidatesOf(l.ns, l.ids) {
			if hasAll(w.link.pairs, l.ids) && (p.exact || l.rest.matches(w, p.Selector)) {
				ws = append(ws, w)
			}
		}
		l.selected = clip(ws)
		for _, w := range ws {
			w.link.pdbs = append(w.link.pdbs, p)
		}
	}
	for _, w := range m.Workloads {
		w.link.pdbs = clip(w.link.pdbs)
	}
}

// relateIstioGateways links every workload to the Gateway resources that
// program its pods. Each Gateway resource is filed under the rarest pair of
// its selector (the pair fewest Gateway resources share): Gateways that all
// carry istio=ingressgateway plus a pair of their own must not share one
// bucket, or every workload would be tested against all of them. A Gateway
// with an empty selector, or with a pair no pod of the model carries,
// selects no workload and is not filed.
func (m *Model) relateIstioGateways() {
	byPair := m.fileIstioGateways()
	for _, w := range m.Workloads {
		l := w.link
		var gs []*IstioGateway
		for _, p := range l.pairs {
			for _, g := range byPair[p] {
				if hasAll(l.pairs, g.link.ids) {
					gs = append(gs, g)
				}
			}
		}
		if len(gs) > 1 {
			sort.Slice(gs, func(i, j int) bool { return gs[i].Index < gs[j].Index })
		}
		l.igws = clip(gs)
	}
}

// fileIstioGateways files each Gateway resource under the rarest pair of
// its selector: pair number (Model.pairID) -> Gateway resources, in input
// order.
func (m *Model) fileIstioGateways() [][]*IstioGateway {
	byPair := make([][]*IstioGateway, len(m.pairID))
	count := make([]int32, len(m.pairID))
	for _, g := range m.IstioGateways {
		if !g.link.none {
			for _, p := range g.link.ids {
				count[p]++
			}
		}
	}
	for _, g := range m.IstioGateways {
		l := g.link
		if l.none || len(l.ids) == 0 {
			continue // selects nothing (see IstioGateway.Selects)
		}
		best := l.ids[0]
		for _, p := range l.ids[1:] {
			if count[p] < count[best] {
				best = p
			}
		}
		byPair[best] = append(byPair[best], g)
	}
	return byPair
}

// clip caps a slice at its length, so that a caller's append copies it
// instead of writing into the model's array.
func clip[T any](s []T) []T { return s[:len(s):len(s)] }

// carrying returns the workloads of namespace number ns whose pods carry
// every pair number of ids, in input order.
func (m *Model) carrying(ns int32, ids []int32) []*Workload {
	var out []*Workload
	for _, w := range m.candidatesOf(ns, ids) {
		if hasAll(w.link.pairs, ids) {
			out = append(out, w)
		}
	}
	return out
}

// WorkloadsSelectedBy returns the workloads of namespace ns whose pod
// template labels match sel, in input order: the question to ask a model
// about a selector from elsewhere (a Service of another model:
// WorkloadsSelectedBy(s.ID.Namespace, s.SelectorLabels())). A nil
// selector selects nothing.
func (m *Model) WorkloadsSelectedBy(ns string, sel labels.Selector) []*Workload {
	if sel == nil {
		return nil
	}
	pairs, exact, ok := selectorPairs(sel)
	if !ok {
		return nil
	}
	nsid, ids, none := m.resolve(nil, ns, pairs)
	if none {
		return nil
	}
	ws := m.carrying(nsid, ids)
	if exact {
		return ws
	}
	out := ws[:0]
	for _, w := range ws {
		if sel.Matches(labels.Set(w.PodLabels)) {
			out = append(out, w)
		}
	}
	return out
}

// SelectsGateway reports whether the Service, from any model, selects the
// pods of a gateway of this model: whether it is a production Service here.
func (m *Model) SelectsGateway(s *Service) bool {
	if len(s.Selector) == 0 {
		return false
	}
	nsid, ids, none := m.resolve(nil, s.ID.Namespace, s.selPairs)
	if none {
		return false
	}
	for _, w := range m.carrying(nsid, ids) {
		if w.Gateway() != nil {
			return true
		}
	}
	return false
}

// GatewaysProgrammedBy returns the gateways of this model whose pods an
// Istio Gateway resource of any model selects (any namespace; see
// IstioGateway.Selects), in input order.
func (m *Model) GatewaysProgrammedBy(g *IstioGateway) []*Gateway {
	if len(g.Selector) == 0 {
		return nil
	}
	_, ids, none := m.resolve(nil, "", sortedPairs(g.Selector))
	if none {
		return nil
	}
	var out []*Gateway
	for _, gw := range m.Gateways {
		if hasAll(gw.link.pairs, ids) {
			out = append(out, gw)
		}
	}
	return out
}

// selectorPairs returns the key=value pairs a selector requires (=, == and
// single-valued In), which the pod-label index can look up, and whether
// they are the whole selector (matchLabels only, or expressions that are
// all equalities): a pod then matches when its labels carry every pair. ok
// is false for a selector that selects nothing.
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
