package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// shapedFields are the fields of each kind that revshift reads to decide a
// plan and that the Helm example's headers say are kept as rendered; labels
// are compared without the chart's bookkeeping ones, which the example
// trims.
var shapedFields = map[string][][]string{
	"Deployment": {{"metadata", "labels"}, {"spec", "selector"}, {"spec", "template", "metadata", "labels"},
		{"spec", "template", "metadata", "annotations"}, {"spec", "template", "spec", "serviceAccountName"}},
	"Service":                        {{"metadata", "labels"}, {"spec", "type"}, {"spec", "selector"}, {"spec", "ports"}},
	"HorizontalPodAutoscaler":        {{"spec", "scaleTargetRef"}, {"spec", "minReplicas"}, {"spec", "maxReplicas"}},
	"PodDisruptionBudget":            {{"spec", "selector"}, {"spec", "minAvailable"}},
	"RoleBinding":                    {{"roleRef"}, {"subjects"}},
	"ClusterRoleBinding":             {{"roleRef"}, {"subjects"}},
	"ServiceAccount":                 {{"metadata", "labels"}},
	"MutatingWebhookConfiguration":   {{"metadata", "labels"}},
	"ValidatingWebhookConfiguration": {{"metadata", "labels"}},
}

// webhookFields are compared on every webhook of a configuration, by name.
var webhookFields = [][]string{{"clientConfig", "service"}, {"namespaceSelector"}, {"objectSelector"}, {"failurePolicy"}, {"rules"}}

// The Helm example's renders are trimmed by hand from the real helm
// template output (testdata/helm-renders). Every object it keeps must be in
// the real render, with the same selectors, labels, ports, bindings and
// webhooks; else the example shows a plan for an install nobody has.
func TestHelmExampleIsShapedAfterTheRealRenders(t *testing.T) {
	ex := filepath.Join("..", "..", "kustomization-examples", "1.29-to-1.31-helm", "renders")
	for _, f := range []string{"1.29.6/base.yaml", "1.29.6/istiod.yaml", "1.29.6/gateways.yaml",
		"1.31.0/base.yaml", "1.31.0/istiod.rev-1-31-0.yaml", "1.31.0/gateways.rev-1-31-0.yaml"} {
		t.Run(f, func(t *testing.T) {
			real := map[string]*yaml.RNode{}
			for _, n := range krmtest.HelmRender(t, f) {
				real[shapeKey(n)] = n
			}
			kept := krmtest.ReadYAMLFiles(t, filepath.Join(ex, f))
			require.NotEmpty(t, kept)
			for _, n := range kept {
				r, ok := real[shapeKey(n)]
				if !assert.True(t, ok, "%s: not in the real render", shapeKey(n)) {
					continue
				}
				for _, path := range shapedFields[n.GetKind()] {
					assert.Equal(t, shaped(t, r, path), shaped(t, n, path), "%s %s", shapeKey(n), strings.Join(path, "."))
				}
				sameWebhooks(t, shapeKey(n), r, n)
			}
		})
	}
}

// sameWebhooks compares the webhooks of configuration n with the real
// render's r: the same names, in order, with the same targets and selectors.
func sameWebhooks(t *testing.T, key string, r, n *yaml.RNode) {
	t.Helper()
	names := func(o *yaml.RNode) []string {
		ns, err := o.Pipe(yaml.Lookup("webhooks"))
		require.NoError(t, err)
		if ns == nil {
			return nil
		}
		var out []string
		for _, w := range ns.Content() {
			out = append(out, yaml.NewRNode(w).Field("name").Value.YNode().Value)
		}
		return out
	}
	require.Equal(t, names(r), names(n), "%s webhooks", key)
	for _, name := range names(n) {
		for _, path := range webhookFields {
			full := append([]string{"webhooks", "[name=" + name + "]"}, path...)
			assert.Equal(t, shaped(t, r, full), shaped(t, n, full), "%s webhook %s %s", key, name, strings.Join(path, "."))
		}
	}
}

// shapeKey names an object by kind, namespace and name.
func shapeKey(n *yaml.RNode) string {
	return n.GetKind() + "/" + n.GetNamespace() + "/" + n.GetName()
}

// shaped is the value at path as plain data (so that quoting and comments
// do not count), labels without the chart's bookkeeping keys.
func shaped(t *testing.T, n *yaml.RNode, path []string) any {
	t.Helper()
	v, err := n.Pipe(yaml.Lookup(path...))
	require.NoError(t, err)
	if v == nil {
		return nil
	}
	var out any
	require.NoError(t, v.Document().Decode(&out))
	if path[len(path)-1] == "labels" {
		if m, ok := out.(map[string]any); ok {
			for k := range m {
				if bookkeeping(k) {
					delete(m, k)
				}
			}
		}
	}
	return out
}

// bookkeeping says whether a label is one the chart adds for Helm and the
// operator, which the example trims: it decides nothing revshift plans.
func bookkeeping(k string) bool {
	for _, p := range []string{"app.kubernetes.io/", "helm.sh/", "install.operator.istio.io/", "operator.istio.io/"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
