package verify

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// Small hand-written objects in the shape of istioctl output: only the
// fields the rules read.

func yamlMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q: %q", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func istiodDeploy(name, rev string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: istio-system}
spec:
  replicas: %d
  selector: {matchLabels: {app: istiod, istio.io/rev: %s}}
  template:
    metadata: {labels: {app: istiod, istio.io/rev: %s}}
    spec:
      serviceAccountName: istiod
      containers:
      - name: discovery
        args: [discovery]
        env: [{name: REVISION, value: %s}]
        ports: [{containerPort: 15012}, {containerPort: 15017}]
`, name, replicas, rev, rev, rev)
}

func service(ns, name, typ string, selector map[string]string, ports ...string) string {
	var ps []string
	for _, p := range ports {
		port, target, _ := strings.Cut(p, ":")
		if target == "" {
			target = port
		}
		ps = append(ps, fmt.Sprintf("  - {name: p%s, port: %s, targetPort: %s}", port, port, target))
	}
	t := ""
	if typ != "" {
		t = "  type: " + typ + "\n"
	}
	return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s}\nspec:\n%s  selector: %s\n  ports:\n%s\n", name, ns, t, yamlMap(selector), strings.Join(ps, "\n"))
}

type gwOpts struct {
	replicas int
	// noReplicas leaves spec.replicas out, as istioctl renders a gateway
	// with an HPA (Kubernetes then creates it with 1).
	noReplicas  bool
	labels      map[string]string
	selector    map[string]string
	ports       []int
	caAddr      string
	configMap   string
	annotations map[string]string
}

func gatewayDeploy(ns, name string, o gwOpts) string {
	if o.selector == nil {
		o.selector = o.labels
	}
	var ports []string
	for _, p := range o.ports {
		ports = append(ports, fmt.Sprintf("{containerPort: %d}", p))
	}
	vol := ""
	if o.configMap != "" {
		vol = fmt.Sprintf("      volumes:\n      - name: config-volume\n        configMap: {name: %s, optional: true}\n", o.configMap)
	}
	replicas := fmt.Sprintf("  replicas: %d\n", o.replicas)
	if o.noReplicas {
		replicas = ""
	}
	ann := ""
	if len(o.annotations) > 0 {
		ann = ", annotations: " + yamlMap(o.annotations)
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s%s}
spec:
%s  selector: {matchLabels: %s}
  template:
    metadata: {labels: %s}
    spec:
      serviceAccountName: %s-service-account
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2:1.6.14
        args: [proxy, router]
        env: [{name: CA_ADDR, value: %q}]
        ports: [%s]
%s`, name, ns, ann, replicas, yamlMap(o.selector), yamlMap(o.labels), name, o.caAddr, strings.Join(ports, ", "), vol)
}

func pdb(ns, name string, selector map[string]string) string {
	return fmt.Sprintf("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: %s, namespace: %s}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: %s}\n", name, ns, yamlMap(selector))
}

func hpa(ns, name, target string, min int) string {
	return fmt.Sprintf("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: %s, namespace: %s}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n  minReplicas: %d\n  maxReplicas: 5\n", name, ns, target, min)
}

func istioGateway(ns, name string, selector map[string]string) string {
	return fmt.Sprintf("apiVersion: networking.istio.io/v1alpha3\nkind: Gateway\nmetadata: {name: %s, namespace: %s}\nspec:\n  selector: %s\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*']\n", name, ns, yamlMap(selector))
}

func configMap(ns, name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: %s}\ndata: {mesh: 'defaultConfig: {}'}\n", name, ns)
}

func namespace(name string, labels map[string]string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: %s}\n", name, yamlMap(labels))
}

func crd(name string) string {
	return fmt.Sprintf("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: %s}\n", name)
}

func clusterRole(name string) string {
	return fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: %s}\nrules: []\n", name)
}

func clusterRoleBinding(name, role, sa string) string {
	return fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: %s}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s}\nsubjects:\n- {kind: ServiceAccount, name: %s, namespace: istio-system}\n", name, role, sa)
}

func injector(name, svc string, failurePolicy string, nsSelector string) string {
	return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: %s}
webhooks:
- name: sidecar-injector.istio.io
  clientConfig:
    service: {name: %s, namespace: istio-system, path: /inject}
  failurePolicy: %s
  namespaceSelector: %s
`, name, svc, failurePolicy, nsSelector)
}

func validator(name, svc, failurePolicy string) string {
	return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: %s}
webhooks:
- name: validation.istio.io
  clientConfig:
    service: {name: %s, namespace: istio-system, path: /validate}
  failurePolicy: %s
`, name, svc, failurePolicy)
}

var (
	oldPods  = map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}
	newPods  = map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway", "istio.io/rev": "canary"}
	prodSel  = map[string]string{"istio": "ingressgateway"}
	istiodV1 = map[string]string{"app": "istiod", "istio.io/rev": "default"}
	istiodV2 = map[string]string{"app": "istiod", "istio.io/rev": "canary"}
)

// doc is one state as a list of documents, keyed by a short name so a test
// can replace or drop one.
type doc struct{ key, yaml string }

type docs []doc

func (d docs) with(more ...doc) docs {
	out := append(docs{}, d...)
	for _, m := range more {
		replaced := false
		for i := range out {
			if out[i].key == m.key {
				out[i] = m
				replaced = true
			}
		}
		if !replaced {
			out = append(out, m)
		}
	}
	return out
}

func (d docs) without(keys ...string) docs {
	var out docs
	for _, x := range d {
		drop := false
		for _, k := range keys {
			drop = drop || x.key == k
		}
		if !drop {
			out = append(out, x)
		}
	}
	return out
}

func (d docs) model(t testing.TB) *mesh.Model {
	t.Helper()
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = x.yaml
	}
	nodes, err := (&kio.ByteReader{Reader: strings.NewReader(strings.Join(parts, "---\n")), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	m, err := mesh.Build(nodes)
	require.NoError(t, err)
	return m
}

// The hand-built upgrade of a small mesh, from the running state to the
// prune, that keeps every invariant.
var (
	s0Running = docs{
		{"ns-istio", namespace("istio-system", map[string]string{"istio-injection": "disabled"})},
		{"ns-apps", namespace("apps", map[string]string{"istio-injection": "enabled"})},
		{"crd", crd("gateways.networking.istio.io")},
		{"role", clusterRole("istiod-istio-system")},
		{"binding", clusterRoleBinding("istiod-istio-system", "istiod-istio-system", "istiod")},
		{"istiod", istiodDeploy("istiod", "default", 1)},
		{"istiod-svc", service("istio-system", "istiod", "", istiodV1, "15012", "443:15017")},
		{"mesh", configMap("istio-system", "istio")},
		{"injector", injector("istio-sidecar-injector", "istiod", "Fail", "{matchLabels: {istio-injection: enabled}}")},
		{"validator", validator("istiod-istio-system", "istiod", "Ignore")},
		{"gw", gatewayDeploy("default", "custom-gw", gwOpts{replicas: 2, labels: oldPods, ports: []int{8080, 8443, 15021}, caAddr: "istiod.istio-system.svc:15012"})},
		{"gw-svc", service("default", "custom-gw", "LoadBalancer", prodSel, "80:8080", "443:8443", "15021")},
		{"gw-pdb", pdb("default", "custom-gw", prodSel)},
		{"gw-gateway", istioGateway("default", "custom-gw", prodSel)},
	}
	s1CanaryControlPlane = s0Running.with(
		doc{"istiod-canary", istiodDeploy("istiod-canary", "canary", 1)},
		doc{"istiod-canary-svc", service("istio-system", "istiod-canary", "", istiodV2, "15012", "443:15017")},
		doc{"mesh-canary", configMap("istio-system", "istio-canary")},
		doc{"injector-canary", injector("istio-sidecar-injector-canary", "istiod-canary", "Fail",
			"{matchExpressions: [{key: istio-injection, operator: DoesNotExist}, {key: istio.io/rev, operator: In, values: [canary]}]}")},
	)
	s2GatewayConfig = s1CanaryControlPlane.with(doc{"mesh-canary-copy", configMap("default", "istio-canary")})
	canaryGateway   = gwOpts{replicas: 2, labels: newPods, ports: []int{8080, 8443, 15021}, caAddr: "istiod-canary.istio-system.svc:15012", configMap: "istio-canary"}
	s3CanaryGateway = s2GatewayConfig.with(doc{"gw-canary", gatewayDeploy("default", "custom-gw-canary", canaryGateway)})
	shiftedGateway  = gwOpts{replicas: 0, labels: oldPods, ports: []int{8080, 8443, 15021}, caAddr: "istiod.istio-system.svc:15012"}
	s4Shift         = s3CanaryGateway.with(doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)})
	s5DataPlane     = s4Shift.with(doc{"ns-apps", namespace("apps", map[string]string{"istio.io/rev": "canary"})})
	// S6: the webhook's Service istiod now selects the canary's istiod.
	s6WebhookContinuity = s5DataPlane.with(doc{"istiod-svc", service("istio-system", "istiod", "", istiodV2, "15012", "443:15017")})
	s7Prune             = s6WebhookContinuity.without("istiod", "mesh", "injector", "gw")
)

func goodSequence(t testing.TB) []State {
	return []State{
		{Name: "00-running", Model: s0Running.model(t)},
		{Name: "01-canary-control-plane", Model: s1CanaryControlPlane.model(t)},
		{Name: "02-gateway-config", Model: s2GatewayConfig.model(t)},
		{Name: "03-canary-gateways", Model: s3CanaryGateway.model(t)},
		{Name: "04-shift", Model: s4Shift.model(t)},
		{Name: "05-data-plane", Model: s5DataPlane.model(t)},
		{Name: "06-webhook-continuity", Model: s6WebhookContinuity.model(t)},
		{Name: "07-prune", Model: s7Prune.model(t)},
	}
}

// checkSequence is CheckPlan without renders.
func checkSequence(states []State, ord Ordering) (*Report, error) {
	return CheckPlan(states, ord, nil)
}

// checkStep runs every transition rule on the step prev -> next. baseline
// is S0, the running state (capacity and production Services are measured
// against it); nil means prev.
func checkStep(prev, next, baseline *mesh.Model, ord Ordering) []Finding {
	if baseline == nil {
		baseline = prev
	}
	vs := newViews(prev, next, baseline)
	st := starts{created: startsOf(vs[0], vs[1], nil, "")}
	return checkTransition(vs[0], vs[1], vs[2], ord, nil, nil, false, st)
}
