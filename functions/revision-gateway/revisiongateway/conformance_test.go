package revisiongateway

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// kustomizeBin finds the kustomize that `make tools` installs (bin/ at the
// repository root), else one on PATH; the test skips without one.
func kustomizeBin(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	for d := wd; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if p := filepath.Join(d, "bin", "kustomize"); fileExists(p) {
				return p
			}
			break
		}
	}
	if p, err := exec.LookPath("kustomize"); err == nil {
		return p
	}
	t.Skip("kustomize not found: run `make tools`")
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// canaryRender carries a file of ../shared as revshift plan does: the data
// of a local-config ConfigMap annotated mesh.AnnotationCanaryRender.
func canaryRender(t *testing.T, rel string) *yaml.RNode {
	t.Helper()
	it, err := mesh.NewCarrier("target-gateways", mesh.AnnotationCanaryRender, krmtest.Render(t, rel))
	require.NoError(t, err)
	return it.Node()
}

func config(t *testing.T, spec string) *yaml.RNode {
	return yaml.MustParse("apiVersion: revshift.dev/v1alpha1\nkind: RevisionGateway\nmetadata: {name: c}\nspec:\n" + spec)
}

func run(t *testing.T, items []*yaml.RNode, cfg *yaml.RNode) krmtest.Output {
	t.Helper()
	out := krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, items, cfg))
	require.True(t, out.OK, "%v", out.Results)
	again := krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, out.Items, cfg))
	require.True(t, again.OK, "%v", again.Results)
	assert.Equal(t, string(krmtest.ItemsYAML(t, out.Items)), string(krmtest.ItemsYAML(t, again.Items)), "second run changed the items")
	return out
}

// checkCanary asserts the gateway invariants 1-4 and 7 for the pair, and
// that the running Deployment came through untouched.
func checkCanary(t *testing.T, items []*yaml.RNode, oldDeploy string, newName string, gateway bool) *mesh.Model {
	t.Helper()
	m, err := mesh.Build(items)
	require.NoError(t, err)
	o, n := m.Deployment("default", "custom-gw"), m.Deployment("default", newName)
	require.NotNil(t, o)
	require.NotNil(t, n)
	assert.Equal(t, oldDeploy, o.Node().MustString(), "canary mode must not touch the running Deployment")
	svc := m.Service("default", "custom-gw")
	require.NotNil(t, svc)
	assert.Contains(t, svc.Selected(), n, "production Service default/custom-gw must select the canary's pods")
	if gateway {
		gws := n.IstioGateways()
		require.Len(t, gws, 1)
		assert.Equal(t, "custom-gw", gws[0].ID.Name)
	}
	assert.Empty(t, m.ReplacementGaps(o, n))
	assert.False(t, n.SelectsPodsOf(o), "the canary's selector must not select the running pods")
	assert.Nil(t, m.Service("default", newName), "the new render's own Service must be gone")
	assert.Len(t, n.PDBs(), 1)
	assert.LessOrEqual(t, len(o.PDBs()), 1)
	return m
}

func shiftAndCheck(t *testing.T, items []*yaml.RNode, newName, spec string) []*yaml.RNode {
	t.Helper()
	before, err := mesh.Build(items)
	require.NoError(t, err)
	newBefore := before.Deployment("default", newName).Node().MustString()
	out := run(t, items, config(t, "  mode: shift\n"+spec))
	m, err := mesh.Build(out.Items)
	require.NoError(t, err)
	o := m.Deployment("default", "custom-gw")
	require.NotNil(t, o.Replicas)
	assert.Equal(t, int64(0), *o.Replicas)
	assert.Nil(t, m.HPAFor(o))
	assert.Equal(t, newBefore, m.Deployment("default", newName).Node().MustString(), "shift must not touch the canary")
	assert.Len(t, out.Items, len(items)-len(before.HPAs)+len(m.HPAs))
	return out.Items
}

// The seed: 1.5.10 gateways next to the 1.6.14 render of the unchanged
// gateway input, carried.
func TestConformanceSeed(t *testing.T) {
	old := krmtest.Render(t, "1.5-to-1.6-seed/1.5.10/gateways.yaml")
	items := append(old, canaryRender(t, "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml"))
	oldDeploy := krmtest.Find(items, "Deployment", "default", "custom-gw").MustString()
	out := run(t, items, config(t, "  revision: 1-6-14\n"))
	m := checkCanary(t, out.Items, oldDeploy, "custom-gw-1-6-14", true)
	n := m.Deployment("default", "custom-gw-1-6-14")
	assert.Equal(t, "ingressgateway", n.PodLabels["istio"])
	for _, p := range []int64{80, 443, 15020} {
		_, ok := n.ServesPort(mesh.IntOrString{Num: p})
		assert.True(t, ok, "port %d", p)
	}
	assert.Equal(t, "custom-gw", n.Gateway().ServiceCluster)
	assert.Equal(t, "custom-gw-service-account-1-6-14", n.ServiceAccount)
	shiftAndCheck(t, out.Items, "custom-gw-1-6-14", "  revision: 1-6-14\n")
}

// The seed's hand-written 1.6 overlay (pods labelled istio: custom-gw, names
// already -1-6-14): the function fixes what the overlay got wrong.
func TestConformanceSeedOverlay(t *testing.T) {
	items := krmtest.Render(t, "1.5-to-1.6-seed/1.5.10/gateways.yaml", "1.5-to-1.6-seed/1.6.14/gateways-seed-overlays.rev-1-6-14.yaml")
	oldDeploy := krmtest.Find(items, "Deployment", "default", "custom-gw").MustString()
	out := run(t, items, nil)
	m := checkCanary(t, out.Items, oldDeploy, "custom-gw-1-6-14", true)
	assert.Equal(t, "ingressgateway", m.Deployment("default", "custom-gw-1-6-14").PodLabels["istio"])
}

// The modern pair: 1.29.6 default-revision gateway with an HPA, 1.31.0
// revision render carried; with the running control plane in the input
// (its istio-ingressgateway has no replacement and is left alone), and the
// target control plane's ClusterRoleBindings, which bind ServiceAccount
// istiod-1-31-0: a revision name and the canary suffix are the same string,
// and once a suffix rule rewrote those subjects to the running istiod's
// account.
func TestConformanceModern(t *testing.T) {
	old := krmtest.Render(t, "1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.29.6/gateways.yaml")
	items := append(old, canaryRender(t, "1.29-to-1.31-modern/1.31.0/gateways.rev-1-31-0.yaml"))
	var crbs []string
	for _, n := range krmtest.Render(t, "1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml") {
		if n.GetKind() == "ClusterRoleBinding" && strings.HasPrefix(n.GetName(), "istiod-") {
			items = append(items, n)
			crbs = append(crbs, n.GetName())
		}
	}
	require.NotEmpty(t, crbs)
	oldDeploy := krmtest.Find(items, "Deployment", "default", "custom-gw").MustString()
	sysGw := krmtest.Find(items, "Deployment", "istio-system", "istio-ingressgateway").MustString()
	out := run(t, items, config(t, "  revision: 1-31-0\n"))
	for _, name := range crbs {
		crb := krmtest.Find(out.Items, "ClusterRoleBinding", "", name)
		require.NotNil(t, crb, name)
		assert.Contains(t, crb.MustString(), "name: istiod-1-31-0", "%s must keep binding the new istiod's ServiceAccount", name)
	}
	m := checkCanary(t, out.Items, oldDeploy, "custom-gw-1-31-0", false)
	n := m.Deployment("default", "custom-gw-1-31-0")
	assert.Equal(t, "1-31-0", n.PodLabels[mesh.LabelRev])
	h := m.HPAFor(n)
	require.NotNil(t, h)
	assert.GreaterOrEqual(t, h.MinReplicas, int64(2))
	assert.GreaterOrEqual(t, h.MaxReplicas, int64(5))
	pdb := n.PDBs()[0]
	assert.Equal(t, "custom-gw-1-31-0", pdb.ID.Name)
	assert.Empty(t, m.Deployment("default", "custom-gw").PDBs(), "the 1.31 PDB must no longer select the running pods")
	assert.Equal(t, sysGw, krmtest.Find(out.Items, "Deployment", "istio-system", "istio-ingressgateway").MustString())
	after := shiftAndCheck(t, out.Items, "custom-gw-1-31-0", "  revision: 1-31-0\n")
	assert.Nil(t, krmtest.Find(after, "HorizontalPodAutoscaler", "default", "custom-gw"), "the running gateway's HPA must be removed")
}

// The whole user workflow with the real kustomize and the function as an
// exec transformer: the kustomization holds the running render and carries
// the new gateway render in a configMapGenerator, as revshift plan writes
// it. No name is suffixed by kustomize, so its final name-reference pass has
// nothing to rewrite (kubernetes-sigs/kustomize#5856).
func TestConformanceSeedKustomizeExec(t *testing.T) {
	dir, kz := seedKustomization(t)
	write(t, filepath.Join(dir, "k", "kustomization.yaml"), `resources: [gateways.yaml]
configMapGenerator:
- name: target-gateways
  files: [gateways-1-6-14/gateways.rev-1-6-14.yaml]
  options:
    disableNameSuffixHash: true
    annotations:
      revshift.dev/canary-render: "true"
      config.kubernetes.io/local-config: "true"
transformers: [fn.yaml]
`)
	cmd := exec.Command(kz, "build", "--enable-alpha-plugins", "--enable-exec", filepath.Join(dir, "k"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	items := krmtest.ParseYAML(t, out)
	oldDeploy := krmtest.Find(krmtest.Render(t, "1.5-to-1.6-seed/1.5.10/gateways.yaml"), "Deployment", "default", "custom-gw").MustString()
	m := checkCanary(t, items, oldDeploy, "custom-gw-1-6-14", true)
	assert.Equal(t, "custom-gw-service-account-1-6-14", m.Deployment("default", "custom-gw-1-6-14").ServiceAccount)
	rb := krmtest.Find(items, "RoleBinding", "default", "custom-gw-sds")
	assert.Equal(t, "custom-gw-sds", yaml.GetValue(rb.Field("roleRef").Value.Field("name").Value))
	assert.Contains(t, rb.MustString(), "name: custom-gw-service-account\n")
	rbNew := krmtest.Find(items, "RoleBinding", "default", "custom-gw-sds-1-6-14")
	assert.Contains(t, rbNew.MustString(), "name: custom-gw-service-account-1-6-14")
	assert.Contains(t, rbNew.MustString(), "name: custom-gw-sds-1-6-14")
	assert.Nil(t, krmtest.Find(items, "ConfigMap", "", "target-gateways"), "the carrier is local-config: never applied")
	assert.NotContains(t, string(out), "internal.config.kubernetes.io")
}

// The layout the carrier replaced: the new render suffixed in a sibling
// kustomization. kustomize would rewrite the running render's references
// at the end of the build, so the function refuses it and says what to do
// instead; kustomize fails with that message.
func TestConformanceSeedSiblingSuffixRefused(t *testing.T) {
	dir, kz := seedKustomization(t)
	write(t, filepath.Join(dir, "k", "gateways-1-6-14", "kustomization.yaml"), "nameSuffix: -1-6-14\nresources: [gateways.rev-1-6-14.yaml]\n")
	write(t, filepath.Join(dir, "k", "kustomization.yaml"), "resources: [gateways.yaml, gateways-1-6-14]\ntransformers: [fn.yaml]\n")
	cmd := exec.Command(kz, "build", "--enable-alpha-plugins", "--enable-exec", filepath.Join(dir, "k"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	_, err := cmd.Output()
	require.Error(t, err)
	assert.Contains(t, stderr.String(), "kubernetes-sigs/kustomize#5856")
	assert.Contains(t, stderr.String(), mesh.AnnotationCanaryRender)
}

// seedKustomization lays out k/gateways.yaml (1.5.10), k/gateways-1-6-14/
// (the 1.6.14 render) and k/fn.yaml (the function, built), and returns the
// folder and kustomize.
func seedKustomization(t *testing.T) (string, string) {
	t.Helper()
	shared := krmtest.SharedDir(t)
	kz := kustomizeBin(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "revision-gateway")
	build := exec.Command("go", "build", "-o", bin, "..")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cp := func(src, dst string) {
		data, err := os.ReadFile(filepath.Join(shared, src))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, data, 0o644))
	}
	cp("1.5-to-1.6-seed/1.5.10/gateways.yaml", filepath.Join(dir, "k", "gateways.yaml"))
	cp("1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml", filepath.Join(dir, "k", "gateways-1-6-14", "gateways.rev-1-6-14.yaml"))
	write(t, filepath.Join(dir, "k", "fn.yaml"), "apiVersion: revshift.dev/v1alpha1\nkind: RevisionGateway\nmetadata:\n  name: canary\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: "+bin+"\nspec:\n  revision: 1-6-14\n")
	return dir, kz
}

func write(t *testing.T, p, s string) { require.NoError(t, os.WriteFile(p, []byte(s), 0o644)) }
