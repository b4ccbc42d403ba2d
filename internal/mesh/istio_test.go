package mesh

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"
)

// addressedGateway dials istiod-1-6-14 for discovery and istiod (in its own
// namespace) as CA, and mounts istio-1-6-14.
const addressedGateway = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw, namespace: edge}
spec:
  selector: {matchLabels: {app: gw}}
  template:
    metadata: {labels: {app: gw}}
    spec:
      containers:
      - name: istio-proxy
        args: [proxy, router, --discoveryAddress, "istiod-1-6-14.istio-system.svc:15012"]
        env: [{name: CA_ADDR, value: "istiod:15012"}]
        ports: [{containerPort: 8080, name: http2}, {containerPort: 8443}]
      - name: sidecar
        ports: [{containerPort: 9000, name: metrics}]
      volumes: [{name: config-volume, configMap: {name: istio-1-6-14, optional: true}}]
`

// A gateway's addresses are resolved to Services once, as AddressService
// resolves them.
func TestGatewayAddressServices(t *testing.T) {
	m := build(t, addressedGateway+`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bare, namespace: edge}
spec:
  selector: {matchLabels: {app: bare}}
  template:
    metadata: {labels: {app: bare}}
    spec:
      containers:
      - name: istio-proxy
        args: [proxy, router, "--discoveryAddress=pilot.example.com:15012"]
`)
	require.Len(t, m.Gateways, 2)
	for _, g := range m.Gateways {
		wantCA, caOK := AddressService(g.CAAddr, g.ID.Namespace)
		ca, ok := g.CAService()
		require.Equal(t, caOK && g.CAAddr != "", ok, g.ID.Name)
		require.Equal(t, wantCA, ca, g.ID.Name)
		wantD, dOK := AddressService(g.DiscoveryAddress, g.ID.Namespace)
		d, ok := g.DiscoveryService()
		require.Equal(t, dOK, ok, g.ID.Name)
		require.Equal(t, wantD, d, g.ID.Name)
	}
	ca, _ := m.Gateways[0].CAService()
	require.Equal(t, ID{Kind: "Service", Namespace: "edge", Name: "istiod"}, ca)
	d, _ := m.Gateways[0].DiscoveryService()
	require.Equal(t, ID{Kind: "Service", Namespace: "istio-system", Name: "istiod-1-6-14"}, d)
	_, ok := m.Gateways[1].DiscoveryService()
	require.False(t, ok, "a host outside the cluster names no Service")
}

// SelectorText is the selector's String(), for a model's workloads (written
// when read) and for a Workload made up by a caller.
func TestSelectorText(t *testing.T) {
	m := build(t, selectionFixture+`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: exprs, namespace: default}
spec:
  selector: {matchLabels: {app: x}, matchExpressions: [{key: rev, operator: In, values: [c, b]}]}
  template:
    metadata: {labels: {app: x, rev: b}}
`)
	texts := map[string]string{}
	for _, w := range m.Workloads {
		require.Equal(t, w.Selector.String(), w.SelectorText(), w.ID.String())
		texts[w.ID.Name] = w.SelectorText()
	}
	require.Equal(t, "app=x,rev in (b,c)", texts["exprs"])
	require.Equal(t, "app=gw,rev=b", texts["new"])
	sel, err := labels.Parse("a=b")
	require.NoError(t, err)
	require.Equal(t, "a=b", (&Workload{Selector: sel}).SelectorText())
}

// What a model links to its gateways when built (the Services their
// addresses name, whether their mesh ConfigMap is present, their ports)
// answers as the look-ups it replaces, for the model's own gateways and for
// another model's.
func TestGatewayLinks(t *testing.T) {
	gw := addressedGateway
	with := build(t, gw+`---
apiVersion: v1
kind: Service
metadata: {name: istiod, namespace: edge}
spec: {selector: {app: istiod}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-1-6-14, namespace: edge}
`)
	without := build(t, gw)
	for _, c := range []struct {
		m, of   *Model
		ca      bool
		missing bool
	}{{with, with, true, false}, {without, without, false, true}, {with, without, true, false}, {without, with, false, true}} {
		g := c.of.Gateways[0]
		ca, disc := c.m.ControlPlaneServices(g)
		require.Equal(t, c.ca, ca != nil)
		if ca != nil {
			require.Same(t, c.m.Service("edge", "istiod"), ca, "the Service of the model asked")
		}
		require.Nil(t, disc, "istio-system has no istiod-1-6-14 Service here")
		require.Equal(t, c.missing, c.m.ConfigMapMissing(g))
	}
	g := with.Gateways[0]
	made := &Workload{Containers: g.Containers}
	for _, tp := range []IntOrString{{Num: 8080}, {Num: 8443}, {Num: 9000}, {Num: 80}, {Name: "http2", IsName: true}, {Name: "metrics", IsName: true}, {Name: "x", IsName: true}} {
		p1, ok1 := g.ServesPort(tp)
		p2, ok2 := made.ServesPort(tp)
		require.Equal(t, ok1, ok2, tp)
		require.Equal(t, p1, p2, tp)
		require.Equal(t, tp.Num != 80 && tp.Name != "x", ok1, tp)
	}
}
