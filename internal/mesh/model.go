package mesh

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Model is a rendered mesh, indexed. Build it with Build; it is read-only.
type Model struct {
	Objects []*Object

	Workloads     []*Workload
	Services      []*Service
	IstioGateways []*IstioGateway
	Webhooks      []*Webhook
	PDBs          []*PDB
	HPAs          []*HPA
	Bindings      []*Binding
	Roles         []*Role
	Namespaces    []*Namespace
	// Istiods are the control-plane Deployments, Gateways the Deployments
	// that run the Istio proxy as a router.
	Istiods  []*Istiod
	Gateways []*Gateway

	byID        map[ID]*Object
	workloadsBy map[ID]*Workload
	servicesBy  map[ID]*Service
	// Namespaces and pod label pairs are numbered as workloads are added
	// (nsID, pairID), and the records of this model carry their numbers:
	// selection then compares small integers instead of hashing and
	// comparing label strings scattered over the heap, which on 10k objects
	// cost a cache miss each, state after state in the verifier.
	nsID   map[string]int32
	pairID map[labelPair]int32
	// podIdx: (namespace, pod label pair) -> workloads whose pod labels
	// carry that pair, in input order. Selectors are matched against the
	// smallest candidate list, so selection is linear in the number of
	// objects, not quadratic. podsByNS: namespace number -> workloads.
	podIdx   map[uint64][]*Workload
	podsByNS [][]*Workload
	refsTo   map[ID][]Reference
	// Per-object and per-namespace indexes, so every lookup is O(1) or
	// O(objects in the namespace).
	bindingOf    map[ID]*Binding
	roleOf       map[ID]*Role
	authz        authzIndex
	hpaOf        map[ID]*HPA
	hpaByTarget  map[ID]*HPA
	webhooksOf   map[ID][]*Webhook
	servicesByNS map[string][]*Service
	pdbsByNS     map[string][]*PDB
	nsByName     map[string]*Namespace
	igwOnce      sync.Once
	igwIndex     *IstioGatewayIndex
	gwPairsOnce  sync.Once
	gwByPair     map[labelPair][]*Gateway
}

// ObjectError is an error in one object, naming the field at fault.
type ObjectError struct {
	ID  ID
	Err error
}

func (e *ObjectError) Error() string { return e.ID.String() + ": " + e.Err.Error() }
func (e *ObjectError) Unwrap() error { return e.Err }

// DuplicateError reports two objects with the same identity.
type DuplicateError struct {
	ID            ID
	First, Second int
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("duplicate object %s: items[%d] and items[%d] have the same group/kind/namespace/name", e.ID, e.First, e.Second)
}

// Build indexes the given nodes. Every malformed object is reported (joined
// errors, each naming the object and the field); the model is returned only
// when there is none.
func Build(nodes []*yaml.RNode) (*Model, error) { return BuildItems(NewItems(nodes)) }

// BuildItems is Build over items: the facts of an item that was never
// materialized were read when it was parsed and are not read again, so a
// function that rebuilds its model after an edit pays only for the objects
// it touched.
func BuildItems(items []*Item) (*Model, error) {
	m := &Model{
		byID:         make(map[ID]*Object, len(items)),
		workloadsBy:  map[ID]*Workload{},
		servicesBy:   map[ID]*Service{},
		nsID:         map[string]int32{},
		pairID:       map[labelPair]int32{},
		podIdx:       map[uint64][]*Workload{},
		bindingOf:    map[ID]*Binding{},
		roleOf:       map[ID]*Role{},
		hpaOf:        map[ID]*HPA{},
		hpaByTarget:  map[ID]*HPA{},
		webhooksOf:   map[ID][]*Webhook{},
		servicesByNS: map[string][]*Service{},
		pdbsByNS:     map[string][]*PDB{},
		nsByName:     map[string]*Namespace{},
	}
	m.Objects = make([]*Object, 0, len(items))
	// Facts cached on text items were packed when the items were read
	// (PackItems); facts read afresh from nodes are packed for this model.
	fs := make([]*facts, len(items))
	fresh := make([]*facts, len(items))
	for i, it := range items {
		cached := it.facts != nil
		fs[i] = it.factsOf()
		if !cached && it.facts == nil {
			fresh[i] = fs[i]
		}
	}
	packIDs(fresh)
	objs := make([]Object, len(items))
	rec := newRecords(fs)
	var errs []error
	for i, it := range items {
		f := fs[i]
		if f.idErr != nil {
			e := *f.idErr
			e.Index = i
			errs = append(errs, &e)
			continue
		}
		o := &objs[i]
		*o = Object{ID: f.obj.ID, APIVersion: f.obj.APIVersion, Index: i, item: it}
		if prev, dup := m.byID[o.ID]; dup {
			errs = append(errs, &DuplicateError{ID: o.ID, First: prev.Index, Second: i})
			continue
		}
		m.byID[o.ID] = o
		m.Objects = append(m.Objects, o)
		if f.err != nil {
			errs = append(errs, &ObjectError{ID: o.ID, Err: f.err})
			continue
		}
		m.add(rec, o, f.kind)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m.number(rec)
	m.classify(rec)
	m.linkGateways()
	return m, nil
}

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

// PackItems packs the identities in the facts of items read as text into
// one string (see packIDs); krm does it once per ResourceList.
func PackItems(items []*Item) {
	fs := make([]*facts, 0, len(items))
	for _, it := range items {
		if it.facts != nil {
			fs = append(fs, it.facts)
		}
	}
	packIDs(fs)
}

// packIDs rewrites the identities of facts (nil entries skipped) as slices
// of one string, in order: the model's lookups hash and compare identities
// over and over, and strings left where the YAML parser allocated them are
// scattered over the heap (on 10k objects, cache misses made every lookup
// about twice as slow as on 1k). The facts' kinds share f.obj, so they
// follow.
func packIDs(fs []*facts) {
	total := 0
	for _, f := range fs {
		if f != nil && f.obj != nil {
			id := f.obj.ID
			total += len(id.Group) + len(id.Kind) + len(id.Namespace) + len(id.Name) + len(f.obj.APIVersion)
		}
	}
	var b strings.Builder
	b.Grow(total)
	for _, f := range fs {
		if f != nil && f.obj != nil {
			id := f.obj.ID
			b.WriteString(id.Group)
			b.WriteString(id.Kind)
			b.WriteString(id.Namespace)
			b.WriteString(id.Name)
			b.WriteString(f.obj.APIVersion)
		}
	}
	arena, off := b.String(), 0
	next := func(n int) string {
		s := arena[off : off+n]
		off += n
		return s
	}
	for _, f := range fs {
		if f != nil && f.obj != nil {
			id := f.obj.ID
			f.obj.ID = ID{Group: next(len(id.Group)), Kind: next(len(id.Kind)), Namespace: next(len(id.Namespace)), Name: next(len(id.Name))}
			f.obj.APIVersion = next(len(f.obj.APIVersion))
		}
	}
}

// labelPair is a label key and value, as index keys: a struct, so that a
// lookup builds no string.
type labelPair struct{ k, v string }

// facts are what Build reads from one object, whatever its position in a
// list: its identity and its kind's parsed fields (a *Workload, *Service,
// ... whose Object is a placeholder until Build binds it).
type facts struct {
	// obj is the placeholder the kind's facts point to; it holds the
	// identity and no item.
	obj   *Object
	idErr *IdentityError
	kind  any
	err   error
	// marks are the object's own revshift.dev/ labels ("l:"+key) and
	// annotations ("a:"+key): functions look them up on every object.
	marks map[string]string
}

func readFacts(n *yaml.RNode) *facts {
	id, apiVersion, err := identify(n)
	if err != nil {
		return &facts{idErr: err}
	}
	// The placeholder holds no node: facts outlive the parse of the text
	// they were read from, the tree must not.
	f := &facts{obj: &Object{ID: id, APIVersion: apiVersion}, marks: readMarks(n.YNode())}
	f.kind, f.err = parseKind(f.obj, n.YNode())
	return f
}

// markPrefix is the prefix of the labels and annotations an item's facts
// keep, besides the few others functions and the verifier read on every
// object (factKey).
const markPrefix = "revshift.dev/"

// factKeys are the labels ("l:") and annotations ("a:") other than
// revshift.dev/ ones that an item's facts keep.
var factKeys = map[string]bool{
	"a:" + AnnotationSyncWave:    true,
	"a:" + AnnotationSyncOptions: true,
	"a:" + AnnotationDependsOn:   true,
	"a:" + AnnotationLocalConfig: true,
	// kustomize's record of a renamed object (revision-gateway refuses a
	// canary renamed next to the running render: kubernetes-sigs/kustomize#5856).
	"a:internal.config.kubernetes.io/previousNames":      true,
	"a:internal.config.kubernetes.io/previousNamespaces": true,
	// Flux's prune protection, which prune-legacy sets next to Argo CD's
	// sync-options (an annotation in the facts can be written as text).
	"a:kustomize.toolkit.fluxcd.io/prune": true,
	"l:" + LabelRev:                       true,
}

// factKey reports whether an item's facts hold the label or annotation
// (tag "l:" or "a:").
func factKey(tag, key string) bool {
	return strings.HasPrefix(key, markPrefix) || factKeys[tag+key]
}

func readMarks(y *yaml.Node) map[string]string {
	var out map[string]string
	for _, f := range []struct{ field, tag string }{{"labels", "l:"}, {"annotations", "a:"}} {
		m := lookup(y, "metadata", f.field)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := m.Content[i].Value; factKey(f.tag, k) && m.Content[i+1].Kind == yaml.ScalarNode {
				if out == nil {
					out = map[string]string{}
				}
				out[f.tag+k] = m.Content[i+1].Value
			}
		}
	}
	return out
}

// parseKind reads the fields the model indexes for the object's kind (nil
// for kinds it does not index).
func parseKind(o *Object, y *yaml.Node) (any, error) {
	id := o.ID
	switch {
	case isWorkloadKind(id):
		return parseWorkload(o, y)
	case id.Group == "" && id.Kind == "Service":
		return parseService(o, y)
	case id.Group == "networking.istio.io" && id.Kind == "Gateway":
		return parseIstioGateway(o, y)
	case id.Group == "admissionregistration.k8s.io" && (id.Kind == "ValidatingWebhookConfiguration" || id.Kind == "MutatingWebhookConfiguration"):
		return parseWebhooks(o, y)
	case id.Group == "policy" && id.Kind == "PodDisruptionBudget":
		sel, err := parseLabelSelector(lookup(y, "spec", "selector"), "spec.selector")
		if err != nil {
			return nil, err
		}
		return newPDB(o, sel), nil
	case id.Group == "autoscaling" && id.Kind == "HorizontalPodAutoscaler":
		return parseHPA(o, y)
	case IsBinding(id):
		return parseBinding(o, y)
	case IsRole(id):
		return parseRole(o, y)
	case id.Group == "" && id.Kind == "Namespace":
		l, err := stringMap(lookup(y, "metadata", "labels"), "metadata.labels")
		if err != nil {
			return nil, err
		}
		return &Namespace{Object: o, Labels: l}, nil
	}
	return nil, nil
}

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
		m.servicesByNS[id.Namespace] = append(m.servicesByNS[id.Namespace], s)
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
		m.pdbsByNS[id.Namespace] = append(m.pdbsByNS[id.Namespace], p)
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

// Get returns the object with the given identity.
func (m *Model) Get(id ID) (*Object, bool) {
	o, ok := m.byID[id]
	return o, ok
}

// Has reports whether an object with the identity is present.
func (m *Model) Has(id ID) bool { _, ok := m.byID[id]; return ok }

// Workload returns the Deployment/StatefulSet/DaemonSet with the identity.
func (m *Model) Workload(id ID) *Workload { return m.workloadsBy[id] }

// Service returns the Service in namespace ns named name.
func (m *Model) Service(ns, name string) *Service {
	return m.servicesBy[ID{Kind: "Service", Namespace: ns, Name: name}]
}

// Deployment returns the apps/v1 Deployment ns/name.
func (m *Model) Deployment(ns, name string) *Workload {
	return m.workloadsBy[ID{Group: "apps", Kind: "Deployment", Namespace: ns, Name: name}]
}

// ConfigMap returns the ConfigMap ns/name.
func (m *Model) ConfigMap(ns, name string) (*Object, bool) {
	return m.Get(ID{Kind: "ConfigMap", Namespace: ns, Name: name})
}

// WorkloadsMatching returns the workloads in namespace ns whose pod template
// labels match sel (in input order). requirements lets the index pick
// candidates; pass the selector's equality pairs when known.
func (m *Model) workloadsMatching(ns string, sel labels.Selector, pairs []labelPair) []*Workload {
	var out []*Workload
	for _, w := range m.candidates(ns, pairs) {
		if sel.Matches(labels.Set(w.PodLabels)) {
			out = append(out, w)
		}
	}
	return out
}

// indexBound is one more than the largest Object.Index of the model: the
// length of a table indexed by Index.
func (m *Model) indexBound() int {
	n := 0
	for _, o := range m.Objects {
		n = max(n, o.Index+1)
	}
	return n
}

// candidates are the workloads of namespace ns that may carry every pair
// (see candidatesOf).
func (m *Model) candidates(ns string, pairs []labelPair) []*Workload {
	nsid, ids, none := m.resolve(nil, ns, pairs)
	if none {
		return nil
	}
	return m.candidatesOf(nsid, ids)
}

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

// Selected returns the workloads whose pods the Service selects.
func (m *Model) Selected(s *Service) []*Workload {
	if len(s.Selector) == 0 {
		return nil
	}
	// A Service's selector is a set of key=value pairs, which a pod matches
	// when its labels carry every one (labels.SelectorFromSet(s.Selector)
	// .Matches, without building the selector for each Service).
	var nsid int32
	var ids []int32
	var none bool
	if l := s.link.of(m); l != nil {
		nsid, ids, none = l.ns, l.ids, l.none
	} else {
		pairs := s.selPairs
		if len(pairs) != len(s.Selector) {
			pairs = s.pairs() // a Service not read by parseService
		}
		nsid, ids, none = m.resolve(nil, s.ID.Namespace, pairs)
	}
	if none {
		return nil
	}
	var out []*Workload
	for _, w := range m.candidatesOf(nsid, ids) {
		if hasAll(w.link.pairs, ids) {
			out = append(out, w)
		}
	}
	return out
}

// pairs are the Service selector's pairs, sorted by key.
func (s *Service) pairs() []labelPair { return sortedPairs(s.Selector) }

// ServicesSelecting returns the Services whose selector matches the
// workload's pod labels.
func (m *Model) ServicesSelecting(w *Workload) []*Service {
	var out []*Service
	set := labels.Set(w.PodLabels)
	for _, s := range m.servicesByNS[w.ID.Namespace] {
		if len(s.Selector) > 0 && labels.SelectorFromSet(s.Selector).Matches(set) {
			out = append(out, s)
		}
	}
	return out
}

// IstioGatewaysSelecting returns the Gateway resources that program the
// workload's pods.
func (m *Model) IstioGatewaysSelecting(w *Workload) []*IstioGateway {
	m.igwOnce.Do(func() { m.igwIndex = NewIstioGatewayIndex(m) })
	return m.igwIndex.Selecting(w)
}

// PDBSelected returns the workloads in the PDB's namespace whose pods it
// selects.
func (m *Model) PDBSelected(p *PDB) []*Workload {
	return m.workloadsMatching(p.ID.Namespace, p.Selector, p.indexPairs)
}

// PDBsSelecting returns the PDBs that select the workload's pods.
func (m *Model) PDBsSelecting(w *Workload) []*PDB {
	var out []*PDB
	for _, p := range m.pdbsByNS[w.ID.Namespace] {
		if p.Selector.Matches(labels.Set(w.PodLabels)) {
			out = append(out, p)
		}
	}
	return out
}

// HPAFor returns the HPA that scales the workload, or nil.
func (m *Model) HPAFor(w *Workload) *HPA {
	if l := w.of(m); l != nil {
		return l.hpa
	}
	return m.hpaByTarget[hpaTarget(w.ID)]
}

// hpaTarget is the hpaByTarget key of a workload identity: an HPA's
// scaleTargetRef names a kind and name in its namespace, whatever the
// workload's API group (apps or the legacy extensions).
func hpaTarget(id ID) ID {
	return ID{Group: "apps", Kind: id.Kind, Namespace: id.Namespace, Name: id.Name}
}

// MinReplicas is the capacity a workload guarantees: its HPA's minReplicas
// when it has one, otherwise its replicas.
func (m *Model) MinReplicas(w *Workload) int64 {
	if h := m.HPAFor(w); h != nil {
		return h.MinReplicas
	}
	return w.DesiredReplicas()
}

// NamespaceLabels returns the labels of a Namespace object in the input, and
// whether it is present.
func (m *Model) NamespaceLabels(name string) (map[string]string, bool) {
	n, ok := m.nsByName[name]
	if !ok {
		return nil, false
	}
	return n.Labels, true
}

// WebhookTarget resolves the Service a webhook calls and the workloads that
// Service selects. svc is nil when the Service is not in the input.
func (m *Model) WebhookTarget(h *Webhook) (*Service, []*Workload) {
	if h.Service == nil {
		return nil, nil
	}
	s := m.Service(h.Service.Namespace, h.Service.Name)
	if s == nil {
		return nil, nil
	}
	return s, m.Selected(s)
}

// SortedIDs returns the identities of all objects in deterministic order.
func (m *Model) SortedIDs() []ID {
	ids := make([]ID, 0, len(m.Objects))
	for _, o := range m.Objects {
		ids = append(ids, o.ID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Less(ids[j]) })
	return ids
}

// ByKind returns the objects of a kind (any group) in input order.
func (m *Model) ByKind(kind string) []*Object {
	var out []*Object
	for _, o := range m.Objects {
		if o.ID.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func trimPort(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[:i]
	}
	return addr
}
