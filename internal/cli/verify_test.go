package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runVerify(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Verify(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestVerifyGoodSequence(t *testing.T) {
	code, out, errOut := runVerify(t, "testdata/good")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "OK: 3 states, 2 steps, every rule holds")
	assert.Contains(t, out, "01-canary-gateways")
}

// Adding the canary and scaling the old gateway to 0 in one kubectl/Flux
// apply is make-before-break broken; Argo CD ordering does not save it
// either without sync waves on the objects.
func TestVerifyBadSequence(t *testing.T) {
	for _, applier := range []string{"argocd", "kubectl"} {
		code, out, _ := runVerify(t, "-applier", applier, "testdata/bad")
		assert.Equal(t, 1, code, applier)
		assert.Contains(t, out, "RS012")
		assert.Contains(t, out, "Deployment.apps/edge/gw")
		assert.Contains(t, out, "fix:")
	}
}

func TestVerifyGraph(t *testing.T) {
	code, out, errOut := runVerify(t, "-graph", "01-canary-gateways", "testdata/good")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "flowchart")
	assert.Contains(t, out, "gw-1-7-8")
}

func TestVerifyErrors(t *testing.T) {
	single := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(single, "00-running"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(single, "00-running", "kustomization.yaml"), []byte("resources: []\n"), 0o644))
	broken := t.TempDir()
	for _, s := range []string{"00-running", "01-next"} {
		require.NoError(t, os.MkdirAll(filepath.Join(broken, s), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(broken, "00-running", "kustomization.yaml"), []byte("resources: []\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "01-next", "kustomization.yaml"), []byte("resources: [nope.yaml]\n"), 0o644))
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no steps", []string{t.TempDir()}, 1, "no step directories"},
		{"single state", []string{single}, 1, "verify needs a sequence"},
		{"step that does not build", []string{broken}, 1, "step 01-next does not build"},
		{"bad applier", []string{"-applier", "helm", "testdata/good"}, 2, "expected argocd"},
		{"unknown graph step", []string{"-graph", "99-x", "testdata/good"}, 2, "no such step"},
		{"no dir", nil, 2, "usage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runVerify(t, c.args...)
			assert.Equal(t, c.code, code)
			assert.Contains(t, errOut, c.want)
		})
	}
}
