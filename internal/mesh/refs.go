package mesh

import "sort"

// Reference is an edge from one object to another that it needs.
type Reference struct {
	From ID
	To   ID
	// Why says how From uses To, e.g. "serviceAccountName", "CA_ADDR".
	Why string
	// Optional is true when From runs without To (an optional volume), so
	// a missing target is a degradation, not a failure.
	Optional bool
}

// References returns what an object needs, by identity: a workload's
// ServiceAccount, mounted ConfigMaps and Secrets, and (gateways) the
// control-plane Services it dials; a binding's role and ServiceAccounts; a
// webhook configuration's Services; an HPA's target. Selection
// (Service -> pods, PDB -> pods) is not a reference: see Selected.
func (m *Model) References(o *Object) []Reference {
	var out []Reference
	add := func(to ID, why string, optional bool) {
		out = append(out, Reference{From: o.ID, To: to, Why: why, Optional: optional})
	}
	ns := o.ID.Namespace
	if w := m.workloadsBy[o.ID]; w != nil {
		if w.ServiceAccount != "" {
			add(ID{Kind: "ServiceAccount", Namespace: ns, Name: w.ServiceAccount}, "serviceAccountName", false)
		}
		for _, v := range w.Volumes {
			if v.ConfigMap != "" {
				add(ID{Kind: "ConfigMap", Namespace: ns, Name: v.ConfigMap}, "volume "+v.Name, v.Optional)
			}
			if v.Secret != "" {
				add(ID{Kind: "Secret", Namespace: ns, Name: v.Secret}, "volume "+v.Name, v.Optional)
			}
		}
		if g := w.Gateway(); g != nil {
			for _, a := range []struct{ addr, why string }{{g.CAAddr, "CA_ADDR"}, {g.DiscoveryAddress, "--discoveryAddress"}} {
				if a.addr == "" {
					continue
				}
				if sns, name, ok := hostService(a.addr, ns); ok {
					add(ID{Kind: "Service", Namespace: sns, Name: name}, a.why, false)
				}
			}
		}
		return out
	}
	switch o.ID.Kind {
	case "RoleBinding", "ClusterRoleBinding":
		if b := m.bindingOf[o.ID]; b != nil {
			add(b.RoleRef, "roleRef", false)
			for _, s := range b.Subjects {
				if s.Kind == "ServiceAccount" {
					add(ID{Kind: "ServiceAccount", Namespace: s.Namespace, Name: s.Name}, "subject", false)
				}
			}
		}
	case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
		for _, h := range m.webhooksOf[o.ID] {
			if h.Service != nil {
				add(h.Service.ID(), "webhook "+h.Name+" clientConfig.service", false)
			}
		}
	case "HorizontalPodAutoscaler":
		if h := m.hpaOf[o.ID]; h != nil {
			{
				add(ID{Group: "apps", Kind: h.TargetKind, Namespace: ns, Name: h.TargetName}, "scaleTargetRef", false)
			}
		}
	}
	return out
}

// ReferencesTo returns every reference in the model whose target is id, in
// deterministic order. The reverse index is built on first use.
func (m *Model) ReferencesTo(id ID) []Reference {
	if m.refsTo == nil {
		m.refsTo = map[ID][]Reference{}
		for _, o := range m.Objects {
			for _, r := range m.References(o) {
				m.refsTo[r.To] = append(m.refsTo[r.To], r)
			}
		}
		for _, rs := range m.refsTo {
			sort.Slice(rs, func(i, j int) bool { return rs[i].From.Less(rs[j].From) })
		}
	}
	return m.refsTo[id]
}
