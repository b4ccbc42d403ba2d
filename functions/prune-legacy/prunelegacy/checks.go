package prunelegacy

import (
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
)

// checkInjectors keeps an old injector configuration that a labelled
// namespace still depends on alone, and reports it as an error: deleting it
// silently stops injection there, and deleting its istiod first blocks pod
// creation (failurePolicy Fail).
func (c *classification) checkInjectors(mOld, mNew *mesh.Model, res *krm.Results) {
	type nsInfo struct {
		obj    *mesh.Object
		labels map[string]string
	}
	var nss []nsInfo
	newNS := map[string]bool{}
	for _, n := range mNew.Namespaces {
		nss = append(nss, nsInfo{n.Object, n.Labels})
		newNS[n.ID.Name] = true
	}
	for _, n := range mOld.Namespaces {
		if !newNS[n.ID.Name] {
			nss = append(nss, nsInfo{n.Object, n.Labels})
		}
	}
	rev := ""
	if rs := mNew.Revisions(); len(rs) == 1 {
		rev = rs[0]
	}
	for _, o := range mOld.WebhookConfigs() {
		if c.dec[o.ID].keep || o.ID.Kind != "MutatingWebhookConfiguration" {
			continue
		}
		injector := false
		for _, h := range mOld.WebhooksOf(o.ID) {
			injector = injector || mesh.IsInjector(h)
		}
		if !injector {
			continue
		}
		if len(nss) == 0 {
			res.Warnf(o, "sidecar injector %s is deleted, but the input has no Namespace objects, so revshift cannot check that no namespace still depends on it: relabel every namespace to istio.io/rev=<new revision> (step S5) first, or add your Namespaces to the input", o.ID.Name)
			continue
		}
		for _, n := range nss {
			l := map[string]string{"kubernetes.io/metadata.name": n.obj.ID.Name}
			for k, v := range n.labels {
				l[k] = v
			}
			inj := mesh.NamespaceInjection(l)
			if !inj.Labelled() {
				continue
			}
			label := mesh.LabelRev + "=" + inj.Rev
			if inj.Legacy {
				label = mesh.LabelInjection + "=enabled"
			}
			byThis := false
			for _, h := range mOld.InjectorsForNamespace(l) {
				byThis = byThis || h.Config == o
			}
			if !byThis {
				continue
			}
			others := len(mNew.InjectorsForNamespace(l)) > 0
			for _, h := range mOld.InjectorsForNamespace(l) {
				others = others || (h.Config != o && c.dec[h.Config.ID].keep)
			}
			if others {
				continue
			}
			c.dec[o.ID] = decision{keep: true, reason: "namespace " + n.obj.ID.Name + " (" + label + ") is still injected by it and by nothing else"}
			hint := "istio.io/rev=<new revision>"
			if rev != "" {
				hint = "istio.io/rev=" + rev
			}
			res.Errorf(n.obj, "namespace %s is labelled %s and only the old injector %s selects it: deleting the injector stops sidecar injection there. Relabel it to %s (removing istio-injection) first (step S5)", n.obj.ID.Name, label, o.ID.Name, hint)
		}
	}
}

// checkProductionServices reports a kept production Service that would
// select no running gateway once the old ones are deleted (invariant 1).
func (c *classification) checkProductionServices(mOld, mNew *mesh.Model, newByID map[mesh.ID]*mesh.Object, res *krm.Results) {
	for _, s := range mOld.Services {
		if !c.dec[s.ID].keep || !mOld.SelectsGateway(s) {
			continue
		}
		target := s
		if d := mNew.Service(s.ID.Namespace, s.ID.Name); d != nil {
			target = d
		}
		running := false
		for _, w := range mNew.WorkloadsSelectedBy(target.ID.Namespace, target.SelectorLabels()) {
			if w.Gateway() != nil && mNew.MinReplicas(w) > 0 {
				running = true
				break
			}
		}
		if running {
			continue
		}
		var old []*mesh.Workload
		for _, w := range s.Selected() {
			if !c.dec[w.ID].keep {
				old = append(old, w)
			}
		}
		if len(old) == 0 {
			continue
		}
		res.Errorf(s.Object, "production Service %s would select no running gateway: it selects %s, which this prune deletes, and no gateway of the desired state with replicas > 0. Add the canary gateway (step S3) and shift to it (S4) before pruning", s.ID, workloadList(old))
	}
}
