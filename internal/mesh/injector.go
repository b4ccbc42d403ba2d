package mesh

import "k8s.io/apimachinery/pkg/labels"

// Which injector webhook injects a workload's pods, decided as the API
// server and Istio's injector decide it when a pod is created:
//
//   - the API server calls the mutating webhooks of the configurations
//     sorted by configuration name, each configuration's webhooks in order
//     (k8s.io/apiserver/pkg/admission/configuration/
//     mutating_webhook_manager.go), every one whose namespaceSelector
//     matches the namespace's labels and whose objectSelector matches the
//     pod's labels (k8s.io/apiserver/pkg/admission/plugin/webhook/
//     predicates);
//   - the first Istio injector to inject wins: the next ones find the
//     sidecar.istio.io/status annotation it wrote and leave the pod alone
//     (injectRequired in istio pkg/kube/inject/inject.go).
//
// So a revision tag (istio.io/rev=prod-stable) resolves to the revision of
// the istiod its tag webhook calls, and the namespace's istio-injection or
// istio.io/rev label counts only through the selectors that read it.

// LabelNamespaceName is the label the API server sets on every Namespace
// (kubernetes.io/metadata.name, GA in 1.22): selectors may match it even when
// the Namespace object is not in the input.
const LabelNamespaceName = "kubernetes.io/metadata.name"

// InjectorOf returns the injector webhook that injects the workload's pods
// in this model, nil when none matches them (or the pods opt out, see
// Workload.NotInjected). The namespace's labels are those of its Namespace
// object in the model, plus LabelNamespaceName.
func (m *Model) InjectorOf(w *Workload) *Webhook {
	if not, _ := w.NotInjected(); not {
		return nil
	}
	ns := labels.Set{LabelNamespaceName: w.ID.Namespace}
	if n := m.nsByName[w.ID.Namespace]; n != nil {
		for k, v := range n.Labels {
			ns[k] = v
		}
	}
	return m.injectorFor(ns, labels.Set(w.PodLabels))
}

// injectorFor is the first injector webhook the API server calls for a pod
// with these labels in a namespace with these labels.
func (m *Model) injectorFor(ns, pod labels.Set) *Webhook {
	var first *Webhook
	for _, h := range m.Webhooks {
		if !IsInjector(h) || !h.NamespaceSelector.Matches(ns) || !h.ObjectSelector.Matches(pod) {
			continue
		}
		if first == nil || calledBefore(h, first) {
			first = h
		}
	}
	return first
}

// calledBefore reports whether the API server calls webhook a before b.
func calledBefore(a, b *Webhook) bool {
	if a.Config.ID.Name != b.Config.ID.Name {
		return a.Config.ID.Name < b.Config.ID.Name
	}
	return a.Index < b.Index
}

// RequestedRevision is the revision (or revision tag) a workload's pods ask
// for, and where it is written: their istio.io/rev label, else their
// namespace's istio.io/rev, else the default revision (which the legacy
// istio-injection label and sidecar.istio.io/inject=true ask for). It is
// what a gateway runs when no injector of the model answers its pods.
func (m *Model) RequestedRevision(w *Workload) (rev, how string) {
	if r := w.PodLabels[LabelRev]; r != "" {
		return r, "pod label " + LabelRev + "=" + r
	}
	if n := m.nsByName[w.ID.Namespace]; n != nil {
		if inj := NamespaceInjection(n.Labels); inj.Rev != "" {
			return inj.Rev, "namespace label " + LabelRev + "=" + inj.Rev
		}
	}
	return DefaultRevision, "no " + LabelRev + " label"
}

// TagRevision resolves a revision tag to the revision whose istiod its
// injector webhooks call, as a pod labelled istio.io/rev=<tag> in a
// namespace without injection labels would be injected. ok is false when
// no injector of the model answers such a pod.
func (m *Model) TagRevision(tag string) (rev string, h *Webhook, ok bool) {
	if h = m.injectorFor(labels.Set{}, labels.Set{LabelRev: tag}); h == nil {
		return "", nil, false
	}
	rev, ok = m.WebhookRevision(h)
	return rev, h, ok
}

// SameMatch reports whether two injector webhooks match the same pods in
// the same order: the same configuration and name (the API server's call
// order), the same /inject target (IsInjector) and the same selectors.
// Which istiod the target reaches is not compared: InjectorOf does not read
// it.
func SameMatch(a, b *Webhook) bool {
	if a.Config.ID != b.Config.ID || a.Name != b.Name || a.Mutating != b.Mutating || a.URL != b.URL || (a.Service == nil) != (b.Service == nil) {
		return false
	}
	if a.Service != nil && *a.Service != *b.Service {
		return false
	}
	return a.NamespaceSelector.String() == b.NamespaceSelector.String() && a.ObjectSelector.String() == b.ObjectSelector.String()
}
