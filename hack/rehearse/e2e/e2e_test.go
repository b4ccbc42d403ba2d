// Package e2e rehearses the example hops and broken variants of them on a
// real local control plane (`make e2e`). Each test starts its own etcd,
// kube-apiserver and kube-controller-manager from bin/k8s.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/revshift/revshift/hack/rehearse/rehearse"
	"github.com/stretchr/testify/require"
)

var root = func() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", "..", ".."))
}()

// TestMain puts bin/ first on PATH: kustomize runs revshift's functions as
// `revshift fn`.
func TestMain(m *testing.M) {
	os.Setenv("PATH", filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.Exit(m.Run())
}

// assets is the folder of a Kubernetes version's binaries: the
// REVSHIFT_ASSETS_<major>_<minor> variable, else where `make k8s` (1.34) and
// `make k8s-1.24` put them. Missing assets fail the test: `make e2e` builds
// them first.
func assets(t *testing.T, version string) string {
	t.Helper()
	minor := strings.Join(strings.Split(version, ".")[:2], "_")
	if dir := os.Getenv("REVSHIFT_ASSETS_" + minor); dir != "" {
		return dir
	}
	dir := filepath.Join(root, "bin", "k8s", version+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			t.Fatalf("no %s in %s: run `make e2e`, which builds the assets (`make k8s k8s-1.24`)", b, dir)
		}
	}
	return dir
}

// plan writes the plan of an example hop (kustomization-examples/<hop>,
// flags in planned/args) with bin/revshift into a temporary folder.
func plan(t *testing.T, hop string, flags ...string) string {
	t.Helper()
	bin := filepath.Join(root, "bin")
	for _, b := range []string{"revshift", "kustomize"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("no bin/%s: run `make e2e`", b)
		}
	}
	dir := filepath.Join(root, "kustomization-examples", hop)
	args, err := os.ReadFile(filepath.Join(dir, "planned", "args"))
	require.NoError(t, err)
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(bin, "revshift"), append(append(append([]string{"plan"}, strings.Fields(string(args))...), flags...), "--out", out)...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "revshift plan:\n%s", b)
	return out
}

// keepUpTo removes the steps after last, so a test rehearses only what it
// needs.
func keepUpTo(t *testing.T, planDir, last string) {
	t.Helper()
	steps, err := rehearse.Steps(planDir)
	require.NoError(t, err)
	found := false
	for _, s := range steps {
		if found {
			require.NoError(t, os.RemoveAll(s))
		}
		found = found || filepath.Base(s) == last
	}
	require.True(t, found, "no step %s", last)
}

// alter wraps a step in a kustomization that builds it and adds the given
// kustomization fields (patches, resources): the step a user might have
// edited by hand. The step's gate stays with it.
func alter(t *testing.T, planDir, step string, resources []string, fields string) {
	t.Helper()
	dir := filepath.Join(planDir, step)
	orig := filepath.Join(planDir, "orig-"+step)
	require.NoError(t, os.Rename(dir, orig))
	require.NoError(t, os.Mkdir(dir, 0o755))
	if g, err := os.ReadFile(filepath.Join(orig, "gate.yaml")); err == nil {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "gate.yaml"), g, 0o644))
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../orig-" + step + "\n"
	for _, r := range resources {
		k += "- " + r + "\n"
	}
	k += fields
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644))
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func rehearseOn(t *testing.T, planDir, version string, how rehearse.Applier) *rehearse.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	rep, err := rehearse.Run(ctx, planDir, rehearse.Options{
		Assets: assets(t, version), Applier: how, Kustomize: filepath.Join(root, "bin", "kustomize"),
		Timeout: 2 * time.Minute, ReadyAfter: 2 * time.Second, LogDir: t.TempDir(), Progress: logWriter{t},
	})
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, rep.Write(&b))
	t.Log("\n" + b.String())
	return rep
}

// findings are the report's findings as "STEP RULE OBJECT" lines.
func findings(rep *rehearse.Report) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, fmt.Sprintf("%s %s %s", f.Step, f.Rule.ID, f.Object))
	}
	return out
}

func requireFinding(t *testing.T, rep *rehearse.Report, step string, rule rehearse.Rule, object, message string) {
	t.Helper()
	for _, f := range rep.Findings {
		if f.Step == step && f.Rule == rule && f.Object == object && strings.Contains(f.Message, message) {
			require.Equal(t, rehearse.Error, f.Severity)
			require.True(t, rep.Failed())
			return
		}
	}
	require.Failf(t, "finding missing", "want %s %s %s %q; got:\n%s", step, rule.ID, object, message, strings.Join(findings(rep), "\n"))
}
