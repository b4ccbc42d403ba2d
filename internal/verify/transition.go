package verify

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

// Ordering says which ordering annotations the applier of a step honours.
// With neither, a step is applied at once (kubectl apply, Flux).
type Ordering struct {
	// ArgoCDSyncWaves: argocd.argoproj.io/sync-wave orders the apply, each
	// wave waiting for the previous one to be healthy; pruned objects go in
	// their live wave, or last with sync option PruneLast=true.
	ArgoCDSyncWaves bool
	// KptDependsOn: config.kubernetes.io/depends-on on an object makes kpt
	// apply it after the objects it names are reconciled.
	KptDependsOn bool
}

// DefaultOrdering honours both Argo CD sync waves and kpt depends-on, the
// annotations revshift's functions write.
var DefaultOrdering = Ordering{ArgoCDSyncWaves: true, KptDependsOn: true}

// NoOrdering is for appliers that apply a step at once (kubectl, Flux).
var NoOrdering = Ordering{}

// RS002 (invariant 1): capacity against S0. A Deployment that this step
// or the one before created counts its start (startsOf), not yet its HPA's
// minReplicas: the next step is applied once the gate holds, whether or not
// the HPA has acted.
func ruleCapacity(t *transCtx) {
	for _, bs := range t.base.production {
		s := t.next.serviceFor(t.base, bs)
		if s == nil {
			continue // deleted: RS017
		}
		want := t.base.serviceCapacity(bs)
		ws := s.Selected()
		var got, later int64
		for _, w := range ws {
			n, st := t.guaranteed(w)
			got += n
			if st != nil {
				later += st.capacity - n
			}
		}
		if got >= want {
			continue
		}
		// Described only when the rule fails: most Services pass.
		var descs, fixes []string
		for _, w := range ws {
			if _, st := t.guaranteed(w); st != nil {
				descs = append(descs, describeStart(w, st))
				fixes = append(fixes, startFix(w, st))
				continue
			}
			descs = append(descs, t.next.describe(w))
		}
		if got+later < want {
			// Even at their HPA's minReplicas, the new Deployments fall short.
			fixes = append(fixes, fmt.Sprintf("raise the replicas (or HPA minReplicas) of the new gateway Deployments to at least %d in total before scaling the old ones down", want))
		}
		what := "no workload"
		if len(descs) > 0 {
			what = strings.Join(descs, ", ")
		}
		t.add(Error, append([]mesh.ID{s.ID}, ids(ws)...), strings.Join(fixes, "; "),
			"production %s is backed by %d guaranteed replicas, fewer than the %d it had in the running state (%s)",
			s.ID, got, want, what)
	}
}

// RS011 (invariant 8).
func ruleSelectorImmutable(t *transCtx) {
	for _, w := range t.next.m.Workloads {
		pw := t.prev.workloadFor(t.next, w.Object)
		if pw == nil {
			continue
		}
		a, b := pw.SelectorText(), w.SelectorText()
		if a == b {
			continue
		}
		t.add(Error, []mesh.ID{w.ID},
			"keep the selector; create the revisioned gateway as a new Deployment with its own name (e.g. suffix -<rev>)",
			"spec.selector of %s changes from {%s} to {%s}: the field is immutable, so the API server rejects the update and the step stops half-applied",
			w.ID, a, b)
	}
}

// RS012 (invariant 9): a step does not add and remove endpoints of one
// production Service at once, unless the applier adds first and waits for
// the new pods to be healthy (ordered).
func ruleMakeBeforeBreak(t *transCtx) {
	for _, ps := range t.prev.production {
		before := t.prev.endpoints(ps)
		var after []endpoint
		if s := t.next.serviceFor(t.prev, ps); s != nil {
			after = t.next.endpoints(s)
		}
		removed := losses(t.prev, before, t.next, after)
		added := losses(t.next, after, t.prev, before)
		if len(removed) == 0 || len(added) == 0 {
			continue
		}
		sort.Slice(removed, func(i, j int) bool { return removed[i].w.ID.Less(removed[j].w.ID) })
		var change []string
		for _, c := range removed {
			change = append(change, fmt.Sprintf("%s %d -> %d", c.w.ID, c.had, c.has))
		}
		for _, c := range added {
			change = append(change, fmt.Sprintf("%s %d -> %d", c.w.ID, c.has, c.had))
		}
		ok, why := t.ordered(changedIDs(added), changedIDs(removed))
		if ok {
			continue
		}
		objs := append(append([]mesh.ID{ps.ID}, changedIDs(removed)...), changedIDs(added)...)
		t.add(Error, objs,
			"add the new endpoints in an earlier step (or an earlier Argo CD sync wave: argocd.argoproj.io/sync-wave on the new Deployment lower than on the old one) and remove the old ones only once the new pods are Ready",
			"this step removes endpoints of production %s and adds their replacement in the same apply (%s): the old pods can go before the new ones are Ready%s",
			ps.ID, strings.Join(change, "; "), why)
	}
}

// endpoint is a workload a Service selects, and its capacity.
type endpoint struct {
	w   *mesh.Workload
	cap int64
}

// endpoints are the workloads the Service s of this view selects, with
// their capacity, in input order.
func (v *view) endpoints(s *mesh.Service) []endpoint {
	ws := s.Selected()
	out := make([]endpoint, len(ws))
	for i, w := range ws {
		out[i] = endpoint{w, v.capacityOf(w)}
	}
	return out
}

// loss is an endpoint that has less capacity in the other state: had here,
// has there.
type loss struct {
	w        *mesh.Workload
	had, has int64
}

// losses returns the endpoints eps of view v whose counterparts among the
// endpoints other of view ov have less capacity (none: 0), in the order of
// eps.
func losses(v *view, eps []endpoint, ov *view, other []endpoint) []loss {
	var out []loss
	for _, e := range eps {
		if c := ov.capacityAmong(other, v, e.w); c < e.cap {
			out = append(out, loss{e.w, e.cap, c})
		}
	}
	return out
}

// capacityAmong is the capacity of the counterpart, among the endpoints eps
// of this view, of the workload w of view from; 0 when none is.
func (v *view) capacityAmong(eps []endpoint, from *view, w *mesh.Workload) int64 {
	k := v.find(from, w.Object)
	for _, e := range eps {
		if e.w.Index == k {
			return e.cap
		}
	}
	return 0
}

func changedIDs(ls []loss) []mesh.ID {
	out := make([]mesh.ID, len(ls))
	for i, l := range ls {
		out[i] = l.w.ID
	}
	return out
}

// ordered reports whether the applier adds every object in added, and waits
// for it to be healthy, before it removes any object in removed.
func (t *transCtx) ordered(added, removed []mesh.ID) (bool, string) {
	var notes []string
	if t.ord.ArgoCDSyncWaves {
		ok := true
		for _, a := range added {
			ao, _ := t.next.m.Get(a)
			wa, err := mesh.SyncWave(ao)
			if err != nil {
				notes = append(notes, err.Error())
				ok = false
				continue
			}
			for _, r := range removed {
				wr, err := t.removalWave(r)
				if err != nil {
					notes = append(notes, err.Error())
					ok = false
					continue
				}
				ok = ok && wa < wr
			}
		}
		if ok {
			return true, ""
		}
	}
	if t.ord.KptDependsOn {
		ok := true
		for _, r := range removed {
			ro, present := t.next.m.Get(r)
			if !present {
				ok = false // kpt prunes dependents first: no way to order a deletion after an addition
				continue
			}
			deps, err := mesh.DependsOn(ro)
			if err != nil {
				notes = append(notes, err.Error())
				ok = false
				continue
			}
			have := map[mesh.ID]bool{}
			for _, d := range deps {
				have[d] = true
			}
			for _, a := range added {
				ok = ok && have[a]
			}
		}
		if ok {
			return true, ""
		}
	}
	if len(notes) > 0 {
		return false, " (" + strings.Join(notes, "; ") + ")"
	}
	return false, ""
}

// removalWave is the Argo CD wave in which an endpoint goes away: the wave of
// its updated object, or, for a pruned object, its live wave (last, with
// PruneLast).
func (t *transCtx) removalWave(id mesh.ID) (int, error) {
	if o, ok := t.next.m.Get(id); ok {
		return mesh.SyncWave(o)
	}
	o, _ := t.prev.m.Get(id)
	if mesh.PruneLast(o) {
		return math.MaxInt, nil
	}
	return mesh.SyncWave(o)
}

// deleted returns the objects of prev absent from next, in input order.
func (t *transCtx) deleted() []*mesh.Object {
	if t.step != nil && t.step.deletedDone {
		return t.step.deleted
	}
	var out []*mesh.Object
	for _, o := range t.prev.m.Objects {
		if !t.next.has(t.prev, o) {
			out = append(out, o)
		}
	}
	if t.step != nil {
		t.step.deleted, t.step.deletedDone = out, true
	}
	return out
}

// RS015 (invariant 12).
func ruleKeepCRDNamespace(t *transCtx) {
	var crds []mesh.ID
	for _, o := range t.deleted() {
		switch {
		case o.ID.Kind == "CustomResourceDefinition" && o.ID.Group == "apiextensions.k8s.io":
			crds = append(crds, o.ID)
		case o.ID.Kind == "Namespace" && o.ID.Group == "":
			t.add(Error, []mesh.ID{o.ID},
				"keep the Namespace in every state; prune only the objects in it that nothing kept uses",
				"this step deletes Namespace %s: everything in it is deleted with it, the new control plane included", o.ID.Name)
		}
	}
	if len(crds) == 0 {
		return
	}
	sortIDs(crds)
	names := make([]string, len(crds))
	for i, c := range crds {
		names[i] = c.Name
	}
	t.add(Error, crds,
		"keep every CustomResourceDefinition in every state (the new revision's render carries them too); prune only old-only objects",
		"this step deletes %d CustomResourceDefinitions (%s): deleting a CRD deletes every resource of its kind in the cluster", len(crds), strings.Join(names, ", "))
}

// RS016 (invariant 13).
func ruleDeletedReferenced(t *transCtx) {
	for _, o := range t.deleted() {
		refs := t.next.m.ReferencesTo(o.ID)
		if len(refs) == 0 {
			continue
		}
		sev := Warning
		var from []string
		objs := []mesh.ID{o.ID}
		for _, r := range refs {
			if !r.Optional {
				sev = Error
			}
			from = append(from, fmt.Sprintf("%s (%s)", r.From, r.Why))
			objs = append(objs, r.From)
		}
		effect := "it is needed"
		if sev == Warning {
			effect = "the references are optional, so the referrers run degraded"
		}
		t.add(sev, objs,
			fmt.Sprintf("keep %s in this state (the new revision still uses it); prune only objects nothing kept references", o.ID),
			"this step deletes %s, which this state still references: %s; %s", o.ID, strings.Join(from, ", "), effect)
	}
}

// RS017 (invariant 14).
func ruleKeepProductionService(t *transCtx) {
	var gone []mesh.ID
	for _, v := range []*view{t.prev, t.base} {
		for _, s := range v.production {
			if t.prev.has(v, s.Object) && !t.next.has(v, s.Object) {
				gone = append(gone, s.ID)
			}
		}
	}
	sortIDs(gone)
	for i, id := range gone {
		if i > 0 && gone[i-1] == id {
			continue
		}
		t.add(Error, []mesh.ID{id},
			"keep the Service and move its selector to the new gateway pods; its address must outlive every revision",
			"this step deletes production %s: its external address is what clients use, and a new Service gets a new one", id)
	}
}

// RS018: the seed's hand overlay adds a LoadBalancer Service of its own over
// the canary pods: a second paid address no client uses, while the production
// Service never reaches the new pods.
func ruleNewEntryPoint(t *transCtx) {
	for _, s := range t.next.production {
		if s.Type != "LoadBalancer" && s.Type != "NodePort" {
			continue
		}
		if t.prev.has(t.next, s.Object) || t.base.has(t.next, s.Object) {
			continue
		}
		var prod []string
		for _, ps := range t.base.production {
			if ps.ID.Namespace == s.ID.Namespace && t.next.has(t.base, ps.Object) {
				prod = append(prod, ps.ID.String())
			}
		}
		sort.Strings(prod)
		also := ""
		if len(prod) > 0 {
			also = "; clients keep calling " + strings.Join(prod, ", ")
		}
		t.add(Error, append([]mesh.ID{s.ID}, ids(s.Selected())...),
			"let the existing production Service select the new gateway's pods (give them its selector labels) and drop this Service",
			"this step adds %s %s over gateway pods (%s): a second external entry point with its own address%s",
			s.Type, s.ID, idList(ids(s.Selected())), also)
	}
}

// RS019: the revision render of the control plane carries a non-revisioned
// istio-ingressgateway (upgrade-model.md, S1); applying it restarts the
// running gateway onto the new revision at once. An injected gateway moves
// when the injector that matches its pods changes revision: a revision tag
// moved (istioctl tag set --overwrite) or its namespace relabelled.
func ruleGatewayInPlace(t *transCtx) {
	for _, g := range t.next.m.Gateways {
		pg := t.runningBefore(g)
		if pg == nil {
			continue
		}
		from := t.prev.gatewayRevision(pg)
		to := t.next.gatewayRevision(g)
		if from == to {
			continue
		}
		_, how := t.next.m.GatewayRevision(g)
		if g.Injected {
			// The webhook, a revision tag or the namespace label moved
			// under pods that keep running: nothing restarts now, but
			// every pod created from here on is injected by the new
			// revision (pkg/kube/inject runs at pod creation only).
			t.add(Error, []mesh.ID{g.ID},
				fmt.Sprintf("scale %s to 0 behind a canary of revision %s (revision-gateway) before its injector moves: move the tag or the namespace label in a later step", g.ID.Name, to),
				"this step moves running injected gateway %s from revision %s to %s in place (%s): every pod it restarts or adds from now on (a rollout, an eviction, an HPA scale-up) is injected by revision %s, with no canary",
				g.ID, from, to, how, to)
			continue
		}
		t.add(Error, []mesh.ID{g.ID},
			fmt.Sprintf("keep the running %s unchanged (drop it from the new revision's render) and add revision %s as a separate Deployment with its own name", g.ID.Name, to),
			"this step moves running gateway %s from revision %s to %s in place (%s): all its pods restart onto the new revision at once, with no canary",
			g.ID, from, to, how)
	}
}

// runningBefore is the gateway of the previous state that g is, when it ran
// there (nil otherwise).
func (t *transCtx) runningBefore(g *mesh.Gateway) *mesh.Gateway {
	pw := t.prev.workloadFor(t.next, g.Object)
	if pw == nil || !t.prev.running(pw) {
		return nil
	}
	return pw.Gateway()
}
