package gate

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The gate of the modern example's canary step, in the shape issue 14
// asks for.
const canaryGate = `# Wait for this before applying the next step: revshift rehearse does, and so can you (kubectl lines in README.md).
apiVersion: revshift.dev/v1alpha1
kind: Gate
metadata:
  name: 03-canary-gateways
spec:
  rollouts:
  - kind: Deployment
    namespace: default
    name: custom-gw-1-31-0
    minReadyReplicas: 2
    reason: canary of Deployment default/custom-gw, which runs 2 replicas (HPA custom-gw minReplicas 2)
`

var canary = Rollout{Kind: KindDeployment, Namespace: "default", Name: "custom-gw-1-31-0", MinReadyReplicas: 2,
	Reason: "canary of Deployment default/custom-gw, which runs 2 replicas (HPA custom-gw minReplicas 2)"}

func TestWriteAndRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "03-canary-gateways")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, Write(dir, New("03-canary-gateways", []Rollout{canary})))
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	assert.Equal(t, canaryGate, string(data))

	g, err := Read(dir)
	require.NoError(t, err)
	assert.Equal(t, New("03-canary-gateways", []Rollout{canary}), g)
	r, ok := g.Rollout(KindDeployment, "default", "custom-gw-1-31-0")
	assert.True(t, ok)
	assert.Equal(t, int64(2), r.MinReadyReplicas)
	_, ok = g.Rollout(KindDeployment, "default", "custom-gw")
	assert.False(t, ok)
	_, ok = (*Gate)(nil).Rollout(KindDeployment, "default", "custom-gw-1-31-0")
	assert.False(t, ok, "a step without a gate waits for nothing")
}

// A step that rolls nothing out still has its gate, with an empty list.
func TestEmptyGate(t *testing.T) {
	data, err := New("04-shift", nil).Marshal()
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(data), "metadata:\n  name: 04-shift\nspec:\n  rollouts: []\n"), string(data))
	g, err := Parse("gate.yaml", data)
	require.NoError(t, err)
	assert.Empty(t, g.Spec.Rollouts)
}

func TestReadAbsent(t *testing.T) {
	_, err := Read(t.TempDir())
	require.Error(t, err)
	assert.True(t, errors.Is(err, fs.ErrNotExist), "a plan without gates is told apart from a broken gate: %v", err)
}

func TestReadRejects(t *testing.T) {
	rollout := func(extra string) string {
		return "apiVersion: revshift.dev/v1alpha1\nkind: Gate\nmetadata:\n  name: 03-canary-gateways\nspec:\n  rollouts:\n  - kind: Deployment\n    namespace: default\n    name: custom-gw-1-31-0\n" + extra
	}
	cases := []struct{ name, yaml, want string }{
		{"unknown top-level field", "apiVersion: revshift.dev/v1alpha1\nkind: Gate\nmetadata: {name: 03-canary-gateways}\nspec: {rollouts: []}\nstatus: {}\n",
			"line 5: status: unknown field (a Gate has apiVersion, kind, metadata, spec)"},
		{"unknown metadata field", "apiVersion: revshift.dev/v1alpha1\nkind: Gate\nmetadata: {name: 03-canary-gateways, namespace: default}\nspec: {rollouts: []}\n",
			"metadata.namespace: unknown field"},
		{"unknown spec field", "apiVersion: revshift.dev/v1alpha1\nkind: Gate\nmetadata: {name: 03-canary-gateways}\nspec: {rollout: []}\n",
			"spec.rollout: unknown field (a Gate has spec.rollouts)"},
		{"misspelt rollout field", rollout("    minReadyReplica: 2\n"),
			"line 10: spec.rollouts[].minReadyReplica: unknown field (a Gate has spec.rollouts[].kind, spec.rollouts[].namespace, spec.rollouts[].name, spec.rollouts[].minReadyReplicas, spec.rollouts[].reason)"},
		{"another kind of document", strings.Replace(rollout(""), "kind: Gate", "kind: Step", 1), `kind: "Step", expected Gate`},
		{"another apiVersion", strings.Replace(rollout(""), "revshift.dev/v1alpha1", "revshift.dev/v1", 1), `apiVersion: "revshift.dev/v1", expected revshift.dev/v1alpha1`},
		{"a rollout of another kind", strings.Replace(rollout(""), "kind: Deployment", "kind: StatefulSet", 1), `spec.rollouts[0].kind: "StatefulSet" is not a kind a gate waits for (Deployment)`},
		{"no name", strings.Replace(rollout(""), "    name: custom-gw-1-31-0\n", "", 1), "spec.rollouts[0].name: missing"},
		{"negative", rollout("    minReadyReplicas: -1\n"), "spec.rollouts[0].minReadyReplicas: -1 is negative"},
		{"not a number", rollout("    minReadyReplicas: two\n"), "cannot unmarshal !!str `two` into int64"},
		{"twice", rollout("  - {kind: Deployment, namespace: default, name: custom-gw-1-31-0}\n"), "spec.rollouts[1]: Deployment default/custom-gw-1-31-0 is already spec.rollouts[0]"},
		{"two documents", rollout("---\n" + rollout("")), "more than one YAML document"},
		{"empty", "", "empty: expected a revshift.dev/v1alpha1 Gate"},
		{"copied from another step", strings.Replace(rollout(""), "03-canary-gateways", "05-default-gateway-canary", 1), `metadata.name: "05-default-gateway-canary" is not the step's directory "03-canary-gateways"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "03-canary-gateways")
			require.NoError(t, os.Mkdir(dir, 0o755))
			path := filepath.Join(dir, FileName)
			require.NoError(t, os.WriteFile(path, []byte(c.yaml), 0o644))
			_, err := Read(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path+": ", "the error names the file")
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestMarshalRejectsInvalid(t *testing.T) {
	_, err := New("03-canary-gateways", []Rollout{{Kind: "Pod", Namespace: "default", Name: "x"}}).Marshal()
	assert.ErrorContains(t, err, `spec.rollouts[0].kind: "Pod"`)
}

func TestCommands(t *testing.T) {
	assert.Equal(t, []string{
		"kubectl -n default rollout status deployment/custom-gw-1-31-0 --timeout=10m",
		"kubectl -n default wait deployment/custom-gw-1-31-0 --for=jsonpath='{.status.readyReplicas}'=2 --timeout=10m",
	}, canary.Commands())
}
