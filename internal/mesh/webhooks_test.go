package mesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const webhookFixture = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-1-6-14, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istiod, istio.io/rev: 1-6-14}}
  template:
    metadata: {labels: {app: istiod, istio.io/rev: 1-6-14}}
    spec:
      containers:
      - name: discovery
        image: docker.io/istio/pilot:1.6.14
        args: [discovery]
        env: [{name: REVISION, value: 1-6-14}]
---
apiVersion: v1
kind: Service
metadata: {name: istiod-1-6-14, namespace: istio-system}
spec: {selector: {app: istiod, istio.io/rev: 1-6-14}, ports: [{port: 443, targetPort: 15017}]}
---
apiVersion: v1
kind: Service
metadata: {name: istiod, namespace: istio-system}
spec: {selector: {app: istiod, istio: pilot}, ports: [{port: 443, targetPort: 15017}]}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingWebhookConfiguration
metadata: {name: istiod-istio-system}
webhooks:
- name: validation.istio.io
  clientConfig: {service: {name: istiod, namespace: istio-system, path: /validate}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector-1-6-14, labels: {istio.io/rev: 1-6-14}}
webhooks:
- name: sidecar-injector.istio.io
  clientConfig: {service: {name: istiod-1-6-14, namespace: istio-system, path: /inject}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-revision-tag-default, labels: {istio.io/rev: 1-6-14, istio.io/tag: default}}
webhooks:
- name: sidecar-injector.istio.io
  clientConfig: {url: "https://example:15017/inject"}
`

func TestWebhookReaches(t *testing.T) {
	m := build(t, webhookFixture)
	val := m.WebhooksOf(ID{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration", Name: "istiod-istio-system"})
	inj := m.WebhooksOf(ID{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration", Name: "istio-sidecar-injector-1-6-14"})
	tag := m.WebhooksOf(ID{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration", Name: "istio-revision-tag-default"})
	require.Len(t, val, 1)
	require.Len(t, inj, 1)
	require.Len(t, tag, 1)
	assert.False(t, m.WebhookReaches(val[0], "1-6-14"), "Service istiod selects the 1.5 pods (istio: pilot), not 1-6-14's")
	assert.True(t, m.WebhookReaches(inj[0], "1-6-14"))
	assert.False(t, m.WebhookReaches(inj[0], "default"))
	assert.False(t, m.WebhookReaches(tag[0], "1-6-14"), "a URL webhook reaches no in-cluster istiod")
	assert.Len(t, m.WebhookConfigs(), 3)
}

func TestCanonicalWebhooks(t *testing.T) {
	m := build(t, webhookFixture)
	o, err := m.CanonicalInjector("1-6-14")
	require.NoError(t, err)
	require.NotNil(t, o)
	assert.Equal(t, "istio-sidecar-injector-1-6-14", o.ID.Name, "the tag webhook is not canonical")
	o, err = m.RevisionValidator("1-6-14")
	require.NoError(t, err)
	assert.Nil(t, o, "1.6 has no per-revision validator")

	m = build(t, webhookFixture+`---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: another, labels: {istio.io/rev: 1-6-14}}
webhooks: []
`)
	_, err = m.CanonicalInjector("1-6-14")
	assert.EqualError(t, err, "several MutatingWebhookConfigurations are labelled istio.io/rev=1-6-14 without istio.io/tag: another, istio-sidecar-injector-1-6-14")
}

func TestLegacyValidationConfigName(t *testing.T) {
	for _, c := range []struct {
		env  string
		name string
		ok   bool
	}{
		{"", "istiod-istio-system", true},
		{"env: [{name: VALIDATION_WEBHOOK_CONFIG_NAME, value: 'istiod-${namespace}'}]", "istiod-istio-system", true},
		{"env: [{name: VALIDATION_WEBHOOK_CONFIG_NAME, value: custom}]", "custom", true},
		{"env: [{name: VALIDATION_WEBHOOK_CONFIG_NAME, value: ''}]", "", false},
	} {
		m := build(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-1-6-14, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec:
      containers:
      - name: discovery
        args: [discovery]
        `+c.env+"\n")
		require.Len(t, m.Istiods, 1)
		name, ok := LegacyValidationConfigName(m.Istiods[0])
		assert.Equal(t, c.name, name, c.env)
		assert.Equal(t, c.ok, ok, c.env)
	}
}
