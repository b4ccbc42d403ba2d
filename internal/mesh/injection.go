package mesh

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Sidecar injection: which namespaces ask for a sidecar, which injector
// webhooks answer them, and how workloads in them pick up a new injector.

// LabelInjection is the legacy namespace injection label. Its value
// "enabled" selects the injector of the control plane installed without a
// revision.
const LabelInjection = "istio-injection"

// LabelSidecarInject is the pod-level opt-out (label or annotation; value
// "false" means never inject).
const LabelSidecarInject = "sidecar.istio.io/inject"

// Injection is what a namespace's labels ask of the sidecar injectors.
//
// istio-injection takes precedence over istio.io/rev: every revisioned
// injector selects namespaces with `istio-injection DoesNotExist` and
// `istio.io/rev In [<rev>]` (manifests/charts/istio-control/istio-discovery/
// templates/mutatingwebhook.yaml, 1.6 onwards; the 1.6.14 and 1.31 renders in
// ../shared carry exactly these selectors), while the legacy injector
// selects `istio-injection: enabled`. A namespace that keeps istio-injection
// is therefore never matched by a revision's injector, whatever istio.io/rev
// it also carries.
type Injection struct {
	// Legacy is true for istio-injection=enabled.
	Legacy bool
	// Disabled is true when istio-injection is present with any other
	// value: no injector matches the namespace.
	Disabled bool
	// Rev is the istio.io/rev value (a revision or a revision tag) when
	// istio-injection is absent.
	Rev string
}

// Labelled reports whether the namespace asks for injection at all.
func (i Injection) Labelled() bool { return i.Legacy || i.Rev != "" }

// NamespaceInjection reads a namespace's injection labels.
func NamespaceInjection(nsLabels map[string]string) Injection {
	if v, ok := nsLabels[LabelInjection]; ok {
		if v == "enabled" {
			return Injection{Legacy: true}
		}
		return Injection{Disabled: true}
	}
	return Injection{Rev: nsLabels[LabelRev]}
}

// IsInjector reports whether a webhook is an Istio sidecar injector: a
// mutating webhook whose service path (or URL, for remote clusters) is
// /inject (every istiod chart since 1.5; revision-tag webhooks too).
func IsInjector(h *Webhook) bool {
	if !h.Mutating {
		return false
	}
	if h.Service != nil {
		return strings.HasPrefix(h.Service.Path, "/inject")
	}
	return strings.Contains(h.URL, "/inject")
}

// InjectorsForNamespace returns the injector webhooks that inject a plain
// pod (one with no injection labels of its own) created in a namespace with
// the given labels: the namespace selector matches and the object selector
// matches an empty label set. Modern charts' object-level webhooks (which
// need a pod label) are therefore not counted.
func (m *Model) InjectorsForNamespace(nsLabels map[string]string) []*Webhook {
	var out []*Webhook
	set := labels.Set(nsLabels)
	for _, h := range m.Webhooks {
		if IsInjector(h) && h.NamespaceSelector.Matches(set) && h.ObjectSelector.Matches(labels.Set{}) {
			out = append(out, h)
		}
	}
	return out
}

// WebhookRevision is the revision whose istiod a webhook calls: the
// revision of its Service (see ServiceRevision), else the istio.io/rev label
// of its configuration (revision-tag webhooks carry the revision there).
func (m *Model) WebhookRevision(h *Webhook) (string, bool) {
	if h.Service != nil {
		if r, ok := m.ServiceRevision(h.Service.Namespace, h.Service.Name); ok {
			return r, true
		}
	}
	if r := h.Config.Node().GetLabels()[LabelRev]; r != "" {
		return r, true
	}
	return "", false
}

// WorkloadsIn returns the Deployments, StatefulSets and DaemonSets of a
// namespace, in input order (a copy: the model's index stays intact).
func (m *Model) WorkloadsIn(ns string) []*Workload {
	n, ok := m.nsID[ns]
	if !ok {
		return nil
	}
	return slices.Clone(m.podsByNS[n])
}

// NotInjected reports whether the injector refuses the workload's pods
// whatever their namespace says, and why: hostNetwork pods are never
// injected, and sidecar.istio.io/inject set (the label wins over the
// annotation when both are present) to anything but y/yes/true/on, e.g.
// "false", opts out. This is injectRequired in pkg/kube/inject/inject.go
// (Istio 1.10+; the 1.5/1.6 injector read the annotation the same way).
func (w *Workload) NotInjected() (bool, string) {
	if w.HostNetwork {
		return true, "spec.template.spec.hostNetwork is true"
	}
	where := "label"
	v, ok := w.PodLabels[LabelSidecarInject]
	if !ok {
		where = "annotation"
		v = w.PodAnnotations[LabelSidecarInject]
	}
	switch strings.ToLower(v) {
	case "", "y", "yes", "true", "on":
		return false, ""
	}
	return true, fmt.Sprintf("pod template %s %s=%q", where, LabelSidecarInject, v)
}

// RollsOnTemplateChange reports whether a change to the pod template
// replaces the workload's pods, and if not, why. A Deployment does unless
// spec.paused; a StatefulSet or DaemonSet does unless its updateStrategy is
// OnDelete, which is also the default of the old APIs (apps/v1beta1
// StatefulSet, extensions/v1beta1 DaemonSet; k8s pkg/apis/*/v1beta1
// defaults.go). Anything else (apps/v1, apps/v1beta2) defaults to
// RollingUpdate.
func (w *Workload) RollsOnTemplateChange() (bool, string) {
	y := w.Node().YNode()
	if w.ID.Kind == "Deployment" {
		if scalar(lookup(y, "spec", "paused")) == "true" {
			return false, "spec.paused is true"
		}
		return true, ""
	}
	t := scalar(lookup(y, "spec", "updateStrategy", "type"))
	if t == "" && (w.APIVersion == "apps/v1beta1" || w.APIVersion == "extensions/v1beta1") {
		return false, fmt.Sprintf("spec.updateStrategy.type defaults to OnDelete in %s", w.APIVersion)
	}
	if t == "OnDelete" {
		return false, "spec.updateStrategy.type is OnDelete"
	}
	return true, ""
}

// ParseLabelSelector parses a metav1.LabelSelector written in a
// functionConfig (field names it in errors). Unlike the selectors read from
// rendered objects, unknown keys are errors: a misspelt `matchLabel` would
// otherwise leave an empty selector, which selects everything. An absent or
// null selector is labels.Everything(), as is `{}`.
func ParseLabelSelector(n *yaml.Node, field string) (labels.Selector, error) {
	if absent(n) || n.Kind == 0 {
		return labels.Everything(), nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: expected a label selector (matchLabels, matchExpressions)", field)
	}
	if err := knownKeys(n, field, "matchLabels", "matchExpressions"); err != nil {
		return nil, err
	}
	if me := lookup(n, "matchExpressions"); me != nil {
		if me.Kind != yaml.SequenceNode && !absent(me) {
			return nil, fmt.Errorf("%s.matchExpressions: expected a list", field)
		}
		for i, e := range seq(me) {
			f := fmt.Sprintf("%s.matchExpressions[%d]", field, i)
			if e.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s: expected {key, operator, values}", f)
			}
			if err := knownKeys(e, f, "key", "operator", "values"); err != nil {
				return nil, err
			}
			if v := lookup(e, "values"); v != nil {
				if v.Kind != yaml.SequenceNode {
					return nil, fmt.Errorf("%s.values: expected a list of strings", f)
				}
				for j, x := range v.Content {
					if x.Kind != yaml.ScalarNode {
						return nil, fmt.Errorf("%s.values[%d]: expected a string", f, j)
					}
				}
			}
		}
	}
	return parseLabelSelector(n, field)
}

func knownKeys(n *yaml.Node, field string, keys ...string) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		ok := false
		for _, want := range keys {
			ok = ok || k == want
		}
		if !ok {
			return fmt.Errorf("%s: unknown field %q (expected %s)", field, k, strings.Join(keys, ", "))
		}
	}
	return nil
}
