package verify

import (
	"fmt"

	"github.com/revshift/revshift/internal/mesh"
)

// RS021 (invariant 15): a workload that runs in both states keeps every
// permission its ServiceAccount had (mesh.Model.Grants evaluates RBAC as
// the Kubernetes authorizer does); a workload that first runs in this state
// has every permission its own render grants its ServiceAccount.
func ruleRBACContinuity(t *transCtx) {
	// Most steps leave RBAC alone: then only a workload that changes
	// ServiceAccount can lose a permission.
	same := t.prev.m.RBACSum() == t.next.m.RBACSum()
	for _, w := range t.next.m.Workloads {
		if !t.next.running(w) {
			continue
		}
		if pw := t.prev.workloadFor(t.next, w.Object); pw != nil && t.prev.running(pw) {
			if t.nextOriginal {
				// Back in the original running state, a workload has what
				// its own render grants and ran with before the walk: a
				// permission only the walk's states granted (the union
				// ClusterRole of the canary period) is not its loss.
				continue
			}
			if same && pw.ServiceAccount == w.ServiceAccount {
				continue
			}
			lost := t.prev.grantsOf(pw).LostIn(t.next.grantsOf(w))
			t.lostPermissions(w, mesh.ServiceAccountOf(w), t.grantedByRender(w, lost), inPrevious)
			continue
		}
		sa := mesh.ServiceAccountOf(w)
		if lost, ok := t.renderLost(w, sa); ok {
			t.lostPermissions(w, sa, lost, inRender)
		}
	}
}

// grantedByRender keeps, of the permissions a running workload lost, those
// its own render grants it: a permission it held only through the union of
// both revisions' roles that canary-control-plane emits while both
// revisions run is not its own, and the union shrinks to the target's rules
// at the prune. Without renders, or for a workload no render holds, every
// lost permission counts.
func (t *transCtx) grantedByRender(w *mesh.Workload, lost []mesh.Grant) []mesh.Grant {
	if t.renders == nil || len(lost) == 0 {
		return lost
	}
	id := w.ID
	if of, ok := w.CanaryOf(); ok {
		id = of
	}
	var own []*mesh.Permissions
	for _, r := range []*mesh.Model{t.renders.Target, t.renders.Running} {
		if r == nil {
			continue
		}
		if rw := r.Workload(id); rw != nil {
			own = append(own, r.Grants(mesh.ServiceAccountOf(rw)))
		}
	}
	if len(own) == 0 {
		return lost
	}
	var out []mesh.Grant
	for _, g := range lost {
		for _, p := range own {
			if p.Allows(g) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// renderLost returns what the render that holds the workload as is grants
// its ServiceAccount and this state does not: the target render's first,
// then the running render's (a workload of the running render at the end
// of a rollback walk). A canary copy renamed from a render object is in
// neither as is. ok is false without renders or when none holds it; when
// both do, a grant counts as lost only if it is lost against each.
func (t *transCtx) renderLost(w *mesh.Workload, sa mesh.ServiceAccountRef) (lost []mesh.Grant, ok bool) {
	if t.renders == nil {
		return nil, false
	}
	have := t.next.grantsOf(w)
	for _, r := range []*mesh.Model{t.renders.Target, t.renders.Running} {
		if r == nil || r.Workload(w.ID) == nil {
			continue
		}
		l := r.Grants(sa).LostIn(have)
		if !ok || len(l) < len(lost) {
			lost = l
		}
		ok = true
	}
	return lost, ok
}

// lostPermissions reports one finding per workload: the first permission
// lost, the binding that granted it, and how many others went with it.
func (t *transCtx) lostPermissions(w *mesh.Workload, sa mesh.ServiceAccountRef, lost []mesh.Grant, where string) {
	if len(lost) == 0 {
		return
	}
	g := lost[0]
	others := ""
	if n := len(lost) - 1; n == 1 {
		others = " and 1 other permission"
	} else if n > 1 {
		others = fmt.Sprintf(" and %d other permissions", n)
	}
	objs := []mesh.ID{w.ID, g.Binding, sa.ID()}
	if where == inRender {
		t.add(Error, objs, rbacFix(t.next.m, w, sa, g, true),
			"%s starts running as ServiceAccount %s without %s%s, which its render grants by %s: the API server denies those requests",
			w.ID, sa, g, others, g.Describe())
		return
	}
	t.add(Error, objs, rbacFix(t.next.m, w, sa, g, false),
		"%s runs as ServiceAccount %s and loses %s%s, granted in the previous state by %s: the API server now denies those requests",
		w.ID, sa, g, others, g.Describe())
}

const (
	inPrevious = "in the previous state"
	inRender   = "in its render"
)

// rbacFix says what to do about a grant lost in state m: keep (or add) the
// role or the binding that granted it.
func rbacFix(m *mesh.Model, w *mesh.Workload, sa mesh.ServiceAccountRef, g mesh.Grant, fromRender bool) string {
	switch {
	case fromRender && !m.Has(g.Binding):
		return fmt.Sprintf("add %s %s of the render (it binds %s %s to ServiceAccount %s) in this or an earlier step",
			g.Binding.Kind, g.Binding.Name, g.Role.Kind, g.Role.Name, sa)
	case !m.Has(g.Binding):
		return fmt.Sprintf("keep %s %s (it binds %s %s to ServiceAccount %s) while %s runs",
			g.Binding.Kind, g.Binding.Name, g.Role.Kind, g.Role.Name, sa, w.ID)
	case !m.Has(g.Role):
		return fmt.Sprintf("keep %s %s in this state (%s %s binds it to ServiceAccount %s) while %s runs",
			g.Role.Kind, g.Role.Name, g.Binding.Kind, g.Binding.Name, sa, w.ID)
	}
	return fmt.Sprintf("bind %s %s to ServiceAccount %s again in %s %s (or keep an equivalent binding) while %s runs",
		g.Role.Kind, g.Role.Name, sa, g.Binding.Kind, g.Binding.Name, w.ID)
}
