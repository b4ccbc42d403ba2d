package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
	"k8s.io/apimachinery/pkg/labels"
)

// view is one state and the indexes the rules share, built once per state:
// what each Service selects, the reverse (Services per workload), the
// production Services, PDBs per workload and Istio Gateways per workload.
// Every rule is then linear in the objects it looks at.
type view struct {
	m          *mesh.Model
	selected   map[*mesh.Service][]*mesh.Workload
	servicesOf map[*mesh.Workload][]*mesh.Service
	// production are the Services selecting at least one gateway's pods
	// (mesh.Model.ProductionServices), in input order.
	production []*mesh.Service
	isProd     map[mesh.ID]bool
	pdb        *mesh.PDBIndex
	igw        *mesh.IstioGatewayIndex
}

func newView(m *mesh.Model) *view {
	v := &view{
		m:          m,
		selected:   make(map[*mesh.Service][]*mesh.Workload, len(m.Services)),
		servicesOf: map[*mesh.Workload][]*mesh.Service{},
		isProd:     map[mesh.ID]bool{},
		pdb:        mesh.NewPDBIndex(m),
		igw:        mesh.NewIstioGatewayIndex(m),
	}
	for _, s := range m.Services {
		ws := m.Selected(s)
		v.selected[s] = ws
		prod := false
		for _, w := range ws {
			v.servicesOf[w] = append(v.servicesOf[w], s)
			prod = prod || m.GatewayOf(w) != nil
		}
		if prod {
			v.production = append(v.production, s)
			v.isProd[s.ID] = true
		}
	}
	return v
}

// capacity is what a workload guarantees: HPA minReplicas or replicas.
func (v *view) capacity(w *mesh.Workload) int64 { return v.m.MinReplicas(w) }

func (v *view) running(w *mesh.Workload) bool { return v.capacity(w) > 0 }

// serviceCapacity sums the capacity of the workloads a Service selects.
func (v *view) serviceCapacity(s *mesh.Service) int64 {
	var n int64
	for _, w := range v.selected[s] {
		n += v.capacity(w)
	}
	return n
}

// pdbCovered reports whether any workload the Service selects has a PDB.
func (v *view) pdbCovered(s *mesh.Service) bool {
	for _, w := range v.selected[s] {
		if len(v.pdb.Selecting(w)) > 0 {
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
	out := append([]*mesh.Service(nil), c.v.production...)
	for _, s := range c.base.production {
		if cur := c.v.m.Service(s.ID.Namespace, s.ID.Name); cur != nil && !c.v.isProd[s.ID] {
			out = append(out, cur)
		}
	}
	return out
}

// transCtx is what a transition rule sees.
type transCtx struct {
	collector
	prev, next, base *view
	ord              Ordering
}
