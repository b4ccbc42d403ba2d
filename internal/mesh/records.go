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
		w := keep(&rec.workloads, &m.Workloads, k, o)
		m.workloadsBy[id] = w
		w.link = rec.links.add(workloadLink{own: m})
		m.numberPods(rec, w)
	case *Service:
		m.servicesBy[id] = keep(&rec.services, &m.Services, k, o)
	case *IstioGateway:
		keep(&rec.igws, &m.IstioGateways, k, o)
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
		keep(&rec.pdbs, &m.PDBs, k, o)
	case *HPA:
		h := keep(&rec.hpas, &m.HPAs, k, o)
		m.hpaOf[id] = h
		m.hpaByTarget[hpaTarget(ID{Kind: h.TargetKind, Namespace: id.Namespace, Name: h.TargetName})] = h
	case *Binding:
		m.bindingOf[id] = keep(&rec.bindings, &m.Bindings, k, o)
	case *Role:
		m.roleOf[id] = keep(&rec.roles, &m.Roles, k, o)
	case *Namespace:
		m.nsByName[id.Name] = keep(&rec.namespaces, &m.Namespaces, k, o)
	}
}

// numberPods numbers the namespace and pod label pairs of a workload just
// added, and files it in the pod-label index.
func (m *Model) numberPods(rec *records, w *Workload) {
	l := w.link
	ns, ok := m.nsID[w.ID.Namespace]
	if !ok {
		ns = int32(len(m.podsByNS))
		m.nsID[w.ID.Namespace] = ns
		m.podsByNS = append(m.podsByNS, nil)
	}
	l.ns = ns
	m.podsByNS[ns] = append(m.podsByNS[ns], w)
	// Pairs are numbered in key order, so the numbers do not depend on map
	// iteration.
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
}

// record is a model record: a kind's facts bound to the model's Object.
type record[T any] interface {
	*T
	bind(*Object)
}

// keep copies the facts' record k into the slab, binds the copy to o and
// appends it to list; it returns the copy.
func keep[T any, P record[T]](s *slab[T], list *[]P, k P, o *Object) P {
	r := P(s.add(*k))
	r.bind(o)
	*list = append(*list, r)
	return r
}

func (r *Workload) bind(o *Object)     { r.Object = o }
func (r *Service) bind(o *Object)      { r.Object = o }
func (r *IstioGateway) bind(o *Object) { r.Object = o }
func (r *PDB) bind(o *Object)          { r.Object = o }
func (r *HPA) bind(o *Object)          { r.Object = o }
func (r *Binding) bind(o *Object)      { r.Object = o }
func (r *Role) bind(o *Object)         { r.Object = o }
func (r *Namespace) bind(o *Object)    { r.Object = o }
