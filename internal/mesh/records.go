package mesh

import "slices"

// records are the slabs a model's records are allocated from.
type records struct {
	workloads  slab[Workload]
	services   slab[Service]
	igws       slab[IstioGateway]
	pdbs       slab[PDB]
	hpas       slab[HPA]
	bindings   slab[Binding]
	roles      slab[Role]
	namespaces slab[Namespace]
	istiods    slab[Istiod]
	gateways   slab[Gateway]
	links      slab[workloadLink]
	sels       slab[selLink]
	// nums holds the records' pair numbers.
	nums []int32
}

// ids returns an empty slice with room for n numbers, cut from the
// records' number chunk (its capacity is n, so appending past n
// reallocates instead of overwriting a neighbour's numbers).
func (r *records) ids(n int) []int32 {
	if n == 0 {
		return nil
	}
	if cap(r.nums)-len(r.nums) < n {
		r.nums = make([]int32, 0, max(4096, n))
	}
	start := len(r.nums)
	r.nums = r.nums[:start+n]
	return r.nums[start : start : start+n]
}

// newRecords sizes the slabs for the kinds of fs.
func newRecords(fs []*facts) *records {
	var n [8]int
	for _, f := range fs {
		switch f.kind.(type) {
		case *Workload:
			n[0]++
		case *Service:
			n[1]++
		case *IstioGateway:
			n[2]++
		case *PDB:
			n[3]++
		case *HPA:
			n[4]++
		case *Binding:
			n[5]++
		case *Namespace:
			n[6]++
		case *Role:
			n[7]++
		}
	}
	return &records{
		workloads: newSlab[Workload](n[0]), services: newSlab[Service](n[1]), igws: newSlab[IstioGateway](n[2]),
		pdbs: newSlab[PDB](n[3]), hpas: newSlab[HPA](n[4]), bindings: newSlab[Binding](n[5]), namespaces: newSlab[Namespace](n[6]),
		roles:   newSlab[Role](n[7]),
		istiods: newSlab[Istiod](8), gateways: newSlab[Gateway](n[0] / 4), links: newSlab[workloadLink](n[0]), sels: newSlab[selLink](n[1] + n[2] + n[3]),
	}
}

// add indexes an object's kind facts, bound to o (the facts are shared by
// every model built from the same item, and never changed).
func (m *Model) add(rec *records, o *Object, kind any) {
	id := o.ID
	switch k := kind.(type) {
	case *Workload:
		w := rec.workloads.add(*k)
		w.Object = o
		m.Workloads = append(m.Workloads, w)
		m.workloadsBy[id] = w
		l := rec.links.add(workloadLink{own: m})
		w.link = l
		ns, ok := m.nsID[id.Namespace]
		if !ok {
			ns = int32(len(m.podsByNS))
			m.nsID[id.Namespace] = ns
			m.podsByNS = append(m.podsByNS, nil)
		}
		l.ns = ns
		m.podsByNS[ns] = append(m.podsByNS[ns], w)
		// Pairs are numbered in key order, so the numbers do not depend
		// on map iteration.
		l.pairs = rec.ids(len(w.PodLabels))
		for _, p := range sortedPairs(w.PodLabels) {
			n, ok := m.pairID[p]
			if !ok {
				n = int32(len(m.pairID))
				m.pairID[p] = n
			}
			l.pairs = append(l.pairs, n)
			m.podIdx[nsPair(ns, n)] = append(m.podIdx[nsPair(ns, n)], w)
		}
		slices.Sort(l.pairs)
	case *Service:
		s := rec.services.add(*k)
		s.Object = o
		m.Services = append(m.Services, s)
		m.servicesBy[id] = s
	case *IstioGateway:
		g := rec.igws.add(*k)
		g.Object = o
		m.IstioGateways = append(m.IstioGateways, g)
	case []*Webhook:
		hs := make([]*Webhook, len(k))
		for i, h := range k {
			c := *h
			c.Config = o
			hs[i] = &c
		}
		m.Webhooks = append(m.Webhooks, hs...)
		m.webhooksOf[id] = hs
	case *PDB:
		p := rec.pdbs.add(*k)
		p.Object = o
		m.PDBs = append(m.PDBs, p)
	case *HPA:
		h := rec.hpas.add(*k)
		h.Object = o
		m.HPAs = append(m.HPAs, h)
		m.hpaOf[id] = h
		m.hpaByTarget[hpaTarget(ID{Kind: h.TargetKind, Namespace: id.Namespace, Name: h.TargetName})] = h
	case *Binding:
		b := rec.bindings.add(*k)
		b.Object = o
		m.Bindings = append(m.Bindings, b)
		m.bindingOf[id] = b
	case *Role:
		r := rec.roles.add(*k)
		r.Object = o
		m.Roles = append(m.Roles, r)
		m.roleOf[id] = r
	case *Namespace:
		n := rec.namespaces.add(*k)
		n.Object = o
		m.Namespaces = append(m.Namespaces, n)
		m.nsByName[id.Name] = n
	}
}
