package webhookfix

import (
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// finalState runs webhook-fix on the new revision's renders and checks
// invariant 10 on its output: every webhook reaches a Service that selects
// the pods of an istiod of rev.
func finalState(t *testing.T, rev string, files ...string) (*mesh.Model, krmtest.Output) {
	t.Helper()
	items := krmtest.Render(t, files...)
	// Idempotent on the real render.
	out := krmtest.RunTwice(t, krm.Processor(Transform), items, nil)
	for _, r := range out.Results {
		assert.NotEqual(t, fn.Error, r.Severity, r.Message)
	}
	m, err := mesh.Build(out.Items)
	require.NoError(t, err)
	require.NotEmpty(t, m.Webhooks)
	for _, h := range m.Webhooks {
		assert.True(t, m.WebhookReaches(h, rev), "webhook %s of %s calls %v, which selects no istiod of %s", h.Name, h.Config.ID, h.Service, rev)
	}
	return m, out
}

func TestConformanceSeed(t *testing.T) {
	// Before: the validator istiod-istio-system calls Service istiod, which
	// the 1.6.14 revision render does not have.
	before, err := mesh.Build(krmtest.Render(t, "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml"))
	require.NoError(t, err)
	broken := 0
	for _, h := range before.Webhooks {
		if !before.WebhookReaches(h, "1-6-14") {
			broken++
		}
	}
	assert.Equal(t, 1, broken, "sanity: the render alone leaves the validator without an istiod")

	m, out := finalState(t, "1-6-14", "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml")
	alias := m.Service("istio-system", "istiod")
	require.NotNil(t, alias)
	rev := m.Service("istio-system", "istiod-1-6-14")
	assert.Equal(t, rev.Selector, alias.Selector)
	assert.Equal(t, rev.Ports, alias.Ports)
	assert.Nil(t, krmtest.Find(out.Items, "MutatingWebhookConfiguration", "", "istio-revision-tag-default"), "1.6 has no revision tags")
	// 1.6.14 sets no VALIDATION_WEBHOOK_CONFIG_NAME: its default resolves to istiod-istio-system.
	found := false
	for _, r := range out.Results {
		if r.ResourceRef != nil && r.ResourceRef.Name == "istiod-istio-system" && r.ResourceRef.Kind == "ValidatingWebhookConfiguration" {
			assert.Contains(t, r.Message, "resolves to istiod-istio-system")
			found = true
		}
	}
	assert.True(t, found)
}

func TestConformanceModern(t *testing.T) {
	m, out := finalState(t, "1-31-0", "1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml", "1.29-to-1.31-modern/1.31.0/gateways.rev-1-31-0.yaml")
	tag := krmtest.Find(out.Items, "MutatingWebhookConfiguration", "", "istio-revision-tag-default")
	require.NotNil(t, tag)
	val := krmtest.Find(out.Items, "ValidatingWebhookConfiguration", "", "istiod-default-validator")
	require.NotNil(t, val)
	assert.Equal(t, "default", tag.GetLabels()[mesh.LabelTag])
	assert.Equal(t, "1-31-0", tag.GetLabels()[mesh.LabelRev])
	assert.Equal(t, "sidecar-injector", tag.GetLabels()["app"])
	assert.Equal(t, "istiod", val.GetLabels()["app"])
	assert.Nil(t, m.Service("istio-system", "istiod"), "no webhook of a modern revision render calls Service istiod")

	// The tag injects what the default revision injected: namespaces
	// labelled istio-injection=enabled and istio.io/rev=default.
	inj := map[string]bool{}
	for _, labels := range []map[string]string{{"istio-injection": "enabled"}, {"istio.io/rev": "default"}, {"istio.io/rev": "1-31-0"}} {
		for _, h := range m.InjectorsForNamespace(labels) {
			inj[h.Config.ID.Name+"/"+labels["istio-injection"]+labels["istio.io/rev"]] = true
		}
	}
	assert.True(t, inj["istio-revision-tag-default/enabled"])
	assert.True(t, inj["istio-revision-tag-default/default"])
	assert.True(t, inj["istio-sidecar-injector-1-31-0/1-31-0"])
}
