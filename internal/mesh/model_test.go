package mesh

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func parse(t testing.TB, s string) []*yaml.RNode {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: strings.NewReader(s), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	return nodes
}

func build(t testing.TB, s string) *Model {
	t.Helper()
	m, err := Build(parse(t, s))
	require.NoError(t, err)
	return m
}

const gatewayFixture = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: custom-gw, namespace: default}
spec:
  replicas: 3
  selector:
    matchLabels: {app: istio-ingressgateway, istio: ingressgateway}
  template:
    metadata:
      labels: {app: istio-ingressgateway, istio: ingressgateway, tier: edge}
    spec:
      serviceAccountName: custom-gw-service-account
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2:1.5.10
        args: [proxy, router, --serviceCluster, custom-gw, --discoveryAddress, istio-pilot.istio-system.svc:15012]
        env:
        - {name: CA_ADDR, value: istio-pilot.istio-system.svc:15012}
        ports:
        - containerPort: 80
        - containerPort: 443
        - {containerPort: 15020, name: status-port}
      volumes:
      - name: certs
        secret: {secretName: istio-ingressgateway-certs, optional: true}
---
apiVersion: v1
kind: Service
metadata: {name: custom-gw, namespace: default}
spec:
  type: LoadBalancer
  selector: {app: istio-ingressgateway, istio: ingressgateway}
  ports:
  - {name: http2, port: 80, targetPort: 80}
  - {name: https, port: 443}
  - {name: status-port, port: 15020, targetPort: status-port}
---
apiVersion: v1
kind: Service
metadata: {name: other-ns, namespace: team-b}
spec:
  selector: {app: istio-ingressgateway, istio: ingressgateway}
  ports: [{port: 80}]
---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: custom-gw, namespace: apps}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: custom-gw, namespace: default}
spec:
  minAvailable: 1
  selector:
    matchLabels: {istio: ingressgateway}
    matchExpressions:
    - {key: tier, operator: In, values: [edge, core]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: misses, namespace: default}
spec:
  selector:
    matchExpressions:
    - {key: tier, operator: NotIn, values: [edge]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: custom-gw, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: custom-gw}
  minReplicas: 2
  maxReplicas: 5
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod, istio: pilot}}
    spec:
      containers:
      - name: discovery
        args: [discovery, --monitoringAddr=:15014]
---
apiVersion: v1
kind: Service
metadata: {name: istio-pilot, namespace: istio-system}
spec:
  selector: {istio: pilot}
  ports: [{port: 15012}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: custom-gw-sds, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: custom-gw-sds}
subjects:
- {kind: ServiceAccount, name: custom-gw-service-account}
`

func TestSelectionAndPorts(t *testing.T) {
	m := build(t, gatewayFixture)
	svc := m.Service("default", "custom-gw")
	require.NotNil(t, svc)
	sel := svc.Selected()
	require.Len(t, sel, 1)
	assert.Equal(t, "custom-gw", sel[0].ID.Name)
	assert.Empty(t, m.Service("team-b", "other-ns").Selected(), "a Service selects pods of its own namespace only")

	w := sel[0]
	cases := []struct {
		port int64
		want int64
		ok   bool
	}{{80, 80, true}, {443, 443, true}, {15020, 15020, true}}
	for _, c := range cases {
		p, ok := svc.Port(c.port)
		require.True(t, ok, "port %d", c.port)
		got, served := w.ServesPort(p.TargetPort)
		assert.Equal(t, c.ok, served, "port %d", c.port)
		assert.Equal(t, c.want, got, "port %d", c.port)
	}
	p443, _ := svc.Port(443)
	assert.Equal(t, IntOrString{Num: 443}, p443.TargetPort, "targetPort defaults to port")
	status, _ := svc.Port(15020)
	assert.True(t, status.TargetPort.IsName)
	_, served := w.ServesPort(IntOrString{Num: 8080})
	assert.False(t, served)

	assert.Equal(t, []*Service{svc}, w.Services())
	gws := w.IstioGateways()
	require.Len(t, gws, 1, "Gateway resources select pods in every namespace")
	assert.Equal(t, []int64{80}, gws[0].Ports)
}

func TestPDBAndHPA(t *testing.T) {
	m := build(t, gatewayFixture)
	w := m.Deployment("default", "custom-gw")
	pdbs := w.PDBs()
	require.Len(t, pdbs, 1, "matchLabels and matchExpressions both apply")
	assert.Equal(t, "custom-gw", pdbs[0].ID.Name)
	assert.Len(t, pdbs[0].Selected(), 1)
	for _, p := range m.PDBs {
		if p.ID.Name == "misses" {
			assert.Empty(t, p.Selected())
		}
	}
	h := m.HPAFor(w)
	require.NotNil(t, h)
	assert.Equal(t, int64(2), h.MinReplicas)
	assert.Equal(t, int64(5), h.MaxReplicas)
	assert.Equal(t, int64(2), m.MinReplicas(w), "an HPA's minimum is the guaranteed capacity")
	assert.Equal(t, int64(3), w.DesiredReplicas())
}

func TestGatewaysAndRevisions(t *testing.T) {
	m := build(t, gatewayFixture)
	require.Len(t, m.Istiods, 1)
	assert.Equal(t, DefaultRevision, m.Istiods[0].Revision)
	require.Len(t, m.Gateways, 1)
	g := m.Gateways[0]
	assert.Equal(t, "custom-gw", g.ServiceCluster)
	assert.Equal(t, "istio-pilot.istio-system.svc:15012", g.DiscoveryAddress)
	rev, src := m.GatewayRevision(g)
	assert.Equal(t, DefaultRevision, rev)
	assert.Contains(t, src, "CA_ADDR")
	assert.True(t, g.RunsAsRoot)
	prod := m.ProductionServices()
	require.Len(t, prod, 1)
	assert.Equal(t, "custom-gw", prod[0].ID.Name)
}

func TestRevisionSources(t *testing.T) {
	const tmpl = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: g, namespace: ns}
spec:
  selector: {matchLabels: {app: g}}
  template:
    metadata:
      labels: {app: g, LABELS}
      annotations: {ANNOTATIONS}
    spec:
      containers:
      - name: istio-proxy
        image: IMAGE
        args: ARGS
        env: [{name: CA_ADDR, value: CAADDR}]
      volumes: [{name: config-volume, configMap: {name: CM, optional: true}}]
`
	cases := []struct {
		name, labels, ann, image, args, caAddr, cm string
		want, source                               string
		injected                                   bool
	}{
		{"config-volume names the revision", "", "", "proxyv2", "[proxy, router]", "istiod.istio-system.svc:15012", "istio-1-6-14", "1-6-14", "config-volume", false},
		{"istio ConfigMap is the default revision", "", "", "proxyv2", "[proxy, router]", "istiod-1-6-14.istio-system.svc:15012", "istio", "default", "config-volume", false},
		{"CA_ADDR when no mesh ConfigMap", "", "", "proxyv2", "[proxy, router]", "istiod-1-31-0.istio-system.svc:15012", "other", "1-31-0", "CA_ADDR", false},
		{"injected gateway follows istio.io/rev", "'istio.io/rev': 1-31-0", "'inject.istio.io/templates': gateway", "auto", "[]", "x", "istio", "1-31-0", "pod label istio.io/rev=1-31-0 (no injector in this input", true},
		{"injected gateway without istio.io/rev", "", "'inject.istio.io/templates': gateway", "auto", "[]", "x", "istio", "default", "no istio.io/rev label (no injector in this input", true},
		{"--discoveryAddress when CA_ADDR names no Service", "", "", "proxyv2", "[proxy, router, --discoveryAddress, 'istiod-1-6-14.istio-system.svc:15012']", "ca.example.com:15012", "other", "1-6-14", "--discoveryAddress istiod-1-6-14.istio-system.svc:15012", false},
		{"istio.io/rev label last", "'istio.io/rev': 1-7-0", "", "proxyv2", "[proxy, router]", "ca.example.com:15012", "other", "1-7-0", "pod label istio.io/rev", false},
		{"nothing names a revision", "", "", "proxyv2", "[proxy, router]", "ca.example.com:15012", "other", "default", "no control-plane reference", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := strings.NewReplacer("LABELS", c.labels, "ANNOTATIONS", c.ann, "IMAGE", c.image, "ARGS", c.args, "CAADDR", c.caAddr, "CM", c.cm)
			m := build(t, r.Replace(tmpl))
			require.Len(t, m.Gateways, 1)
			assert.Equal(t, c.injected, m.Gateways[0].Injected)
			rev, src := m.GatewayRevision(m.Gateways[0])
			assert.Equal(t, c.want, rev)
			assert.Contains(t, src, c.source)
			assert.Equal(t, rev, m.RevisionOfGateway(m.Gateways[0]))
		})
	}
}

func TestIstiodRevision(t *testing.T) {
	m := build(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-1-6-14, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istiod, istio.io/rev: 1-6-14}}
  template:
    metadata: {labels: {app: istiod, istio.io/rev: 1-6-14}}
    spec:
      containers:
      - {name: discovery, args: [discovery], env: [{name: REVISION, value: 1-6-14}]}
---
apiVersion: v1
kind: Service
metadata: {name: istiod-1-6-14, namespace: istio-system}
spec:
  selector: {app: istiod, istio.io/rev: 1-6-14}
  ports: [{port: 15012}]
---
apiVersion: v1
kind: Service
metadata: {name: istiod, namespace: istio-system}
spec:
  selector: {app: istiod, istio.io/rev: 1-6-14}
  ports: [{port: 15012}]
`)
	assert.Equal(t, []string{"1-6-14"}, m.Revisions())
	rev, ok := m.ServiceRevision("istio-system", "istiod-1-6-14")
	assert.True(t, ok)
	assert.Equal(t, "1-6-14", rev)
	rev, ok = m.ServiceRevision("istio-system", "istiod")
	assert.True(t, ok)
	assert.Equal(t, "1-6-14", rev, "an istiod alias resolves to the revision it selects, not to its name")
	rev, ok = m.ServiceRevision("istio-system", "istiod-9-9")
	assert.True(t, ok, "a Service absent from the input is resolved by its name")
	assert.Equal(t, "9-9", rev)
	_, ok = m.ServiceRevision("tracing", "zipkin")
	assert.False(t, ok, "a name that tells no revision")
}

func TestWebhooks(t *testing.T) {
	m := build(t, `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
webhooks:
- name: sidecar-injector.istio.io
  clientConfig:
    service: {name: istiod, namespace: istio-system, path: /inject}
  namespaceSelector:
    matchLabels: {istio-injection: enabled}
- name: by-url
  clientConfig: {url: "https://example.com/inject"}
  failurePolicy: Ignore
`)
	require.Len(t, m.Webhooks, 2)
	h := m.Webhooks[0]
	assert.True(t, h.Mutating)
	assert.Equal(t, "Fail", h.FailurePolicy, "admissionregistration/v1 defaults failurePolicy to Fail")
	assert.Equal(t, ServiceRef{Namespace: "istio-system", Name: "istiod", Path: "/inject", Port: 443}, *h.Service)
	assert.True(t, h.NamespaceSelector.Matches(labelSet{"istio-injection": "enabled"}))
	assert.False(t, h.NamespaceSelector.Matches(labelSet{"istio.io/rev": "1-6-14"}))
	assert.Nil(t, m.Webhooks[1].Service)
	assert.True(t, m.Webhooks[1].NamespaceSelector.Matches(labelSet{}), "no namespaceSelector selects every namespace")
	svc, pods := m.WebhookTarget(h)
	assert.Nil(t, svc)
	assert.Nil(t, pods)
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

func TestReferences(t *testing.T) {
	m := build(t, gatewayFixture)
	o, _ := m.Get(ID{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "custom-gw"})
	var got []string
	for _, r := range m.References(o) {
		got = append(got, r.To.String()+" "+r.Why)
	}
	assert.ElementsMatch(t, []string{
		"ServiceAccount/default/custom-gw-service-account serviceAccountName",
		"Secret/default/istio-ingressgateway-certs volume certs",
		"Service/istio-system/istio-pilot CA_ADDR",
		"Service/istio-system/istio-pilot --discoveryAddress",
	}, got)
	to := m.ReferencesTo(ID{Kind: "ServiceAccount", Namespace: "default", Name: "custom-gw-service-account"})
	require.Len(t, to, 2)
	assert.Equal(t, "Deployment", to[0].From.Kind)
	assert.Equal(t, "RoleBinding", to[1].From.Kind)
	role := m.ReferencesTo(ID{Group: "rbac.authorization.k8s.io", Kind: "Role", Namespace: "default", Name: "custom-gw-sds"})
	require.Len(t, role, 1)
}

func TestBuildErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "items[0]: kind: missing"},
		{"no name", "apiVersion: v1\nkind: Service\nmetadata: {}\n", "items[0]: metadata.name: missing (Service)"},
		{"duplicate", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n", "duplicate object Service/a"},
		{"bad port", "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: n}\nspec:\n  ports: [{port: http}]\n", `Service/n/a: spec.ports[0].port: expected an integer, got "http"`},
		{"bad selector operator", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: n}\nspec:\n  selector:\n    matchExpressions: [{key: a, operator: Near}]\n", "PodDisruptionBudget.policy/n/p: spec.selector"},
		{"bad replicas", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: n}\nspec:\n  replicas: many\n", `Deployment.apps/n/d: spec.replicas: expected an integer, got "many"`},
		{"bad labels", "apiVersion: v1\nkind: Namespace\nmetadata: {name: n, labels: {a: [1]}}\n", "Namespace/n: metadata.labels.a: expected a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(parse(t, c.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestValidRevision(t *testing.T) {
	assert.NoError(t, ValidRevision("1-6-14"))
	err := ValidRevision("1.6.14")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `istioctl uses "1-6-14"`)
	assert.Error(t, ValidRevision("Canary"))
	assert.Error(t, ValidRevision(strings.Repeat("a", 64)))
}
