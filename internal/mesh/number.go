package mesh

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Numbering: the namespaces and pod label pairs of a model get small
// numbers as its workloads are added, and the selectors of its Services,
// PDBs and Gateway resources are written in those numbers once every
// workload is in (see the package doc, Performance). The numbers belong to
// the model: they are never compared across models.

// number gives the selectors of the model's Services, PDBs and Gateway
// resources the numbers of their namespace and pairs, once every workload
// is in (a selector pair no pod carries selects nothing here), and links
// each workload to its HPA.
func (m *Model) number(rec *records) {
	for _, s := range m.Services {
		l := rec.sels.add(selLink{own: m})
		l.ns, l.ids, l.none = m.resolve(rec, s.ID.Namespace, s.selPairs)
		s.link = l
	}
	for _, p := range m.PDBs {
		l := rec.sels.add(selLink{own: m})
		l.ns, l.ids, l.none = m.resolve(rec, p.ID.Namespace, p.indexPairs)
		if !p.exact && !l.none && p.selectable {
			var rest restSel
			rest, l.none = m.numberRest(p.Selector)
			l.rest = &rest
		}
		p.link = l
	}
	for _, g := range m.IstioGateways {
		l := rec.sels.add(selLink{own: m})
		_, l.ids, l.none = m.resolve(rec, "", sortedPairs(g.Selector))
		g.link = l
	}
	for _, w := range m.Workloads {
		w.link.hpa = m.hpaByTarget[hpaTarget(w.ID)]
	}
}

// resolve numbers a selector's namespace (ns "" for none) and pairs,
// sorted; none is true when the namespace has no workload or a pair is on
// no pod of the model: then the selector's pairs match no workload here.
// rec, when not nil, holds the numbers.
func (m *Model) resolve(rec *records, ns string, pairs []labelPair) (nsid int32, ids []int32, none bool) {
	if ns != "" {
		var ok bool
		if nsid, ok = m.nsID[ns]; !ok {
			return -1, nil, true
		}
	}
	if rec != nil {
		ids = rec.ids(len(pairs))
	} else {
		ids = make([]int32, 0, len(pairs))
	}
	for _, p := range pairs {
		id, ok := m.pairID[p]
		if !ok {
			return nsid, nil, true
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return nsid, ids, false
}

// numberRest numbers the requirements of sel that are not equality pairs
// (see restSel). none is true when an In requirement names no pair any pod
// of the model carries: nothing here matches.
func (m *Model) numberRest(sel labels.Selector) (r restSel, none bool) {
	reqs, _ := sel.Requirements()
	for _, q := range reqs {
		vals := q.Values().List()
		var ids []int32
		for _, v := range vals {
			if id, ok := m.pairID[labelPair{q.Key(), v}]; ok {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		switch q.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			if len(vals) == 1 {
				continue // an equality pair, numbered in idxIDs
			}
			if len(ids) == 0 {
				return restSel{}, true
			}
			r.anyOf = append(r.anyOf, ids)
		case selection.NotIn, selection.NotEquals:
			// A pair no pod carries excludes nothing.
			r.notAny = append(r.notAny, ids...)
		default:
			r.byLabels = true
		}
	}
	slices.Sort(r.notAny)
	return r, false
}

// nsPair is the podIdx key of a namespace and a pair number.
func nsPair(ns, pair int32) uint64 { return uint64(uint32(ns))<<32 | uint64(uint32(pair)) }

// hasAll reports whether the sorted numbers have include every one of want
// (sorted too).
func hasAll(have, want []int32) bool {
	i := 0
	for _, x := range want {
		for i < len(have) && have[i] < x {
			i++
		}
		if i == len(have) || have[i] != x {
			return false
		}
	}
	return true
}

// sortedPairs returns a label map's pairs sorted by key.
func sortedPairs(l map[string]string) []labelPair {
	out := make([]labelPair, 0, len(l))
	for k, v := range l {
		out = append(out, labelPair{k, v})
	}
	slices.SortFunc(out, func(a, b labelPair) int { return strings.Compare(a.k, b.k) })
	return out
}

// labelPair is a label key and value, as index keys: a struct, so that a
// lookup builds no string.
type labelPair struct{ k, v string }

// candidatesOf are the workloads of namespace number ns that may carry
// every pair number: the shortest index list among the pairs' (all of the
// namespace's workloads without pairs). The lists are in input order, so
// what is filtered out of them needs no sorting.
func (m *Model) candidatesOf(ns int32, ids []int32) []*Workload {
	if len(ids) == 0 {
		return m.podsByNS[ns]
	}
	best := m.podIdx[nsPair(ns, ids[0])]
	for _, p := range ids[1:] {
		if c := m.podIdx[nsPair(ns, p)]; len(c) < len(best) {
			best = c
		}
	}
	return best
}
