package prunelegacy

import (
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
)

// decision is the fate of one old object.
type decision struct {
	keep   bool
	shared bool // present in the desired state by canonical identity
	reason string
}

// classification holds every old object's decision.
type classification struct {
	dec map[mesh.ID]decision
}

// classify decides every old object, reports each decision, and reports
// errors for the deletions that would break the desired state.
func classify(mOld, mNew *mesh.Model, res *krm.Results) *classification {
	c := &classification{dec: map[mesh.ID]decision{}}
	newByID := map[mesh.ID]*mesh.Object{}
	for _, o := range mNew.Objects {
		newByID[mesh.CanonicalID(o.ID)] = o
	}
	refIdx := mNew.PruneReferenceIndex()
	istioGW := map[mesh.ID]*mesh.IstioGateway{}
	for _, g := range mOld.IstioGateways {
		istioGW[g.ID] = g
	}
	var warnings []func()
	for _, o := range mOld.Objects {
		id := o.ID
		cid := mesh.CanonicalID(id)
		if n, ok := newByID[cid]; ok {
			why := "present in the desired state"
			if n.APIVersion != o.APIVersion {
				why += " (as " + n.APIVersion + ")"
			}
			c.dec[id] = decision{keep: true, shared: true, reason: why}
			continue
		}
		if mesh.IsCRD(id) {
			c.dec[id] = decision{keep: true, reason: "a CustomResourceDefinition: deleting it deletes every " + id.Name + " resource in the cluster (invariant 12)"}
			continue
		}
		if id.Group == "" && id.Kind == "Namespace" {
			c.dec[id] = decision{keep: true, reason: "a Namespace: deleting it deletes everything in it, the new control plane included (invariant 12)"}
			continue
		}
		var svc *mesh.Service
		if id.Group == "" && id.Kind == "Service" {
			svc = mOld.Service(id.Namespace, id.Name)
		}
		if svc != nil && (mOld.SelectsGateway(svc) || mNew.SelectsGateway(svc)) {
			c.dec[id] = decision{keep: true, reason: "a production Service: it selects gateway pods (" + selectorString(svc.Selector) + "), and its address is what clients reach (invariant 14)"}
			continue
		}
		if refs := refIdx[cid]; len(refs) > 0 {
			c.dec[id] = decision{keep: true, reason: "still referenced by the desired state: " + refList(refs)}
			for _, r := range refs {
				if r.Why == mesh.WhyFallbackDiscovery {
					r := r
					warnings = append(warnings, func() {
						w, _ := mNew.Get(r.From)
						res.Warnf(w, "%s mounts a mesh ConfigMap that is missing from namespace %s, so its proxy falls back to %s: %s is kept, but the old istiod behind it is not. Run copy-configmap (step S2) before pruning", r.From, r.From.Namespace, mesh.FallbackDiscoveryAddress, id)
					})
				}
			}
			continue
		}
		if d, ok := servesDesired(id, svc, istioGW[id], mOld, mNew); ok {
			c.dec[id] = d
			continue
		}
		if !knownKind(id) {
			c.dec[id] = decision{keep: true, reason: "unclassified: revshift does not know what a " + kindName(id) + " depends on, so it is kept rather than deleted by guess; delete it by hand if only the old revision used it"}
			warnings = append(warnings, func() { res.Warnf(o, "kept: %s", c.dec[id].reason) })
			continue
		}
		c.dec[id] = decision{reason: "only in the old state, and nothing in the desired state uses it"}
	}
	c.keepReferencedByKept(mOld)
	c.checkInjectors(mOld, mNew, res)
	c.checkProductionServices(mOld, mNew, newByID, res)
	for _, o := range mOld.Objects {
		d := c.dec[o.ID]
		if d.keep {
			res.Infof(o, "keep: %s", d.reason)
		} else {
			res.Infof(o, "delete: %s", d.reason)
		}
	}
	for _, w := range warnings {
		w()
	}
	return c
}

// servesDesired keeps an old object that serves the desired state's
// workloads: a Service that selects their pods, an Istio Gateway that
// programs their gateway pods, a validating configuration whose webhooks
// call their istiod.
func servesDesired(id mesh.ID, svc *mesh.Service, g *mesh.IstioGateway, mOld, mNew *mesh.Model) (decision, bool) {
	if svc != nil {
		if ws := mNew.WorkloadsSelectedBy(svc.ID.Namespace, svc.SelectorLabels()); len(ws) > 0 {
			return decision{keep: true, reason: "selects the pods of " + workloadList(ws) + ", which the desired state keeps"}, true
		}
	}
	if g != nil {
		if gws := mNew.GatewaysProgrammedBy(g); len(gws) > 0 {
			ws := make([]*mesh.Workload, len(gws))
			for i, gw := range gws {
				ws[i] = gw.Workload
			}
			return decision{keep: true, reason: "programs the pods of gateway " + workloadList(ws) + ", which the desired state keeps"}, true
		}
	}
	if id.Kind == "ValidatingWebhookConfiguration" && id.Group == "admissionregistration.k8s.io" {
		if istiods := validatorServedByDesired(mOld, mNew, id); len(istiods) > 0 {
			return decision{keep: true, reason: "its webhooks call " + workloadList(istiods) + " of the desired state (webhook-fix pointed them there): deleting it would silently stop validating Istio resources"}, true
		}
	}
	return decision{}, false
}

// validatorServedByDesired returns the desired state's workloads that every
// webhook of an old validating configuration reaches (through its Service,
// which webhook-fix may have re-pointed), or nil when one of them reaches
// none. Such a configuration is the one the new istiod patches and serves
// (VALIDATION_WEBHOOK_CONFIG_NAME, pilot/pkg/bootstrap/validation.go in
// 1.6-1.10): it is part of the desired state even though only the old render
// has it.
func validatorServedByDesired(mOld, mNew *mesh.Model, id mesh.ID) []*mesh.Workload {
	hooks := mOld.WebhooksOf(id)
	if len(hooks) == 0 {
		return nil
	}
	var out []*mesh.Workload
	seen := map[*mesh.Workload]bool{}
	for _, h := range hooks {
		if h.Service == nil {
			return nil
		}
		svc := mNew.Service(h.Service.Namespace, h.Service.Name)
		if svc == nil {
			svc = mOld.Service(h.Service.Namespace, h.Service.Name)
		}
		if svc == nil {
			return nil
		}
		ws := mNew.WorkloadsSelectedBy(svc.ID.Namespace, svc.SelectorLabels())
		if len(ws) == 0 {
			return nil
		}
		for _, w := range ws {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

// keepReferencedByKept keeps what kept old-only objects need, to a fixed
// point. Shared objects are not followed: their desired copy is what runs,
// and its references are already in the desired state's index.
func (c *classification) keepReferencedByKept(mOld *mesh.Model) {
	var work []*mesh.Object
	for _, o := range mOld.Objects {
		if d := c.dec[o.ID]; d.keep && !d.shared {
			work = append(work, o)
		}
	}
	byCID := map[mesh.ID]*mesh.Object{}
	for _, o := range mOld.Objects {
		byCID[mesh.CanonicalID(o.ID)] = o
	}
	for len(work) > 0 {
		o := work[0]
		work = work[1:]
		for _, r := range mOld.PruneReferences(o) {
			t, ok := byCID[mesh.CanonicalID(r.To)]
			if !ok || c.dec[t.ID].keep {
				continue
			}
			c.dec[t.ID] = decision{keep: true, reason: "needed by " + o.ID.String() + " (" + r.Why + "), which is kept"}
			work = append(work, t)
		}
	}
}

// knownKind reports whether revshift knows what an object of this kind
// depends on, so deleting it when nothing references it is safe.
func knownKind(id mesh.ID) bool {
	switch id.Group {
	case "":
		switch id.Kind {
		case "ConfigMap", "Secret", "Service", "ServiceAccount", "Endpoints":
			return true
		}
	case "apps", "extensions":
		switch id.Kind {
		case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
			return true
		}
	case "rbac.authorization.k8s.io":
		return true
	case "policy":
		return id.Kind == "PodDisruptionBudget"
	case "autoscaling":
		return id.Kind == "HorizontalPodAutoscaler"
	case "admissionregistration.k8s.io":
		return id.Kind == "MutatingWebhookConfiguration" || id.Kind == "ValidatingWebhookConfiguration"
	case "networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io":
		// Istio configuration rendered by istioctl; VirtualService ->
		// Gateway is the one edge into it (mesh.PruneReferences).
		return true
	}
	return false
}
