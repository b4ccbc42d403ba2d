package canarycontrolplane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// carrier wraps render files as the running-render ConfigMap that the
// README's configMapGenerator produces.
func carrier(t *testing.T, rel ...string) *yaml.RNode {
	t.Helper()
	dir := krmtest.SharedDir(t)
	n := yaml.MustParse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: running-render\n  annotations:\n    revshift.dev/running-render: \"true\"\n    config.kubernetes.io/local-config: \"true\"\ndata: {}\n")
	m := map[string]string{}
	for _, r := range rel {
		data, err := os.ReadFile(filepath.Join(dir, r))
		require.NoError(t, err)
		m[filepath.Base(r)] = string(data)
	}
	n.SetDataMap(m)
	return n
}

type run struct {
	out     krmtest.Output
	results map[string][]string // resource name -> messages
}

func canaryOn(t *testing.T, running, next string) run {
	t.Helper()
	items := append(krmtest.Render(t, next), carrier(t, running))
	// The carrier stays, marked local-config, so a second run is identical.
	out := krmtest.RunTwice(t, krm.Processor(Transform), items, nil)
	r := run{out: out, results: map[string][]string{}}
	for _, x := range out.Results {
		key := ""
		if x.ResourceRef != nil {
			key = x.ResourceRef.Kind + "/" + x.ResourceRef.Namespace + "/" + x.ResourceRef.Name
		}
		r.results[key] = append(r.results[key], x.Message)
	}
	return r
}

func (r run) has(kind, ns, name string) bool { return krmtest.Find(r.out.Items, kind, ns, name) != nil }

func TestConformanceSeed(t *testing.T) {
	r := canaryOn(t, "1.5-to-1.6-seed/1.5.10/control-plane.yaml", "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml")
	require.True(t, r.out.OK, "%v", r.out.Results)

	// Held back: the default gateway and its objects, the non-revisioned webhook.
	for _, k := range [][3]string{
		{"Deployment", "istio-system", "istio-ingressgateway"},
		{"Service", "istio-system", "istio-ingressgateway"},
		{"PodDisruptionBudget", "istio-system", "istio-ingressgateway"},
		{"ServiceAccount", "istio-system", "istio-ingressgateway-service-account"},
		{"ValidatingWebhookConfiguration", "", "istiod-istio-system"},
	} {
		assert.False(t, r.has(k[0], k[1], k[2]), "%v must be held back", k)
		msgs := r.results[k[0]+"/"+k[1]+"/"+k[2]]
		require.NotEmpty(t, msgs, "%v: an info result must say why it is held", k)
		assert.Contains(t, msgs[0], "held back")
	}
	assert.Contains(t, r.results["Deployment/istio-system/istio-ingressgateway"][0], "revision 1-6-14 at once")
	assert.Contains(t, r.results["ValidatingWebhookConfiguration//istiod-istio-system"][0], "Service istio-system/istiod (revision default)")

	// Passed: the revision's objects.
	for _, k := range [][3]string{
		{"Deployment", "istio-system", "istiod-1-6-14"},
		{"Service", "istio-system", "istiod-1-6-14"},
		{"ConfigMap", "istio-system", "istio-1-6-14"},
		{"ConfigMap", "istio-system", "istio-sidecar-injector-1-6-14"},
		{"MutatingWebhookConfiguration", "", "istio-sidecar-injector-1-6-14"},
		{"EnvoyFilter", "istio-system", "stats-filter-1.6-1-6-14"},
		{"ClusterRoleBinding", "", "istiod-pilot-istio-system"},
		{"CustomResourceDefinition", "", "workloadentries.networking.istio.io"},
	} {
		assert.True(t, r.has(k[0], k[1], k[2]), "%v must be emitted", k)
	}

	// The union keeps every rule of 1.5's istiod-istio-system ClusterRole.
	running := krmtest.Render(t, "1.5-to-1.6-seed/1.5.10/control-plane.yaml")
	oldRole := roleRules(t, running, "istiod-istio-system")
	newRole := roleRules(t, r.out.Items, "istiod-istio-system")
	assert.Empty(t, mesh.RulesLost(oldRole, newRole), "the emitted ClusterRole must grant every rule of 1.5's")
	plain := roleRules(t, krmtest.Render(t, "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml"), "istiod-istio-system")
	assert.NotEmpty(t, mesh.RulesLost(oldRole, plain), "sanity: the 1.6.14 render alone drops extensions/ingresses")
	assert.Empty(t, mesh.RulesLost(plain, newRole), "and the union keeps every new rule")
	msg := strings.Join(r.results["ClusterRole//istiod-istio-system"], "\n")
	assert.Contains(t, msg, "extensions/ingresses [get list watch]")
	assert.Contains(t, msg, "ServiceAccount istio-system/istio-pilot-service-account")

	// The carrier stays, marked local-config (canaryOn ran the output
	// again: identical).
	c := krmtest.Find(r.out.Items, "ConfigMap", "", "running-render")
	require.NotNil(t, c)
	assert.Equal(t, "true", c.GetAnnotations()[mesh.AnnotationLocalConfig])
}

func TestConformanceModern(t *testing.T) {
	r := canaryOn(t, "1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml")
	require.True(t, r.out.OK, "%v", r.out.Results)
	assert.False(t, r.has("Deployment", "istio-system", "istio-ingressgateway"))
	assert.False(t, r.has("HorizontalPodAutoscaler", "istio-system", "istio-ingressgateway"))
	for _, k := range [][3]string{
		{"Deployment", "istio-system", "istiod-1-31-0"},
		{"MutatingWebhookConfiguration", "", "istio-sidecar-injector-1-31-0"},
		{"ValidatingWebhookConfiguration", "", "istio-validator-1-31-0-istio-system"},
		{"CustomResourceDefinition", "", "trafficextensions.extensions.istio.io"},
	} {
		assert.True(t, r.has(k[0], k[1], k[2]), "%v must be emitted", k)
	}
	for _, x := range r.out.Results {
		assert.NotEqual(t, fn.Error, x.Severity, x.Message)
	}
}

func roleRules(t *testing.T, items []*yaml.RNode, name string) []mesh.PolicyRule {
	t.Helper()
	n := krmtest.Find(items, "ClusterRole", "", name)
	require.NotNil(t, n, name)
	o, err := mesh.Identify(0, n)
	require.NoError(t, err)
	rs, err := mesh.RoleRules(o)
	require.NoError(t, err)
	return rs
}
