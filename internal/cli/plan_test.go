package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	"github.com/revshift/revshift/internal/kbuild"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/plan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// binDir holds a revshift binary built for these tests; the written steps
// name it by its bare name, found on PATH as in a user's shell or Argo CD's
// repo-server.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "revshift-bin")
	if err != nil {
		panic(err)
	}
	out, err := exec.Command("go", "build", "-o", dir+"/", "../../cmd/revshift").CombinedOutput()
	if err != nil {
		panic(string(out))
	}
	binDir = dir
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// renders copies render files from ../shared (krmtest.SharedDir) into a
// fresh folder.
func renders(t *testing.T, files ...string) string {
	t.Helper()
	return copyRenders(t, krmtest.SharedDir(t), files...)
}

// copyRenders copies the files named (relative to src) into a fresh folder.
func copyRenders(t *testing.T, src string, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644))
	}
	return dir
}

func seedFrom(t *testing.T) string {
	return renders(t, "1.5-to-1.6-seed/1.5.10/control-plane.yaml", "1.5-to-1.6-seed/1.5.10/gateways.yaml")
}

func seedTo(t *testing.T) string {
	return renders(t, "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml")
}

func runPlan(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Plan(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func dirs(t *testing.T, out string) []string {
	t.Helper()
	steps, err := StepDirs(out)
	require.NoError(t, err)
	return steps
}

// The acceptance test of plan and verify on the real renders: both hops,
// forward and rollback, every rule holds.
func TestConformancePlanAndVerify(t *testing.T) {
	pairs := []struct {
		name     string
		from, to func(t *testing.T) string
		rev      string
	}{
		{"seed 1.5.10 -> 1.6.14", seedFrom, seedTo, "1-6-14"},
		{"modern 1.29.6 -> 1.31.0",
			func(t *testing.T) string {
				return renders(t, "1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.29.6/gateways.yaml")
			},
			func(t *testing.T) string {
				return renders(t, "1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml", "1.29-to-1.31-modern/1.31.0/gateways.rev-1-31-0.yaml")
			}, "1-31-0"},
	}
	want := []string{"00-running", "01-canary-control-plane", "02-gateway-config", "03-canary-gateways", "04-shift",
		"05-default-gateway-canary", "06-default-gateway-shift", "07-webhook-continuity", "08-prune"}
	for _, pr := range pairs {
		t.Run(pr.name, func(t *testing.T) {
			from, to := pr.from(t), pr.to(t)
			out := filepath.Join(t.TempDir(), "plan")
			code, stdout, stderr := runPlan(t, "--from", from, "--to", to, "--out", out)
			require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
			assert.Contains(t, stdout, "wrote 9 steps of revision "+pr.rev)
			assert.Equal(t, want, dirs(t, out))

			// The steps name the binary by its bare name: they build on
			// another machine too.
			cfg, err := os.ReadFile(filepath.Join(out, "03-canary-gateways", "revshift.yaml"))
			require.NoError(t, err)
			assert.Contains(t, string(cfg), "path: revshift\n")
			assert.NotContains(t, string(cfg), binDir)

			readme, err := os.ReadFile(filepath.Join(out, "README.md"))
			require.NoError(t, err)
			assert.Equal(t, len(want), strings.Count(string(readme), "```mermaid"), "one traffic graph per step")
			assert.Contains(t, string(readme), "Watch before moving on")

			// revshift verify agrees, on its own, also for appliers that
			// apply a step at once (kubectl, Flux): the plan does not lean on
			// Argo CD sync waves.
			for _, applier := range []string{"argocd", "kubectl"} {
				var vout, verr bytes.Buffer
				require.Equal(t, 0, Verify([]string{"-applier", applier, out}, &vout, &verr), "%s%s", vout.String(), verr.String())
			}

			// The rollback walk verifies too.
			back := filepath.Join(t.TempDir(), "rollback")
			code, stdout, stderr = runPlan(t, "--from", from, "--to", to, "--out", back, "--rollback")
			require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
			got := dirs(t, back)
			require.Len(t, got, len(want))
			assert.Equal(t, "00-prune", got[0])
			assert.Equal(t, "08-running", got[len(got)-1])
		})
	}
}

// The seed's own procedure: its hand-written 1.6 overlay applied as the
// canary gateways, then the old gateway scaled to 0. verify must fail, and
// say why: the production Service selects no running pod after the shift,
// the overlay's second LoadBalancer, its PDB that selects no pod.
func TestConformanceSeedHandOverlayFails(t *testing.T) {
	out := filepath.Join(t.TempDir(), "plan")
	code, stdout, stderr := runPlan(t, "--from", seedFrom(t), "--to", seedTo(t), "--out", out, "--no-verify")
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	// Keep S0..S2 as planned; replace S3 and S4 with the seed's procedure.
	for _, d := range dirs(t, out)[3:] {
		require.NoError(t, os.RemoveAll(filepath.Join(out, d)))
	}
	overlay := filepath.Join(out, "inputs", "seed-overlay")
	data, err := os.ReadFile(filepath.Join(krmtest.SharedDir(t), "1.5-to-1.6-seed/1.6.14/gateways-seed-overlays.rev-1-6-14.yaml"))
	require.NoError(t, err)
	write(t, filepath.Join(overlay, "gateways-seed-overlays.rev-1-6-14.yaml"), string(data))
	write(t, filepath.Join(overlay, "kustomization.yaml"), "resources: [gateways-seed-overlays.rev-1-6-14.yaml]\n")
	cfg, err := os.ReadFile(filepath.Join(out, "02-gateway-config", "revshift.yaml"))
	require.NoError(t, err)
	write(t, filepath.Join(out, "03-canary-gateways", "revshift.yaml"), string(cfg))
	write(t, filepath.Join(out, "03-canary-gateways", "kustomization.yaml"),
		"resources: [../inputs, ../inputs/target, ../inputs/seed-overlay]\ntransformers: [revshift.yaml]\n")
	write(t, filepath.Join(out, "04-shift", "revshift.yaml"), string(cfg))
	write(t, filepath.Join(out, "04-shift", "kustomization.yaml"), `resources: [../inputs, ../inputs/target, ../inputs/seed-overlay]
transformers: [revshift.yaml, scale-down.yaml]
`)
	write(t, filepath.Join(out, "04-shift", "scale-down.yaml"), `apiVersion: builtin
kind: PatchTransformer
metadata: {name: scale-down}
target: {kind: Deployment, namespace: default, name: custom-gw}
patch: '[{"op": "replace", "path": "/spec/replicas", "value": 0}]'
`)

	var vout, verr bytes.Buffer
	code = Verify([]string{out}, &vout, &verr)
	require.Equal(t, 1, code, "%s%s", vout.String(), verr.String())
	report := vout.String()
	for _, want := range []string{
		"[03-canary-gateways -> 04-shift] RS002", // capacity drops to zero
		"[04-shift] RS001 service-endpoints (error): production Service/default/custom-gw selects no running pods",
		"RS018 new-entry-point (error): this step adds LoadBalancer Service/default/custom-gw-1-6-14",
		"[03-canary-gateways] RS009 pdb-empty (error): PodDisruptionBudget.policy/default/custom-gw-1-6-14 selects no pod",
	} {
		assert.Contains(t, report, want)
	}
}

// Flux builds kustomizations with plugins off: the written steps, whose
// state comes from exec functions, need pre-rendering. --prerender writes
// prerendered/NN-name/, which Flux's own builder (fluxcd/pkg/kustomize)
// builds to exactly the state revshift built.
func TestConformancePrerenderedForFlux(t *testing.T) {
	out := filepath.Join(t.TempDir(), "plan")
	code, stdout, stderr := runPlan(t, "--from", seedFrom(t), "--to", seedTo(t), "--out", out, "--prerender")
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	for _, d := range dirs(t, out) {
		want, err := kbuild.Build(filepath.Join(out, d))
		require.NoError(t, err)
		rm, err := fluxkustomize.SecureBuild(out, filepath.Join(out, "prerendered", d), false)
		require.NoError(t, err, d)
		got := rm.ToRNodeSlice()
		assert.Equal(t, ids(t, want), ids(t, got), d)
		if d == "04-shift" {
			// The shifted gateway is in what Flux applies, and at 0.
			var gw *yaml.RNode
			for _, n := range got {
				if n.GetKind() == "Deployment" && n.GetName() == "custom-gw" {
					gw = n
				}
			}
			require.NotNil(t, gw, "Deployment custom-gw in prerendered/%s", d)
			replicas, err := gw.Pipe(yaml.Lookup("spec", "replicas"))
			require.NoError(t, err)
			require.NotNil(t, replicas, "spec.replicas of custom-gw")
			assert.Equal(t, "0", replicas.YNode().Value)
		}
	}
	// Without pre-rendering, Flux cannot run the step's function.
	_, err := fluxkustomize.SecureBuild(out, filepath.Join(out, "03-canary-gateways"), false)
	assert.Error(t, err)
}

func ids(t *testing.T, nodes []*yaml.RNode) []string {
	t.Helper()
	var out []string
	for _, n := range nodes {
		out = append(out, n.GetApiVersion()+"/"+n.GetKind()+"/"+n.GetNamespace()+"/"+n.GetName())
	}
	sort.Strings(out)
	return out
}

func TestPlanErrors(t *testing.T) {
	from, to := seedFrom(t), seedTo(t)
	// A target whose gateways are not the running ones.
	renamed := t.TempDir()
	data, err := os.ReadFile(filepath.Join(to, "gateways.rev-1-6-14.yaml"))
	require.NoError(t, err)
	write(t, filepath.Join(renamed, "gateways.rev-1-6-14.yaml"), strings.ReplaceAll(string(data), "custom-gw", "other-gw"))
	cp, err := os.ReadFile(filepath.Join(to, "control-plane.rev-1-6-14.yaml"))
	require.NoError(t, err)
	write(t, filepath.Join(renamed, "control-plane.rev-1-6-14.yaml"), string(cp))
	operator := t.TempDir()
	write(t, filepath.Join(operator, "minimal-gateways.yaml"), "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {name: custom-gw}\nspec: {profile: empty}\n")
	broken := t.TempDir()
	write(t, filepath.Join(broken, "bad.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: http}]\n")

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"same renders twice", []string{"--from", from, "--to", from}, 1, "are renders of the same revision default"},
		{"no gateway pairs up", []string{"--from", from, "--to", renamed}, 1, "no gateway of the target pairs up with a running one: the target's gateways default/other-gw"},
		{"revision not a DNS label", []string{"--from", from, "--to", to, "--revision", "1.6.14"}, 1, `revision "1.6.14" is not a DNS label`},
		{"revision not in the target", []string{"--from", from, "--to", to, "--revision", "1-7-0"}, 1, "no istiod of that revision"},
		{"missing folder", []string{"--from", filepath.Join(from, "nope"), "--to", to}, 1, "--from:"},
		{"malformed render", []string{"--from", from, "--to", broken}, 1, `Service/x: spec.ports[0].port: expected an integer, got "http"`},
		{"an IstioOperator instead of its render", []string{"--from", from, "--to", operator}, 1, "IstioOperator.install.istio.io/custom-gw, the input of istioctl, not rendered manifests"},
		{"a tag the running renders lack", []string{"--from", from, "--to", to, "--tag", "prod-stable"}, 1, "--tag prod-stable: no injector webhook of the running renders answers istio.io/rev=prod-stable"},
		{"the default tag", []string{"--from", from, "--to", to, "--tag", "default"}, 1, "--tag default: the webhook-continuity step sets the default tag"},
		{"tag not a DNS label", []string{"--from", from, "--to", to, "--tag", "Prod"}, 1, `--tag: tag "Prod" is not a DNS label`},
		{"no flags", nil, 2, "usage: revshift plan"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.code != 2 {
				args = append(args, "--out", filepath.Join(t.TempDir(), "out"))
			}
			code, _, stderr := runPlan(t, args...)
			assert.Equal(t, c.code, code)
			assert.Contains(t, stderr, c.want)
		})
	}
}

// A second plan into the same --out replaces what the first wrote, and
// refuses to delete a folder it did not write.
func TestPlanRewritesOnlyItsOwnFolders(t *testing.T) {
	out := filepath.Join(t.TempDir(), "plan")
	args := []string{"--from", seedFrom(t), "--to", seedTo(t), "--out", out, "--no-verify"}
	code, _, stderr := runPlan(t, args...)
	require.Equal(t, 0, code, stderr)
	write(t, filepath.Join(out, "99-stale", "kustomization.yaml"), "resources: []\n")
	write(t, filepath.Join(out, "99-stale", plan.Marker), "")
	write(t, filepath.Join(out, "notes.md"), "mine")
	code, _, stderr = runPlan(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.NoDirExists(t, filepath.Join(out, "99-stale"), "a stale step of an earlier plan is removed")
	assert.FileExists(t, filepath.Join(out, "notes.md"))

	write(t, filepath.Join(out, "42-mine", "kustomization.yaml"), "resources: []\n")
	code, _, stderr = runPlan(t, args...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "42-mine exists and was not written by revshift plan")
	assert.FileExists(t, filepath.Join(out, "42-mine", "kustomization.yaml"))
}

// Gateways rendered in the same file as the control plane (one IstioOperator
// for both) are migrated as canaries of the control plane's gateways, and
// their namespaces get the ConfigMap copy in the gateway-config step, before
// their canaries start. Uses the example renders: runs on every clone.
func TestPlanSingleRender(t *testing.T) {
	ex := "../../kustomization-examples/1.5-to-1.6/renders"
	from, to := t.TempDir(), t.TempDir()
	join := func(dst string, files ...string) {
		var all []string
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(ex, f))
			require.NoError(t, err)
			all = append(all, string(data))
		}
		write(t, dst, strings.Join(all, "\n---\n"))
	}
	join(filepath.Join(from, "all.yaml"), "1.5.10/control-plane.yaml", "1.5.10/gateways.yaml")
	join(filepath.Join(to, "all.rev-1-6-14.yaml"), "1.6.14/control-plane.rev-1-6-14.yaml", "1.6.14/gateways.rev-1-6-14.yaml")
	out := filepath.Join(t.TempDir(), "plan")
	code, stdout, stderr := runPlan(t, "--from", from, "--to", to, "--out", out)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.Equal(t, []string{"00-running", "01-canary-control-plane", "02-gateway-config", "03-default-gateway-canary",
		"04-default-gateway-shift", "05-webhook-continuity", "06-prune"}, dirs(t, out))
	cfg, err := os.ReadFile(filepath.Join(out, "02-gateway-config", "revshift.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "targetNamespaces:\n      - default")
	pairs, err := os.ReadFile(filepath.Join(out, "03-default-gateway-canary", "revshift.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(pairs), "new: custom-gw-1-6-14")
	assert.Contains(t, string(pairs), "new: istio-ingressgateway-1-6-14")
}

// --exec-dir pins the binary's folder in the written steps.
func TestPlanExecDir(t *testing.T) {
	out := filepath.Join(t.TempDir(), "plan")
	code, stdout, stderr := runPlan(t, "--from", seedFrom(t), "--to", seedTo(t), "--out", out, "--exec-dir", binDir)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	cfg, err := os.ReadFile(filepath.Join(out, "01-canary-control-plane", "revshift.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "path: "+filepath.Join(binDir, "revshift")+"\n")
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}
