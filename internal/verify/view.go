package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
	"k8s.io/apimachinery/pkg/labels"
)

// view is one state and what the rules share, built once per state: the
// production Services and each workload's capacity. Which Services, PDBs
// and Istio Gateways select which workloads the model answers (mesh
// selection). Every rule is then linear in the objects it looks at.
//
// Views checked together (a sequence, or a transition) also share an
// idTable: each object then carries a small number for its identity, and
// the rules find an object's counterpart in another state by indexing
// arrays, not by hashing its identity (four strings) again (see the mesh
// package doc, Performance).
type view struct {
	m *mesh.Model
	// production are the Services selecting at least one gateway's pods
	// (mesh.Model.ProductionServices), in input order.
	production []*mesh.Service

	// Dense per-object data, indexed by mesh.Object.Index.
	objAt    []*mesh.Object
	workload []*mesh.Workload
	service  []*mesh.Service
	// capacity is mesh.Model.MinReplicas of each workload.
	capacity []int64
	isProd   []bool

	// ids is shared by the views checked together (nil for a lone view);
	// gid maps an object's Index to its identity's number, at maps an
	// identity's number to the Index of the object in this state (-1:
	// absent).
	ids *idTable
	gid []int32
	at  []int32

	// prodBase and prodWithBase cache stateCtx.productionServices.
	prodBase     *view
	prodWithBase []*mesh.Service
	// grants caches mesh.Model.Grants of each workload's ServiceAccount
	// (RS021), by Index.
	grants []*mesh.Permissions
	// reached caches the running istiods a Service selects (RS023), by
	// the Service's Index; few Services are asked.
	reached map[int][]*mesh.Istiod
	// gwRev caches the revision of gateways (RS019), by Index.
	gwRev     []string
	gwRevDone []bool
	// injector caches mesh.Model.InjectorOf of each workload (RS025,
	// RS026), by Index.
	injector     []*mesh.Webhook
	injectorDone []bool
}

// idTable numbers the identities of the objects of the views checked
// together, as each view is built.
type idTable struct {
	n       map[mesh.ID]int32
	byModel map[*mesh.Model]*view
	// last is the view built last.
	last *view
}

func newIDTable(size int) *idTable {
	return &idTable{n: make(map[mesh.ID]int32, size+size/4), byModel: map[*mesh.Model]*view{}}
}

// view returns the view of m, built on first use; the same model gets the
// same view. An identity first seen in a later view has a number past the
// end of the earlier views' at tables, which find reads as absent.
func (t *idTable) view(m *mesh.Model) *view {
	if v, ok := t.byModel[m]; ok {
		return v
	}
	v := newView(m)
	v.ids = t
	v.gid = make([]int32, len(v.objAt))
	// Consecutive states list their objects mostly in the same order: each
	// object is first compared with the one after the previous match in
	// the view built before this one, and looked up in the map only when
	// that is another identity, so both states are read in order.
	last, guess := t.last, 0
	for k, o := range v.objAt {
		v.gid[k] = -1
		if o == nil {
			continue
		}
		g := int32(-1)
		if last != nil && guess < len(last.objAt) {
			if p := last.objAt[guess]; p != nil && p.ID == o.ID {
				g = last.gid[guess]
			}
		}
		if g < 0 {
			var ok bool
			if g, ok = t.n[o.ID]; !ok {
				g = int32(len(t.n))
				t.n[o.ID] = g
			} else if last != nil && int(g) < len(last.at) && last.at[g] >= 0 {
				guess = int(last.at[g])
			}
		}
		guess++
		v.gid[k] = g
	}
	t.last = v
	v.at = make([]int32, len(t.n))
	for g := range v.at {
		v.at[g] = -1
	}
	for k, g := range v.gid {
		if g >= 0 {
			v.at[g] = int32(k)
		}
	}
	t.byModel[m] = v
	return v
}

func newView(m *mesh.Model) *view {
	v := &view{m: m, production: m.ProductionServices()}
	n := 0
	for _, o := range m.Objects {
		if o.Index >= n {
			n = o.Index + 1
		}
	}
	v.objAt = make([]*mesh.Object, n)
	for _, o := range m.Objects {
		v.objAt[o.Index] = o
	}
	v.workload = make([]*mesh.Workload, n)
	v.capacity = make([]int64, n)
	for _, w := range m.Workloads {
		v.workload[w.Index] = w
		v.capacity[w.Index] = m.MinReplicas(w)
	}
	v.service = make([]*mesh.Service, n)
	for _, s := range m.Services {
		v.service[s.Index] = s
	}
	v.isProd = make([]bool, n)
	for _, s := range v.production {
		v.isProd[s.Index] = true
	}
	return v
}

// newViews builds the views of models checked together, sharing one
// idTable; the same model gets the same view.
func newViews(models ...*mesh.Model) []*view {
	size := 0
	for _, m := range models {
		size = max(size, len(m.Objects))
	}
	t := newIDTable(size)
	out := make([]*view, len(models))
	for i, m := range models {
		out[i] = t.view(m)
	}
	return out
}

// own reports whether o is an object of this view.
func (v *view) own(o *mesh.Object) bool {
	return o != nil && o.Index >= 0 && o.Index < len(v.objAt) && v.objAt[o.Index] == o
}

// find returns the Index, in v, of the object with the identity of o, an
// object of view from; -1 when v has none.
func (v *view) find(from *view, o *mesh.Object) int {
	if from == v && v.own(o) {
		return o.Index
	}
	if v.ids != nil && from.ids == v.ids && from.own(o) {
		if g := from.gid[o.Index]; g >= 0 && int(g) < len(v.at) {
			return int(v.at[g])
		}
		return -1
	}
	if p, ok := v.m.Get(o.ID); ok {
		return p.Index
	}
	return -1
}

// has reports whether v holds an object with the identity of o (of view
// from): mesh.Model.Has(o.ID).
func (v *view) has(from *view, o *mesh.Object) bool { return v.find(from, o) >= 0 }

// workloadFor is mesh.Model.Workload(o.ID) for an object o of view from.
func (v *view) workloadFor(from *view, o *mesh.Object) *mesh.Workload {
	if k := v.find(from, o); k >= 0 {
		return v.workload[k]
	}
	return nil
}

// serviceFor is mesh.Model.Service(ns, name) for a Service s of view from.
func (v *view) serviceFor(from *view, s *mesh.Service) *mesh.Service {
	if k := v.find(from, s.Object); k >= 0 {
		return v.service[k]
	}
	return nil
}

// capacityOf is what a workload guarantees: HPA minReplicas or replicas.
func (v *view) capacityOf(w *mesh.Workload) int64 {
	if v.own(w.Object) && v.workload[w.Index] == w {
		return v.capacity[w.Index]
	}
	return v.m.MinReplicas(w)
}

func (v *view) running(w *mesh.Workload) bool { return v.capacityOf(w) > 0 }

// gatewayRevision is mesh.Model.RevisionOfGateway, computed once per
// gateway.
func (v *view) gatewayRevision(g *mesh.Gateway) string {
	if !v.own(g.Object) {
		return v.m.RevisionOfGateway(g)
	}
	if v.gwRev == nil {
		v.gwRev = make([]string, len(v.objAt))
		v.gwRevDone = make([]bool, len(v.objAt))
	}
	if !v.gwRevDone[g.Index] {
		v.gwRev[g.Index], v.gwRevDone[g.Index] = v.m.RevisionOfGateway(g), true
	}
	return v.gwRev[g.Index]
}

// injectorOf is mesh.Model.InjectorOf, asked once per workload of this
// view (each state is the next of one transition and the previous of the
// following one).
func (v *view) injectorOf(w *mesh.Workload) *mesh.Webhook {
	if !v.own(w.Object) {
		return v.m.InjectorOf(w)
	}
	if v.injector == nil {
		v.injector = make([]*mesh.Webhook, len(v.objAt))
		v.injectorDone = make([]bool, len(v.objAt))
	}
	if !v.injectorDone[w.Index] {
		v.injector[w.Index], v.injectorDone[w.Index] = v.m.InjectorOf(w), true
	}
	return v.injector[w.Index]
}

// grantsOf is mesh.Model.Grants(mesh.ServiceAccountOf(w)), asked once per
// workload of this view.
func (v *view) grantsOf(w *mesh.Workload) *mesh.Permissions {
	if !v.own(w.Object) {
		return v.m.Grants(mesh.ServiceAccountOf(w))
	}
	if v.grants == nil {
		v.grants = make([]*mesh.Permissions, len(v.objAt))
	}
	if v.grants[w.Index] == nil {
		v.grants[w.Index] = v.m.Grants(mesh.ServiceAccountOf(w))
	}
	return v.grants[w.Index]
}

// serviceCapacity sums the capacity of the workloads a Service selects.
func (v *view) serviceCapacity(s *mesh.Service) int64 {
	var n int64
	for _, w := range s.Selected() {
		n += v.capacityOf(w)
	}
	return n
}

// pdbCovered reports whether any workload the Service selects has a PDB.
func (v *view) pdbCovered(s *mesh.Service) bool {
	for _, w := range s.Selected() {
		if len(w.PDBs()) > 0 {
			return true
		}
	}
	return false
}

// describe renders a workload with its capacity, e.g.
// "Deployment.apps/default/custom-gw (0 replicas)".
func (v *view) describe(w *mesh.Workload) string {
	if h := v.m.HPAFor(w); h != nil {
		return fmt.Sprintf("%s (HPA %s minReplicas %d)", w.ID, h.ID.Name, h.MinReplicas)
	}
	if w.ID.Kind == "DaemonSet" {
		return w.ID.String() + " (DaemonSet)"
	}
	n := w.DesiredReplicas()
	if n == 1 {
		return w.ID.String() + " (1 replica)"
	}
	return fmt.Sprintf("%s (%d replicas)", w.ID, n)
}

func (v *view) describeAll(ws []*mesh.Workload) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = v.describe(w)
	}
	return strings.Join(parts, ", ")
}

func selectorText(sel map[string]string) string {
	if len(sel) == 0 {
		return "{}"
	}
	return "{" + labels.Set(sel).String() + "}"
}

func ids(ws []*mesh.Workload) []mesh.ID {
	out := make([]mesh.ID, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

func idList(xs []mesh.ID) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.String()
	}
	return strings.Join(parts, ", ")
}

func sortIDs(xs []mesh.ID) {
	sort.Slice(xs, func(i, j int) bool { return xs[i].Less(xs[j]) })
}

// collector gathers findings of one rule run.
type collector struct {
	rule string
	out  []Finding
}

func (c *collector) add(sev Severity, objs []mesh.ID, fix, format string, args ...any) {
	c.out = append(c.out, Finding{Rule: c.rule, Severity: sev, Objects: objs, Message: fmt.Sprintf(format, args...), Fix: fix})
}

// stateCtx is what a state rule sees: the state, and S0 when the state is
// part of a sequence (nil otherwise).
type stateCtx struct {
	collector
	v    *view
	base *view
	// orig are the views of the original running state when it is not
	// the baseline (the end of a rollback walk).
	orig []*view
}

// productionServices are the state's production Services plus those that
// were production in S0 and still exist (a Service whose gateways are all
// gone no longer selects a gateway, but clients still call it).
func (c *stateCtx) productionServices() []*mesh.Service {
	if c.base == nil {
		return c.v.production
	}
	if c.v.prodBase == c.base {
		return c.v.prodWithBase
	}
	out := append([]*mesh.Service(nil), c.v.production...)
	for _, s := range c.base.production {
		if cur := c.v.serviceFor(c.base, s); cur != nil && !c.v.isProd[cur.Index] {
			out = append(out, cur)
		}
	}
	c.v.prodBase, c.v.prodWithBase = c.base, out
	return out
}

// transCtx is what a transition rule sees.
type transCtx struct {
	collector
	prev, next, base *view
	ord              Ordering
	// step is shared by the rules of one step.
	step *stepCache
	// renders are the plan's inputs, nil when verify does not have them.
	renders *Renders
	// end is set when next is the last state of a sequence checked with
	// its renders (RS022).
	end *lastStep
	// nextOriginal: next is the original running state at the end of a
	// rollback walk (State.Original).
	nextOriginal bool
	// starts are the Deployments this step and the one before created
	// (RS002).
	starts starts
}

// stepCache holds what several transition rules of one step ask.
type stepCache struct {
	deleted     []*mesh.Object
	deletedDone bool
	// injStable and injPairs cache transCtx.injectionStable and
	// injectionMayMove.
	injStable, injStableDone bool
	injPairs                 []injectionPair
	injPairsDone             bool
	// injKeys are the pod labels the injectors read, set with injStable.
	injKeys []string
}
