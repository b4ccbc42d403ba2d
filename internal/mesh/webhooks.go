package mesh

import (
	"fmt"
	"sort"
	"strings"
)

// LabelTag is the revision-tag label on tag webhooks (istioctl/pkg/tag).
const LabelTag = "istio.io/tag"

// DefaultTag is the tag that `istioctl tag set default` creates.
const DefaultTag = "default"

// WebhooksOf returns the webhooks of a Validating- or
// MutatingWebhookConfiguration, in order.
func (m *Model) WebhooksOf(id ID) []*Webhook { return m.webhooksOf[id] }

// WebhookConfigs returns the Validating- and MutatingWebhookConfigurations
// in input order (also those with no webhooks).
func (m *Model) WebhookConfigs() []*Object {
	var out []*Object
	for _, o := range m.Objects {
		if _, ok := m.webhooksOf[o.ID]; ok || IsWebhookConfig(o.ID) {
			out = append(out, o)
		}
	}
	return out
}

// IsWebhookConfig reports whether an identity is a Validating- or
// MutatingWebhookConfiguration.
func IsWebhookConfig(id ID) bool {
	return id.Group == "admissionregistration.k8s.io" && (id.Kind == "ValidatingWebhookConfiguration" || id.Kind == "MutatingWebhookConfiguration")
}

// WebhookReaches reports whether a webhook's Service is in the model and
// selects the pods of an istiod of revision rev: the strict form of
// invariant 10 (the name of the Service alone proves nothing). A webhook
// that uses clientConfig.url never reaches an in-cluster istiod.
func (m *Model) WebhookReaches(h *Webhook, rev string) bool {
	s, _ := m.WebhookTarget(h)
	if s == nil {
		return false
	}
	for _, i := range s.Istiods() {
		if i.Revision == rev {
			return true
		}
	}
	return false
}

// ConfigRevision returns the istio.io/rev label of a webhook configuration
// ("" when absent) and its istio.io/tag label.
func ConfigRevision(o *Object) (rev, tag string) {
	l := o.Node().GetLabels()
	return l[LabelRev], l[LabelTag]
}

// CanonicalInjector returns the revision's own injector configuration: the
// MutatingWebhookConfiguration labelled istio.io/rev=<rev> and not carrying
// istio.io/tag, as istioctl selects it (GetWebhooksWithRevision in
// istioctl/pkg/tag/util.go: "istio.io/rev=<rev>,!istio.io/tag"). It is an
// error when there are several.
func (m *Model) CanonicalInjector(rev string) (*Object, error) {
	return m.canonical("MutatingWebhookConfiguration", rev)
}

// RevisionValidator returns the revision's own validating webhook
// configuration (istio-validator-<rev>-<ns> since 1.11): labelled
// istio.io/rev=<rev>, without istio.io/tag. nil when the revision has none
// (1.10 and older, whose validator is the non-revisioned istiod-<ns>).
func (m *Model) RevisionValidator(rev string) (*Object, error) {
	return m.canonical("ValidatingWebhookConfiguration", rev)
}

func (m *Model) canonical(kind, rev string) (*Object, error) {
	var found []*Object
	for _, o := range m.WebhookConfigs() {
		if o.ID.Kind != kind {
			continue
		}
		if r, t := ConfigRevision(o); r == rev && t == "" {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, o := range found {
		names[i] = o.ID.Name
	}
	sort.Strings(names)
	return nil, fmt.Errorf("several %ss are labelled %s=%s without %s: %s", kind, LabelRev, rev, LabelTag, strings.Join(names, ", "))
}

// LegacyValidationConfigName is the ValidatingWebhookConfiguration that an
// istiod of the 1.5 to 1.10 era patches (caBundle, failurePolicy): its
// VALIDATION_WEBHOOK_CONFIG_NAME env, whose default "istiod-${namespace}"
// resolves to istiod-<its namespace> (pilot/pkg/bootstrap/validation.go,
// validationWebhookConfigNameTemplate). ok is false when the env is set to
// "" (istiod then patches no validating webhook).
func LegacyValidationConfigName(i *Istiod) (name string, ok bool) {
	const env = "VALIDATION_WEBHOOK_CONFIG_NAME"
	c := i.Container("discovery")
	if c != nil {
		if v, set := c.Env[env]; set {
			if v == "" {
				return "", false
			}
			if v != "istiod-${namespace}" {
				return v, true
			}
		}
	}
	return "istiod-" + i.ID.Namespace, true
}
