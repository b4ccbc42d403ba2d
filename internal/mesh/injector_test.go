package mesh

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Helm install in the shape of `helm template` of the istiod chart 1.29
// (default revision, revision tag prod-stable) and 1.31 (revision 1-31-0),
// cut to the webhooks that inject gateway pods, and two gateways of the
// gateway chart: one injected by the default revision, one on the tag.
const helmInjectors = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: pilot}}
  template:
    metadata: {labels: {app: istiod, istio: pilot, istio.io/rev: default}}
    spec:
      containers:
      - {name: discovery, image: docker.io/istio/pilot:1.29.6, args: [discovery]}
---
apiVersion: v1
kind: Service
metadata: {name: istiod, namespace: istio-system}
spec:
  selector: {app: istiod, istio: pilot}
  ports: [{name: https-webhook, port: 443, targetPort: 15017}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-1-31-0, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: pilot, istio.io/rev: 1-31-0}}
  template:
    metadata: {labels: {app: istiod, istio: pilot, istio.io/rev: 1-31-0}}
    spec:
      containers:
      - {name: discovery, image: docker.io/istio/pilot:1.31.0, args: [discovery], env: [{name: REVISION, value: 1-31-0}]}
---
apiVersion: v1
kind: Service
metadata: {name: istiod-1-31-0, namespace: istio-system}
spec:
  selector: {app: istiod, istio.io/rev: 1-31-0}
  ports: [{name: https-webhook, port: 443, targetPort: 15017}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: istio-sidecar-injector
  labels: {istio.io/rev: default}
webhooks:
- name: rev.object.sidecar-injector.istio.io
  clientConfig: {service: {name: istiod, namespace: istio-system, path: /inject, port: 443}}
  namespaceSelector: {matchExpressions: [{key: istio.io/rev, operator: DoesNotExist}, {key: istio-injection, operator: DoesNotExist}]}
  objectSelector: {matchExpressions: [{key: sidecar.istio.io/inject, operator: NotIn, values: ["false"]}, {key: istio.io/rev, operator: In, values: [default]}]}
- name: namespace.sidecar-injector.istio.io
  clientConfig: {service: {name: istiod, namespace: istio-system, path: /inject, port: 443}}
  namespaceSelector: {matchExpressions: [{key: istio-injection, operator: In, values: [enabled]}]}
  objectSelector: {matchExpressions: [{key: sidecar.istio.io/inject, operator: NotIn, values: ["false"]}]}
- name: object.sidecar-injector.istio.io
  clientConfig: {service: {name: istiod, namespace: istio-system, path: /inject, port: 443}}
  namespaceSelector: {matchExpressions: [{key: istio-injection, operator: DoesNotExist}, {key: istio.io/rev, operator: DoesNotExist}]}
  objectSelector: {matchExpressions: [{key: sidecar.istio.io/inject, operator: In, values: ["true"]}, {key: istio.io/rev, operator: DoesNotExist}]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: istio-revision-tag-prod-stable
  labels: {istio.io/tag: prod-stable, istio.io/rev: default}
webhooks:
- name: rev.object.sidecar-injector.istio.io
  clientConfig: {service: {name: TAGSERVICE, namespace: istio-system, path: /inject, port: 443}}
  namespaceSelector: {matchExpressions: [{key: istio.io/rev, operator: DoesNotExist}, {key: istio-injection, operator: DoesNotExist}]}
  objectSelector: {matchExpressions: [{key: sidecar.istio.io/inject, operator: NotIn, values: ["false"]}, {key: istio.io/rev, operator: In, values: [prod-stable]}]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: istio-sidecar-injector-1-31-0
  labels: {istio.io/rev: 1-31-0}
webhooks:
- name: rev.object.sidecar-injector.istio.io
  clientConfig: {service: {name: istiod-1-31-0, namespace: istio-system, path: /inject, port: 443}}
  namespaceSelector: {matchExpressions: [{key: istio.io/rev, operator: DoesNotExist}, {key: istio-injection, operator: DoesNotExist}]}
  objectSelector: {matchExpressions: [{key: sidecar.istio.io/inject, operator: NotIn, values: ["false"]}, {key: istio.io/rev, operator: In, values: [1-31-0]}]}
`

const helmGateway = `
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME, namespace: istio-ingress}
spec:
  selector: {matchLabels: {app: NAME, istio: NAME}}
  template:
    metadata:
      annotations: {inject.istio.io/templates: gateway, sidecar.istio.io/inject: "true"}
      labels: {sidecar.istio.io/inject: "true", app: NAME, istio: NAME LABELS}
    spec:
      containers:
      - name: istio-proxy
        image: auto
        ports: [{containerPort: 15090, protocol: TCP, name: http-envoy-prom}]
`

func helmModel(t *testing.T, tagService, extra string, gateways ...[2]string) *Model {
	t.Helper()
	s := strings.ReplaceAll(helmInjectors, "TAGSERVICE", tagService) + extra
	for _, g := range gateways {
		s += strings.NewReplacer("NAME", g[0], "LABELS", g[1]).Replace(helmGateway)
	}
	return build(t, s)
}

func TestInjectedGatewayRevisionFollowsTheInjector(t *testing.T) {
	gws := [][2]string{
		{"ingress", ""},
		{"ingress-tagged", ", istio.io/rev: prod-stable"},
		{"ingress-1-31-0", ", istio.io/rev: 1-31-0"},
		{"ingress-opted-out", `, sidecar.istio.io/inject: "false"`},
	}
	cases := []struct {
		name, tagService, namespace string
		want                        map[string]string // gateway -> revision, how
	}{
		{"tag on the default revision", "istiod", "", map[string]string{
			"ingress":           "default|injected by istio-sidecar-injector webhook object.sidecar-injector.istio.io",
			"ingress-tagged":    "default|injected by istio-revision-tag-prod-stable webhook rev.object.sidecar-injector.istio.io",
			"ingress-1-31-0":    "1-31-0|injected by istio-sidecar-injector-1-31-0 webhook rev.object.sidecar-injector.istio.io",
			"ingress-opted-out": "default|injected, no istio.io/rev label (no injector in this input matches its pods)",
		}},
		{"tag moved to 1-31-0", "istiod-1-31-0", "", map[string]string{
			"ingress":        "default|injected by istio-sidecar-injector webhook object.sidecar-injector.istio.io",
			"ingress-tagged": "1-31-0|injected by istio-revision-tag-prod-stable webhook rev.object.sidecar-injector.istio.io",
		}},
		// A namespace labelled istio.io/rev takes the gateway chart's pods
		// away from the object webhooks (their namespaceSelector requires
		// istio.io/rev DoesNotExist), and no rev.namespace webhook is in
		// this input: what the pods ask for is all there is.
		{"namespace labelled for a revision", "istiod", "{istio.io/rev: 1-31-0}", map[string]string{
			"ingress":        "1-31-0|injected, namespace label istio.io/rev=1-31-0 (no injector in this input matches its pods)",
			"ingress-tagged": "prod-stable|injected, pod label istio.io/rev=prod-stable (no injector in this input matches its pods)",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			extra := ""
			if c.namespace != "" {
				extra = "\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: istio-ingress, labels: " + c.namespace + "}\n"
			}
			m := helmModel(t, c.tagService, extra, gws...)
			require.Len(t, m.Gateways, len(gws))
			for _, g := range m.Gateways {
				want, ok := c.want[g.ID.Name]
				if !ok {
					continue
				}
				require.True(t, g.Injected, g.ID.Name)
				rev, how := m.GatewayRevision(g)
				assert.Equal(t, want, rev+"|"+how, g.ID.Name)
				assert.Equal(t, rev, m.RevisionOfGateway(g))
			}
		})
	}
}

func TestTagRevision(t *testing.T) {
	m := helmModel(t, "istiod", "")
	rev, h, ok := m.TagRevision("prod-stable")
	require.True(t, ok)
	assert.Equal(t, "default", rev)
	assert.Equal(t, "istio-revision-tag-prod-stable", h.Config.ID.Name)

	m = helmModel(t, "istiod-1-31-0", "")
	rev, _, ok = m.TagRevision("prod-stable")
	require.True(t, ok)
	assert.Equal(t, "1-31-0", rev)

	_, _, ok = m.TagRevision("prod-canary")
	assert.False(t, ok, "no webhook answers an unknown tag")
}

// Two configurations that both inject a pod: the API server calls them in
// the order of their names, and the first injects.
func TestInjectorOfTakesTheFirstConfigurationByName(t *testing.T) {
	twin := `
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: aaa-injector, labels: {istio.io/rev: 1-31-0}}
webhooks:
- name: object.sidecar-injector.istio.io
  clientConfig: {service: {name: istiod-1-31-0, namespace: istio-system, path: /inject, port: 443}}
  objectSelector: {matchLabels: {sidecar.istio.io/inject: "true"}}
`
	m := helmModel(t, "istiod", twin, [2]string{"ingress", ""})
	h := m.InjectorOf(m.Gateways[0].Workload)
	require.NotNil(t, h)
	assert.Equal(t, "aaa-injector", h.Config.ID.Name)
	assert.Equal(t, "1-31-0", m.RevisionOfGateway(m.Gateways[0]))
}

// SameMatch compares what InjectorOf reads of a webhook: its place in the
// call order, its target and its selectors.
func TestSameMatch(t *testing.T) {
	const cfg = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector-1-31-0, labels: {istio.io/rev: 1-31-0}}
webhooks:
- name: rev.object.sidecar-injector.istio.io
  clientConfig:
    service: {name: istiod-1-31-0, namespace: istio-system, path: /inject}
  objectSelector:
    matchExpressions:
    - {key: istio.io/rev, operator: In, values: [1-31-0]}
`
	hook := func(text string) *Webhook {
		m := build(t, text)
		require.Len(t, m.Webhooks, 1)
		return m.Webhooks[0]
	}
	a := hook(cfg)
	assert.True(t, SameMatch(a, hook(cfg)))
	assert.True(t, SameMatch(a, hook(strings.Replace(cfg, "labels: {istio.io/rev: 1-31-0}", "labels: {istio.io/rev: 1-31-0, team: mesh}", 1))), "labels of the configuration are not read")
	assert.False(t, SameMatch(a, hook(strings.Replace(cfg, "values: [1-31-0]", "values: [prod-stable]", 1))), "another object selector")
	assert.False(t, SameMatch(a, hook(strings.Replace(cfg, "name: rev.object.", "name: object.", 1))), "another name: another call order")
	assert.False(t, SameMatch(a, hook(strings.Replace(cfg, "path: /inject", "path: /inject/cluster/x", 1))), "another target")
}
