package mesh

import (
	"errors"
	"fmt"
	"sync"

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
	// nsID and pairID number namespaces and pod label pairs (number.go).
	nsID   map[string]int32
	pairID map[labelPair]int32
	// podIdx: (namespace, pod label pair) -> workloads whose pod labels
	// carry that pair, in input order; selectors are matched against the
	// smallest candidate list. podsByNS: namespace number -> workloads.
	podIdx   map[uint64][]*Workload
	podsByNS [][]*Workload
	// related guards the selection relations (selection.go).
	related sync.Once
	refsTo  map[ID][]Reference
	// Per-object and per-namespace indexes, so every lookup is O(1) or
	// O(objects in the namespace).
	bindingOf   map[ID]*Binding
	roleOf      map[ID]*Role
	authz       authzIndex
	hpaOf       map[ID]*HPA
	hpaByTarget map[ID]*HPA
	webhooksOf  map[ID][]*Webhook
	nsByName    map[string]*Namespace
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
		byID:        make(map[ID]*Object, len(items)),
		workloadsBy: map[ID]*Workload{},
		servicesBy:  map[ID]*Service{},
		nsID:        map[string]int32{},
		pairID:      map[labelPair]int32{},
		podIdx:      map[uint64][]*Workload{},
		bindingOf:   map[ID]*Binding{},
		roleOf:      map[ID]*Role{},
		hpaOf:       map[ID]*HPA{},
		hpaByTarget: map[ID]*HPA{},
		webhooksOf:  map[ID][]*Webhook{},
		nsByName:    map[string]*Namespace{},
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

// indexBound is one more than the largest Object.Index of the model: the
// length of a table indexed by Index.
func (m *Model) indexBound() int {
	n := 0
	for _, o := range m.Objects {
		n = max(n, o.Index+1)
	}
	return n
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
	return s, s.Selected()
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
