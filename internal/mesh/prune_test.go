package mesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalID(t *testing.T) {
	for _, c := range []struct{ in, want ID }{
		{ID{Group: "extensions", Kind: "Deployment", Namespace: "a", Name: "x"}, ID{Group: "apps", Kind: "Deployment", Namespace: "a", Name: "x"}},
		{ID{Group: "extensions", Kind: "DaemonSet", Name: "x"}, ID{Group: "apps", Kind: "DaemonSet", Name: "x"}},
		{ID{Group: "extensions", Kind: "Ingress", Name: "x"}, ID{Group: "networking.k8s.io", Kind: "Ingress", Name: "x"}},
		{ID{Group: "extensions", Kind: "PodSecurityPolicy", Name: "x"}, ID{Group: "policy", Kind: "PodSecurityPolicy", Name: "x"}},
		{ID{Group: "apps", Kind: "Deployment", Name: "x"}, ID{Group: "apps", Kind: "Deployment", Name: "x"}},
		{ID{Group: "extensions.istio.io", Kind: "WasmPlugin", Name: "x"}, ID{Group: "extensions.istio.io", Kind: "WasmPlugin", Name: "x"}},
	} {
		assert.Equal(t, c.want, CanonicalID(c.in), c.in.String())
	}
}

func TestResolveGatewayName(t *testing.T) {
	for _, c := range []struct {
		in, ns, wantNS, wantName string
		ok                       bool
	}{
		{"custom-gw", "apps", "apps", "custom-gw", true},
		{"default/custom-gw", "apps", "default", "custom-gw", true},
		{"./custom-gw", "apps", "apps", "custom-gw", true},
		{"custom-gw.default.svc.cluster.local", "apps", "default", "custom-gw", true},
		{"custom-gw.default", "apps", "default", "custom-gw", true},
		{"mesh", "apps", "", "", false},
		{"default/", "apps", "", "", false},
	} {
		ns, name, ok := resolveGatewayName(c.in, c.ns)
		assert.Equal(t, c.ok, ok, c.in)
		if c.ok {
			assert.Equal(t, c.wantNS+"/"+c.wantName, ns+"/"+name, c.in)
		}
	}
}

const pruneFixture = `
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: shop, namespace: apps}
spec:
  hosts: ["*"]
  gateways: [default/custom-gw, mesh, local-gw]
  http:
  - match:
    - gateways: [other.edge.svc.cluster.local]
    route:
    - destination: {host: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-1-6-14, namespace: istio-system}
data:
  mesh: |-
    defaultConfig:
      discoveryAddress: istiod-1-6-14.istio-system.svc:15012
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated, namespace: istio-system}
data:
  mesh: |-
    defaultConfig:
      discoveryAddress: elsewhere.istio-system.svc:15012
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: "{not yaml"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw-missing-cm, namespace: default}
spec:
  selector: {matchLabels: {istio: edge}}
  template:
    metadata: {labels: {istio: edge}}
    spec:
      containers:
      - {name: istio-proxy, image: proxyv2, args: [proxy, router]}
      volumes:
      - {name: config-volume, configMap: {name: istio-1-6-14, optional: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw-with-cm, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: edge2}}
  template:
    metadata: {labels: {istio: edge2}}
    spec:
      containers:
      - {name: istio-proxy, image: proxyv2, args: [proxy, router]}
      volumes:
      - {name: config-volume, configMap: {name: istio-1-6-14, optional: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, istio: edge}}
    spec:
      containers:
      - {name: web, image: nginx}
`

func TestPruneReferences(t *testing.T) {
	m := build(t, pruneFixture)
	refs := func(kind, ns, name string) []string {
		o, ok := m.Get(ID{Group: map[string]string{"VirtualService": "networking.istio.io", "Deployment": "apps"}[kind], Kind: kind, Namespace: ns, Name: name})
		require.True(t, ok, name)
		var out []string
		for _, r := range m.PruneReferences(o) {
			out = append(out, r.To.String()+" "+r.Why)
		}
		return out
	}
	assert.Equal(t, []string{
		"Gateway.networking.istio.io/default/custom-gw gateways default/custom-gw",
		"Gateway.networking.istio.io/apps/local-gw gateways local-gw",
		"Gateway.networking.istio.io/edge/other gateways other.edge.svc.cluster.local",
	}, refs("VirtualService", "apps", "shop"))
	assert.Equal(t, []string{"Service/istio-system/istiod-1-6-14 mesh defaultConfig.discoveryAddress istiod-1-6-14.istio-system.svc:15012"}, refs("ConfigMap", "istio-system", "istio-1-6-14"))
	assert.Empty(t, refs("ConfigMap", "istio-system", "unrelated"), "not a mesh ConfigMap name")
	assert.Empty(t, refs("ConfigMap", "istio-system", "istio"), "unparseable mesh config is no reference")
	assert.Contains(t, refs("Deployment", "default", "gw-missing-cm"), "Service/istio-system/istiod "+WhyFallbackDiscovery)
	assert.NotContains(t, refs("Deployment", "istio-system", "gw-with-cm"), "Service/istio-system/istiod "+WhyFallbackDiscovery)

	idx := m.PruneReferenceIndex()
	require.Len(t, idx[ID{Kind: "Service", Namespace: "istio-system", Name: "istiod"}], 1)
	assert.Equal(t, "gw-missing-cm", idx[ID{Kind: "Service", Namespace: "istio-system", Name: "istiod"}][0].From.Name)
	// Keys are canonical identities.
	assert.NotEmpty(t, idx[ID{Kind: "ConfigMap", Namespace: "default", Name: "istio-1-6-14"}])
}

func TestCrossModelSelection(t *testing.T) {
	m := build(t, pruneFixture)
	other := build(t, `
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: default}
spec:
  selector: {istio: edge}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: elsewhere}
spec:
  selector: {istio: edge}
---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: g, namespace: anywhere}
spec:
  selector: {istio: edge2}
`)
	svc := func(ns, name string) *Service { return other.Service(ns, name) }
	assert.True(t, m.SelectsGateway(svc("default", "edge")), "selects gw-missing-cm (and the plain app)")
	assert.False(t, m.SelectsGateway(svc("default", "web")), "selects only a non-gateway workload")
	assert.False(t, m.SelectsGateway(svc("elsewhere", "edge")), "selection is namespaced")
	gws := m.GatewaysProgrammedBy(other.IstioGateways[0])
	require.Len(t, gws, 1)
	assert.Equal(t, "gw-with-cm", gws[0].ID.Name, "Istio Gateway selectors apply in every namespace")
}
