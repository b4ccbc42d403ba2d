package verify

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

// RS001 (invariant 1).
func ruleEndpoints(c *stateCtx) {
	for _, s := range c.productionServices() {
		ws := s.Selected()
		running := false
		for _, w := range ws {
			running = running || c.v.running(w)
		}
		if running {
			continue
		}
		objs := append([]mesh.ID{s.ID}, ids(ws)...)
		fix := fmt.Sprintf("keep a Deployment selected by %s at replicas > 0 (or an HPA minReplicas > 0) until the new gateway's pods carry the labels %s and run", s.ID, selectorText(s.Selector))
		if len(ws) == 0 {
			c.add(Error, objs, fix, "production %s selects no pods: no workload in namespace %s carries its selector %s, so every request to its address fails", s.ID, s.ID.Namespace, selectorText(s.Selector))
			continue
		}
		c.add(Error, objs, fix, "production %s selects no running pods: %s; every request to its address fails", s.ID, c.v.describeAll(ws))
	}
}

// RS003 (invariant 2). A numeric targetPort must be a declared
// containerPort, a named one must name one (mesh.Workload.ServesPort).
func ruleTargetPorts(c *stateCtx) {
	for _, s := range c.productionServices() {
		for _, w := range s.Selected() {
			if !c.v.running(w) {
				continue
			}
			var missing []string
			for _, p := range s.Ports {
				if _, ok := w.ServesPort(p.TargetPort); !ok {
					missing = append(missing, fmt.Sprintf("%d->%s", p.Port, p.TargetPort))
				}
			}
			if len(missing) == 0 {
				continue
			}
			c.add(Error, []mesh.ID{w.ID, s.ID},
				"keep the new gateway on the ports the Service targets, or first move the Service to named targetPorts that the old and the new pods both declare (a named port resolves per pod)",
				"%s is selected by production %s but declares none of its targetPorts %s (it declares %s): requests sent there are refused",
				w.ID, s.ID, strings.Join(missing, ", "), declaredPorts(w))
		}
	}
}

func declaredPorts(w *mesh.Workload) string {
	var ps []string
	for _, c := range w.Containers {
		for _, p := range c.Ports {
			s := strconv.FormatInt(p.Port, 10)
			if p.Name != "" {
				s += "(" + p.Name + ")"
			}
			ps = append(ps, s)
		}
	}
	if len(ps) == 0 {
		return "no containerPort"
	}
	return strings.Join(ps, ", ")
}

// RS004 (invariant 3). In 1.6, pilot builds a gateway listener on the
// targetPort of the Service that selects the pod on the Gateway server's port;
// with two such Services it logs "found 2 services on port N" and uses one
// (pilot/pkg/networking/core/v1alpha3/gateway.go, the loop over
// node.ServiceInstances).
func rulePortConflict(c *stateCtx) {
	for _, w := range c.v.m.Workloads {
		svcs := w.Services()
		if len(svcs) < 2 || w.Gateway() == nil || !c.v.running(w) {
			continue
		}
		type use struct {
			svc    *mesh.Service
			target string
		}
		first := map[int64]use{}
		reported := map[[2]mesh.ID]bool{}
		for _, s := range svcs {
			for _, p := range s.Ports {
				target := p.TargetPort.String()
				if n, ok := w.ServesPort(p.TargetPort); ok {
					target = strconv.FormatInt(n, 10)
				}
				u, seen := first[p.Port]
				if !seen {
					first[p.Port] = use{s, target}
					continue
				}
				if u.target == target || u.svc == s || reported[[2]mesh.ID{u.svc.ID, s.ID}] {
					continue
				}
				reported[[2]mesh.ID{u.svc.ID, s.ID}] = true
				c.add(Error, []mesh.ID{s.ID, u.svc.ID, w.ID},
					"select these pods with one Service only: give the new pods the production Service's selector labels and drop the second Service",
					"Services %s (port %d -> %s) and %s (port %d -> %s) both select the pods of %s: the gateway listener for port %d is built from one of them, so the other sends traffic to a port the pods may not listen on",
					u.svc.ID, p.Port, u.target, s.ID, p.Port, target, w.ID, p.Port)
			}
		}
	}
}

// RS005 (invariant 4). Istio applies a Gateway resource's selector to pods in
// every namespace by default (mesh.IstioGateway.Selects).
func ruleIstioGateway(c *stateCtx) {
	for _, s := range c.productionServices() {
		var gws, running []*mesh.Workload
		for _, w := range s.Selected() {
			if w.Gateway() == nil {
				continue
			}
			gws = append(gws, w)
			if c.v.running(w) {
				running = append(running, w)
			}
		}
		// The Gateway resources programming any of them, once each, in
		// input order (sorted, then compacted: no map per Service).
		var resources []*mesh.IstioGateway
		for _, w := range gws {
			resources = append(resources, w.IstioGateways()...)
		}
		if len(gws) > 1 {
			sort.Slice(resources, func(i, j int) bool { return resources[i].Index < resources[j].Index })
			resources = slices.Compact(resources)
		}
		for _, g := range resources {
			var missing []*mesh.Workload
			for _, w := range running {
				if !g.Selects(w) {
					missing = append(missing, w)
				}
			}
			if len(missing) == 0 {
				continue
			}
			objs := append([]mesh.ID{g.ID, s.ID}, ids(missing)...)
			c.add(Error, objs,
				fmt.Sprintf("give the new gateway's pods the labels of the Gateway's selector %s (derive them from the selectors that exist, never type them by hand)", selectorText(g.Selector)),
				"Gateway resource %s programs gateways behind production %s but not %s, which %s also sends traffic to: those pods have no listener for its servers",
				g.ID, s.ID, idList(ids(missing)), s.ID)
		}
	}
}

// RS006 (invariant 5). A gateway mounts istio-<rev> with optional: true;
// when it is missing the proxy falls back to mesh.FallbackDiscoveryAddress.
func ruleMeshConfig(c *stateCtx) {
	m := c.v.m
	injectors := map[string]bool{}
	for _, h := range m.Webhooks {
		if mesh.IsInjector(h) {
			if r, ok := m.WebhookRevision(h); ok {
				injectors[r] = true
			}
		}
	}
	for _, g := range m.Gateways {
		if !c.v.running(g.Workload) {
			continue
		}
		if g.Injected {
			rev := m.RevisionOfGateway(g)
			if !injectors[rev] {
				c.add(Error, []mesh.ID{g.ID},
					fmt.Sprintf("install revision %s's injector (its istiod render) in an earlier step, or label the gateway's pods with a revision that has one", rev),
					"injected gateway %s asks for revision %s, but no injector webhook of revision %s is in this state: its pods are created without a working proxy", g.ID, rev, rev)
			}
			continue
		}
		rev, ok := mesh.RevisionOfConfigMap(g.ConfigMap)
		if !ok || rev == mesh.DefaultRevision || !m.ConfigMapMissing(g) {
			continue
		}
		c.add(Error, []mesh.ID{g.ID, {Kind: "ConfigMap", Namespace: g.ID.Namespace, Name: g.ConfigMap}},
			fmt.Sprintf("copy ConfigMap %s into namespace %s in the same or an earlier step (the copy-configmap function)", g.ConfigMap, g.ID.Namespace),
			"gateway %s (revision %s) mounts ConfigMap %s, which is absent from namespace %s: the volume is optional, so the proxy starts anyway and silently connects to %s, the default (old) revision's istiod",
			g.ID, rev, g.ConfigMap, g.ID.Namespace, mesh.FallbackDiscoveryAddress)
	}
}

// RS007 (invariant 6).
func ruleControlPlaneAddress(c *stateCtx) {
	m := c.v.m
	for _, g := range m.Gateways {
		if !c.v.running(g.Workload) {
			continue
		}
		if g.Injected {
			rev := m.RevisionOfGateway(g)
			ok := false
			for _, i := range m.IstiodsOf(rev) {
				ok = ok || c.v.running(i.Workload)
			}
			if !ok {
				c.add(Error, []mesh.ID{g.ID},
					fmt.Sprintf("keep a running istiod of revision %s while gateways use it", rev),
					"injected gateway %s uses revision %s, which has no running istiod in this state: its proxies get no configuration or certificates", g.ID, rev)
			}
			continue
		}
		// The gateway's CA_ADDR and --discoveryAddress references
		// (mesh.Model.References), without building its other ones.
		var done [2]mesh.ID
		ca, caIsSvc := g.CAService()
		disc, discIsSvc := g.DiscoveryService()
		caSvc, discSvc := m.ControlPlaneServices(g)
		for i, a := range [2]struct {
			to    mesh.ID
			isSvc bool
			svc   *mesh.Service
			why   string
		}{{ca, caIsSvc, caSvc, "CA_ADDR"}, {disc, discIsSvc, discSvc, "--discoveryAddress"}} {
			to := a.to
			if !a.isSvc || (i == 1 && done[0] == to) {
				continue
			}
			done[i] = to
			r := mesh.Reference{From: g.ID, To: to, Why: a.why}
			s := a.svc
			if s == nil {
				c.add(Error, []mesh.ID{g.ID, r.To},
					fmt.Sprintf("keep %s and its istiod until the gateway has moved to another revision", r.To),
					"gateway %s dials %s (%s), which is absent from this state: the proxy gets no configuration or certificates", g.ID, r.To, r.Why)
				continue
			}
			ok := false
			for _, w := range s.Selected() {
				ok = ok || (w.Istiod() != nil && c.v.running(w))
			}
			if !ok {
				c.add(Error, []mesh.ID{g.ID, r.To},
					fmt.Sprintf("keep a running istiod selected by %s until the gateway has moved to another revision", r.To),
					"gateway %s dials %s (%s), which selects no running istiod: the proxy gets no configuration or certificates", g.ID, r.To, r.Why)
			}
		}
	}
}

// RS008 (invariant 7). The eviction API refuses a pod covered by more than
// one PDB (istio/istio#23075, kubernetes/kubernetes#75957).
func rulePDBOverlap(c *stateCtx) {
	for _, w := range c.v.m.Workloads {
		ps := w.PDBs()
		if len(ps) < 2 || !c.v.running(w) {
			continue
		}
		objs := []mesh.ID{w.ID}
		for _, p := range ps {
			objs = append(objs, p.ID)
		}
		c.add(Error, objs,
			"keep one PDB per pod set: drop the new render's PDB or narrow its selector to the new pods only",
			"the pods of %s are selected by %d PodDisruptionBudgets (%s): every eviction fails with \"more than one PodDisruptionBudget\", so node drains block",
			w.ID, len(ps), idList(objs[1:]))
	}
}

// RS009 (invariant 7).
func rulePDBEmpty(c *stateCtx) {
	for _, p := range c.v.m.PDBs {
		if len(p.Selected()) > 0 {
			continue
		}
		c.add(Error, []mesh.ID{p.ID},
			"derive the PDB's selector from the pod labels of the gateway it protects, or drop it in favour of the PDB that already selects those pods",
			"%s selects no pod: no workload in namespace %s matches %s, so the workload it was rendered for has no disruption budget",
			p.ID, p.ID.Namespace, "{"+p.Selector.String()+"}")
	}
}

// RS010 (invariant 7): a running gateway behind a production Service has
// a PodDisruptionBudget when it should (shouldHavePDB).
func rulePDBCoverage(c *stateCtx) {
	for _, s := range c.productionServices() {
		for _, w := range s.Selected() {
			if !c.v.running(w) || w.Gateway() == nil || len(w.PDBs()) > 0 || !c.shouldHavePDB(s, w) {
				continue
			}
			c.add(Error, []mesh.ID{w.ID, s.ID},
				fmt.Sprintf("give %s a PodDisruptionBudget that selects its pods (and only one)", w.ID),
				"%s serves production %s, whose gateways had a PodDisruptionBudget, but no PDB selects its pods: a node drain may evict all of them at once",
				w.ID, s.ID)
		}
	}
}

// shouldHavePDB reports whether the gateway w behind s had a PDB to keep.
// Within a sequence S0 decides: a gateway that ran in S0 keeps what it had
// there, a new one gets one when the Service's gateways had one; on its own
// a state asks the Service's gateways now. A gateway the original running
// state (the end of a rollback walk) ran without a PDB never needs one.
func (c *stateCtx) shouldHavePDB(s *mesh.Service, w *mesh.Workload) bool {
	switch {
	case c.originallyUncovered(w):
		return false
	case c.base == nil:
		return c.v.pdbCovered(s)
	}
	if bw := c.base.workloadFor(c.v, w.Object); bw != nil {
		return len(bw.PDBs()) > 0
	}
	bs := c.base.serviceFor(c.v, s)
	return bs != nil && c.base.pdbCovered(bs)
}

// RS013 (invariant 10). istiod flips its validating webhook from Ignore to
// Fail at run time once it is ready (istio/istio#28880), so an Istio
// validation webhook counts as Fail whatever the render says.
func ruleWebhookTarget(c *stateCtx) {
	m := c.v.m
	for _, h := range m.Webhooks {
		if h.Service == nil {
			continue
		}
		svc, ws := m.WebhookTarget(h)
		running := false
		for _, w := range ws {
			running = running || c.v.running(w)
		}
		if svc != nil && running {
			continue
		}
		istioValidation := !h.Mutating && strings.HasSuffix(h.Name, ".istio.io")
		sev, effect := Warning, "with failurePolicy Ignore, requests pass unchecked (validation or injection silently stops)"
		switch {
		case h.FailurePolicy == "Fail":
			sev, effect = Error, "with failurePolicy Fail, the API server rejects every request the webhook matches"
		case istioValidation:
			sev, effect = Error, "istiod switches Istio's validating webhook to failurePolicy Fail at run time (istio/istio#28880), so every write of an Istio resource is rejected"
		}
		what := "which is absent from this state"
		if svc != nil {
			what = "which selects no running pod"
		}
		c.add(sev, []mesh.ID{h.Config.ID, h.Service.ID()},
			fmt.Sprintf("keep %s selecting a running pod of the webhook's server until the webhook is repointed (for istiod: an alias Service selecting the new revision's istiod)", h.Service.ID()),
			"webhook %s of %s calls %s, %s: %s", h.Name, h.Config.ID, h.Service.ID(), what, effect)
	}
}

// RS014 (invariant 11).
func ruleInjectionNamespace(c *stateCtx) {
	m := c.v.m
	for _, n := range m.Namespaces {
		inj := mesh.NamespaceInjection(n.Labels)
		if !inj.Labelled() || len(m.InjectorsForNamespace(n.Labels)) > 0 {
			continue
		}
		c.add(Error, []mesh.ID{n.ID},
			"relabel the namespace to a revision whose injector is in the state (istio.io/rev=<rev>) before the old injector is removed",
			"namespace %s is labelled %s but no injector webhook in this state matches it: new pods there start without a sidecar", n.ID.Name, injectionLabel(inj))
	}
}

func injectionLabel(i mesh.Injection) string {
	if i.Legacy {
		return mesh.LabelInjection + "=enabled"
	}
	return mesh.LabelRev + "=" + i.Rev
}

// RS020 (invariant 10, the silent half): a state with no Istio validating
// webhook at all passes RS013 (no webhook, nothing unreachable), yet Istio
// resources are no longer validated. The running render's validator is the
// one a legacy istiod patches (VALIDATION_WEBHOOK_CONFIG_NAME,
// pilot/pkg/bootstrap/validation.go in 1.6-1.10), so pruning it with the old
// revision silently ends validation.
func ruleValidationContinuity(c *stateCtx) {
	if c.base == nil {
		return
	}
	var had []mesh.ID
	seen := map[mesh.ID]bool{}
	for _, h := range istioValidators(c.base) {
		if !seen[h.Config.ID] {
			seen[h.Config.ID] = true
			had = append(had, h.Config.ID)
		}
	}
	if len(had) == 0 || len(istioValidators(c.v)) > 0 {
		return
	}
	c.add(Error, had,
		"keep the running validating webhook configuration and point its Service at the new istiod (webhook-fix), or emit the new revision's validator",
		"no validating webhook for Istio resources reaches a running istiod in this state, while the running state had %s: Istio resources are no longer validated, and nothing reports it", idList(had))
}

// istioValidators are the validating webhooks of Istio's API (named
// *.istio.io) that reach a running pod.
func istioValidators(v *view) []*mesh.Webhook {
	var out []*mesh.Webhook
	for _, h := range v.m.Webhooks {
		if h.Mutating || h.Service == nil || !strings.HasSuffix(h.Name, ".istio.io") {
			continue
		}
		_, ws := v.m.WebhookTarget(h)
		for _, w := range ws {
			if v.running(w) {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// originallyUncovered reports whether the original running state (the end
// of a rollback walk) ran this workload with no PDB selecting its pods.
func (c *stateCtx) originallyUncovered(w *mesh.Workload) bool {
	for _, o := range c.orig {
		if ow := o.workloadFor(c.v, w.Object); ow != nil && len(ow.PDBs()) == 0 {
			return true
		}
	}
	return false
}
