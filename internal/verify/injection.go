package verify

import (
	"fmt"
	"maps"
	"slices"

	"github.com/revshift/revshift/internal/mesh"
)

// RS024 (invariant 5): an injected gateway whose pods ask for a revision or
// a revision tag (their istio.io/rev label) is injected by that revision.
// The API server calls the first injector whose selectors match
// (mesh.Model.InjectorOf), and the pod's label is only one of its inputs: a
// namespace labelled istio-injection=enabled is matched by the default
// injector's namespace webhook whatever the pod asks for, while every
// revisioned injector requires istio-injection DoesNotExist
// (manifests/charts/istio-control/istio-discovery/templates/
// mutatingwebhook.yaml). A canary labelled istio.io/rev=<new> there runs the
// old revision under a new name.
func ruleInjectionRequest(c *stateCtx) {
	m := c.v.m
	for _, g := range m.Gateways {
		asked := g.PodLabels[mesh.LabelRev]
		if !g.Injected || asked == "" || !c.v.running(g.Workload) {
			continue
		}
		h := m.InjectorOf(g.Workload)
		if h == nil {
			continue // no injector at all: RS006
		}
		want := asked
		if r, _, ok := m.TagRevision(asked); ok {
			want = r // a tag, or a revision's own injector
		}
		got, ok := m.WebhookRevision(h)
		if !ok || got == want {
			continue
		}
		c.add(Error, []mesh.ID{g.ID, h.Config.ID},
			fmt.Sprintf("remove istio-injection from namespace %s (or whatever label makes %s match) before its pods are created: the pod label alone does not choose the injector", g.ID.Namespace, h.Config.ID.Name),
			"injected gateway %s asks for %s=%s (revision %s), but its pods are injected by %s webhook %s of revision %s, which the API server calls first: it runs revision %s under its name",
			g.ID, mesh.LabelRev, asked, want, h.Config.ID.Name, h.Name, got, got)
	}
}

// RS025 (invariant 11): no step starts injecting a workload of the input
// that no injector injected before. Nothing restarts at that step, but every
// pod the workload creates from then on gets a sidecar (pkg/kube/inject runs
// at pod creation): a change of the data plane that no step of the upgrade
// asked for. The default revision tag is such an injector in a mesh that had
// none (a revisioned Helm install): its object webhook matches every pod
// labelled sidecar.istio.io/inject=true without istio.io/rev
// (manifests/charts/istio-control/istio-discovery/templates/revision-tags-mwc.yaml).
// A namespace is judged through its workloads; an injection label that no
// injector answers is RS014's.
func ruleInjectionStart(t *transCtx) {
	for _, p := range t.injectionMayMove() {
		pw, w := p.prev, p.next
		if t.prev.injectorOf(pw) != nil {
			continue
		}
		h := t.next.injectorOf(w)
		if h == nil {
			continue
		}
		rev, _ := t.next.m.WebhookRevision(h)
		t.add(Error, []mesh.ID{w.ID, h.Config.ID},
			fmt.Sprintf("keep %s out of this step, or label %s's pods sidecar.istio.io/inject=\"false\" if they must stay without a sidecar", h.Config.ID.Name, w.ID),
			"this step starts injecting %s, which no injector injected before: %s webhook %s matches its pods, so every pod it creates from now on gets a sidecar of revision %s",
			w.ID, h.Config.ID.Name, h.Name, rev)
	}
}

// RS026 (invariant 11): no step stops injecting a running workload of the
// input. Nothing restarts at that step, but every pod the workload creates
// from then on starts without a sidecar: no mTLS, no telemetry, and, under
// STRICT PeerAuthentication, no traffic from the mesh. Removing the
// injector that a pod's own istio.io/rev label (or sidecar.istio.io/inject)
// relies on is such a step; RS014 judges the namespaces' labels.
func ruleInjectionStop(t *transCtx) {
	for _, p := range t.injectionMayMove() {
		pw, w := p.prev, p.next
		if !t.next.running(w) || t.next.injectorOf(w) != nil {
			continue
		}
		h := t.prev.injectorOf(pw)
		if h == nil {
			continue
		}
		rev, _ := t.prev.m.WebhookRevision(h)
		fix := fmt.Sprintf("move %s onto the new revision (its istio.io/rev label, or its namespace's) before this step", w.ID)
		if w.Gateway() != nil {
			fix = fmt.Sprintf("scale %s to 0 behind its canary (revision-gateway) before this step", w.ID)
		}
		t.add(Error, []mesh.ID{w.ID, h.Config.ID}, fix,
			"this step stops injecting running %s: it was injected by %s webhook %s (revision %s), and no injector matches its pods now, so every pod it creates from now on starts without a sidecar",
			w.ID, h.Config.ID.Name, h.Name, rev)
	}
}

// injectionPair is a workload of the next state and its counterpart in the
// previous one.
type injectionPair struct{ prev, next *mesh.Workload }

// injectionMayMove returns, once per step, the workloads in both states
// whose injector may differ between them: all of them, unless the step
// leaves every other input of the injectors' choice alone
// (injectionStable); then those whose pods changed what the injectors
// read of them (podInputsChanged).
func (t *transCtx) injectionMayMove() []injectionPair {
	if t.step.injPairsDone {
		return t.step.injPairs
	}
	stable := t.injectionStable()
	var out []injectionPair
	for _, w := range t.next.m.Workloads {
		pw := t.prev.workloadFor(t.next, w.Object)
		if pw == nil {
			continue
		}
		if stable && !t.podInputsChanged(pw, w) {
			continue
		}
		out = append(out, injectionPair{pw, w})
	}
	t.step.injPairs, t.step.injPairsDone = out, true
	return out
}

// podInputsChanged reports whether a workload's pods changed what the
// injectors read of them: a label their object selectors name,
// sidecar.istio.io/inject (label or annotation), or hostNetwork
// (Workload.NotInjected).
func (t *transCtx) podInputsChanged(pw, w *mesh.Workload) bool {
	if pw.HostNetwork != w.HostNetwork || pw.PodAnnotations[mesh.LabelSidecarInject] != w.PodAnnotations[mesh.LabelSidecarInject] {
		return true
	}
	for _, k := range t.step.injKeys {
		a, aok := pw.PodLabels[k]
		b, bok := w.PodLabels[k]
		if a != b || aok != bok {
			return true
		}
	}
	return false
}

// injectionStable reports whether the step keeps the injector webhooks
// (mesh.SameMatch, in the same order) and every Namespace's labels:
// then the injector of a pod changes only with its own labels
// (mesh.Model.InjectorOf reads nothing else).
func (t *transCtx) injectionStable() bool {
	if !t.step.injStableDone {
		t.step.injStable, t.step.injStableDone = t.computeInjectionStable(), true
	}
	return t.step.injStable
}

func (t *transCtx) computeInjectionStable() bool {
	a, b := injectors(t.prev.m), injectors(t.next.m)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !mesh.SameMatch(a[i], b[i]) {
			return false
		}
	}
	if len(t.prev.m.Namespaces) != len(t.next.m.Namespaces) {
		return false
	}
	keys := map[string]bool{mesh.LabelSidecarInject: true}
	for _, h := range a {
		reqs, _ := h.ObjectSelector.Requirements()
		for _, r := range reqs {
			keys[r.Key()] = true
		}
	}
	t.step.injKeys = slices.Sorted(maps.Keys(keys))
	before := make(map[string]map[string]string, len(t.prev.m.Namespaces))
	for _, ns := range t.prev.m.Namespaces {
		before[ns.ID.Name] = ns.Labels
	}
	for _, ns := range t.next.m.Namespaces {
		if l, ok := before[ns.ID.Name]; !ok || !maps.Equal(l, ns.Labels) {
			return false
		}
	}
	return true
}

// injectors are the injector webhooks of m, in the model's order.
func injectors(m *mesh.Model) []*mesh.Webhook {
	var out []*mesh.Webhook
	for _, h := range m.Webhooks {
		if mesh.IsInjector(h) {
			out = append(out, h)
		}
	}
	return out
}
