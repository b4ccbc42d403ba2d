package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// helmRenders copies the real helm renders named (relative to
// krmtest.HelmDir) into a folder of their own.
func helmRenders(t *testing.T, files ...string) string {
	t.Helper()
	return copyRenders(t, krmtest.HelmDir(t), files...)
}

// helmSteps are the steps of a Helm hop with --tag and no data plane to
// move.
var helmSteps = []string{"00-running", "01-canary-control-plane", "02-canary-gateways", "03-shift", "04-move-tags",
	"05-webhook-continuity", "06-prune"}

// planHelmTag plans from -> to with the Namespaces (and workloads) in
// include and --tag prod-stable, and checks the steps. It returns the
// plan's folder and plan's stderr.
func planHelmTag(t *testing.T, from, to, include string, steps []string) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plan")
	code, stdout, stderr := runPlan(t, "--from", from, "--to", to, "--include", include, "--tag", "prod-stable", "--out", out)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.Equal(t, steps, dirs(t, out))
	return out, stderr
}

// The Helm hop on the real helm template renders: istiod 1.29.6 with the
// revision tag prod-stable, two injected gateways of the gateway chart (one
// on the tag), the 1.31 istiod of revision 1-31-0. With --tag the tag moves
// in its own step, after the gateways run as canaries; forward and
// rollback verify.
func TestConformancePlanAndVerifyHelm(t *testing.T) {
	from := helmRenders(t, "1.29.6/base.yaml", "1.29.6/istiod.yaml", "1.29.6/gateways.yaml")
	to := helmRenders(t, "1.31.0/base.yaml", "1.31.0/istiod.rev-1-31-0.yaml", "1.31.0/gateways.rev-1-31-0.yaml")
	include := helmRenders(t, "include/namespaces.yaml")
	out, stderr := planHelmTag(t, from, to, include, helmSteps)
	assert.NotContains(t, stderr, "note:", "every tag of the running renders is moved")
	for _, applier := range []string{"argocd", "kubectl"} {
		var vout, verr bytes.Buffer
		require.Equal(t, 0, Verify([]string{"-applier", applier, out}, &vout, &verr), "%s%s", vout.String(), verr.String())
	}
	// Both injected gateways get a canary; none is a gateway-config step:
	// an injected proxy mounts no istio-<rev>.
	gate, err := os.ReadFile(filepath.Join(out, "02-canary-gateways", "gate.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(gate), "name: ingress-1-31-0")
	assert.Contains(t, string(gate), "name: ingress-tagged-1-31-0")

	back := filepath.Join(t.TempDir(), "rollback")
	code, stdout, stderr := runPlan(t, "--from", from, "--to", to, "--include", include, "--tag", "prod-stable", "--out", back, "--rollback")
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)

	// The tag rendered in --to too (the 1.31 istiod chart with
	// revisionTags): canary-control-plane holds it back, the plan moves it
	// in its own step as --tag would, and says so.
	tagged := helmRenders(t, "1.31.0/base.yaml", "1.31.0/istiod.rev-1-31-0.yaml", "1.31.0/gateways.rev-1-31-0.yaml", "tags/tag-prod-stable.rev-1-31-0.yaml")
	out = filepath.Join(t.TempDir(), "rendered-tag")
	code, stdout, stderr = runPlan(t, "--from", from, "--to", tagged, "--out", out)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.Contains(t, stderr, "note: revision tag prod-stable is moved to 1-31-0 in a step of its own, as --tag prod-stable would")
	assert.Contains(t, dirs(t, out), "04-move-tags")

	// The gateways rendered to follow the tag (the gateway chart with
	// revision=prod-stable): their canaries are pinned to 1-31-0, else
	// they would be the old revision under new names, re-injected in place
	// when the tag moves.
	following := helmRenders(t, "1.31.0/base.yaml", "1.31.0/istiod.rev-1-31-0.yaml", "1.31.0/gateways.rev-1-31-0.yaml")
	gw := filepath.Join(following, "gateways.rev-1-31-0.yaml")
	data, err := os.ReadFile(gw)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(data), `istio.io/rev: "1-31-0"`))
	writeFile(t, gw, strings.ReplaceAll(string(data), `istio.io/rev: "1-31-0"`, `istio.io/rev: "prod-stable"`))
	out = filepath.Join(t.TempDir(), "following")
	code, stdout, stderr = runPlan(t, "--from", from, "--to", following, "--tag", "prod-stable", "--out", out)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	states, err := BuildStates(out, ExecPath(""))
	require.NoError(t, err)
	canaries := 0
	for _, st := range states {
		if st.Name != "02-canary-gateways" {
			continue
		}
		for _, g := range st.Model.Gateways {
			if strings.HasSuffix(g.ID.Name, "-1-31-0") {
				canaries++
				assert.Equal(t, "1-31-0", g.PodLabels["istio.io/rev"], g.ID.String())
				assert.Equal(t, "1-31-0", st.Model.RevisionOfGateway(g), g.ID.String())
			}
		}
	}
	assert.Equal(t, 2, canaries)

	// Without --tag, the plan says the prune deletes the tag.
	code, stdout, stderr = runPlan(t, "--from", from, "--to", to, "--out", filepath.Join(t.TempDir(), "untagged"))
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.Contains(t, stderr, "note: revision tag prod-stable (istio-revision-tag-prod-stable) is not moved: the prune deletes it")
}

// The same hop from a revisioned Helm install (istiod revision 1-29-6, the
// base chart's defaultRevision on it, no default injector) plans and
// verifies, with the applications of include-apps/. The data-plane step
// moves report, pinned to 1-29-6 by its own
// label, onto 1-31-0 (else the prune leaves it without an injector: RS026);
// webhook continuity moves only the default validator, and no default
// injector appears (it would start injecting tools: RS025).
func TestConformancePlanAndVerifyHelmRevisioned(t *testing.T) {
	from := helmRenders(t, "1.29.6-revisioned/base.validator.yaml", "1.29.6-revisioned/istiod.rev-1-29-6.yaml", "1.29.6-revisioned/gateways.yaml")
	to := helmRenders(t, "1.31.0/base.validator.revisioned.yaml", "1.31.0/istiod.rev-1-31-0.yaml", "1.31.0/gateways.rev-1-31-0.yaml")
	include := helmRenders(t, "include/namespaces.yaml", "include-apps/apps.yaml")
	out, _ := planHelmTag(t, from, to, include, []string{"00-running", "01-canary-control-plane", "02-canary-gateways", "03-shift",
		"04-move-tags", "05-dataplane", "06-webhook-continuity", "07-prune"})
	var vout, verr bytes.Buffer
	require.Equal(t, 0, Verify([]string{out}, &vout, &verr), "%s%s", vout.String(), verr.String())

	states, err := BuildStates(out, ExecPath(""))
	require.NoError(t, err)
	for _, st := range states {
		m := st.Model
		for _, o := range m.Objects {
			assert.NotEqual(t, "istio-revision-tag-default", o.ID.Name, st.Name)
		}
		assert.Nil(t, m.InjectorOf(m.Deployment("batch", "tools")), "%s: nothing injects tools", st.Name)
		if st.Name != "06-webhook-continuity" && st.Name != "07-prune" {
			continue
		}
		var calls []string
		for _, h := range m.Webhooks {
			if h.Config.ID.Name == "istiod-default-validator" {
				calls = append(calls, h.Service.Name)
			}
		}
		assert.Equal(t, []string{"istiod-1-31-0"}, calls, st.Name)
		report := m.Deployment("batch", "report")
		assert.Equal(t, "1-31-0", report.PodLabels["istio.io/rev"], st.Name)
		h := m.InjectorOf(report)
		require.NotNil(t, h, st.Name)
		rev, _ := m.WebhookRevision(h)
		assert.Equal(t, "1-31-0", rev, st.Name)
	}
}

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
