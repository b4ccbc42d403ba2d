package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/gate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// modernExample plans the modern example hop (its renders are in the
// repository: runs on every clone) and returns the plan's folder.
func modernExample(t *testing.T, extra ...string) string {
	t.Helper()
	ex := "../../kustomization-examples/1.29-to-1.31/renders"
	out := filepath.Join(t.TempDir(), "plan")
	args := append([]string{"--from", filepath.Join(ex, "1.29.6"), "--to", filepath.Join(ex, "1.31.0"), "--out", out}, extra...)
	code, stdout, stderr := runPlan(t, args...)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	return out
}

// Issue 14: on a real kube-apiserver and kube-controller-manager 1.34.3,
// the shift of the modern example left production Service default/custom-gw
// with 1 ready endpoint instead of 2 for about 5 s: the canary had no
// spec.replicas (Kubernetes starts it at 1) and its HPA had not yet raised
// it to minReplicas 2. The plan's gate waits for 2; without it, verify
// fails the shift.
func TestGatesOfTheModernExample(t *testing.T) {
	out := modernExample(t)
	for _, d := range dirs(t, out) {
		g, err := gate.Read(filepath.Join(out, d))
		require.NoError(t, err, "every step has its gate")
		assert.Equal(t, d, g.Metadata.Name)
		switch d {
		case "01-canary-control-plane":
			assert.Equal(t, []gate.Rollout{{Kind: "Deployment", Namespace: "istio-system", Name: "istiod-1-31-0", MinReadyReplicas: 1, Reason: "new Deployment, which runs 1 replica (spec.replicas 1)"}}, g.Spec.Rollouts)
		case "05-default-gateway-canary":
			assert.Equal(t, []gate.Rollout{{Kind: "Deployment", Namespace: "istio-system", Name: "istio-ingressgateway-1-31-0", MinReadyReplicas: 1,
				Reason: "canary of Deployment istio-system/istio-ingressgateway, which runs 1 replica (HPA istio-ingressgateway minReplicas 1)"}}, g.Spec.Rollouts)
		case "03-canary-gateways":
			// checked byte for byte below
		default:
			// The shifts scale the old gateways to 0: nothing to wait for.
			assert.Empty(t, g.Spec.Rollouts, d)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "03-canary-gateways", gate.FileName))
	require.NoError(t, err)
	assert.Equal(t, `# Wait for this before applying the next step: revshift rehearse does, and so can you (kubectl lines in README.md).
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
`, string(data))
	k, err := os.ReadFile(filepath.Join(out, "03-canary-gateways", "kustomization.yaml"))
	require.NoError(t, err)
	assert.NotContains(t, string(k), gate.FileName, "the gate is beside the kustomization, not in its build")

	readme, err := os.ReadFile(filepath.Join(out, "README.md"))
	require.NoError(t, err)
	canary := section(string(readme), "## 03-canary-gateways")
	assert.Contains(t, canary, "Each canary has as many Ready pods as the gateway it stands in for")
	assert.Contains(t, canary, "  kubectl -n default rollout status deployment/custom-gw-1-31-0 --timeout=10m\n  kubectl -n default wait deployment/custom-gw-1-31-0 --for=jsonpath='{.status.readyReplicas}'=2 --timeout=10m\n")
	assert.Contains(t, section(string(readme), "## 04-shift"), "Gate (`04-shift/gate.yaml`): nothing rolls out in this step.")

	verifyOut := func() (int, string, string) {
		var vout, verr bytes.Buffer
		code := Verify([]string{"-applier", "kubectl", out}, &vout, &verr)
		return code, vout.String(), verr.String()
	}
	code, stdout, stderr := verifyOut()
	require.Equal(t, 0, code, "%s%s", stdout, stderr)
	assert.NotContains(t, stderr, "note:")

	path := filepath.Join(out, "03-canary-gateways", gate.FileName)
	const fails = "[03-canary-gateways -> 04-shift] RS002 capacity (error): production Service/default/custom-gw is backed by 1 guaranteed replicas, fewer than the 2 it had in the running state"
	const fix = "list it in 03-canary-gateways/gate.yaml with minReadyReplicas 2"
	for _, c := range []struct{ name, gate string }{
		{"too few", strings.Replace(string(data), "minReadyReplicas: 2", "minReadyReplicas: 1", 1)},
		{"zeroed", strings.Replace(string(data), "minReadyReplicas: 2", "minReadyReplicas: 0", 1)},
		{"no rollouts", string(data[:strings.Index(string(data), "  rollouts:")]) + "  rollouts: []\n"},
		{"removed", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.gate == "" {
				require.NoError(t, os.Remove(path))
			} else {
				write(t, path, c.gate)
			}
			code, stdout, stderr := verifyOut()
			assert.Equal(t, 1, code, "%s%s", stdout, stderr)
			assert.Contains(t, stdout, fails)
			assert.Contains(t, stdout, fix)
			assert.Equal(t, 1, strings.Count(stdout, "RS002 capacity (error)"), "only the shift fails:\n%s", stdout)
			if c.gate == "" {
				assert.Contains(t, stderr, "note: no gate.yaml in 03-canary-gateways (a plan written before gates")
			}
		})
	}

	// A gate that does not read stops verify, naming the file and field.
	write(t, path, strings.Replace(string(data), "minReadyReplicas:", "minReadyReplica:", 1))
	code, stdout, stderr = verifyOut()
	assert.Equal(t, 1, code, stdout)
	assert.Contains(t, stderr, path+": line 11: spec.rollouts[].minReadyReplica: unknown field")
}

// The rollback walk has gates too: the step that scales the old gateway
// back up (its HPA returns) waits for its HPA's minReplicas.
func TestGatesOfTheModernRollback(t *testing.T) {
	out := modernExample(t, "--rollback")
	g, err := gate.Read(filepath.Join(out, "05-canary-gateways"))
	require.NoError(t, err)
	assert.Equal(t, []gate.Rollout{{Kind: "Deployment", Namespace: "default", Name: "custom-gw", MinReadyReplicas: 2,
		Reason: "spec.replicas 0 -> unset, HPA none -> minReplicas 2, which runs 2 replicas (HPA custom-gw minReplicas 2)"}}, g.Spec.Rollouts)
}

// --no-verify builds nothing, so it writes no gates.
func TestNoVerifyWritesNoGates(t *testing.T) {
	out := modernExample(t, "--no-verify")
	for _, d := range dirs(t, out) {
		assert.NoFileExists(t, filepath.Join(out, d, gate.FileName))
	}
}

// section is the part of a README from heading to the next "## ".
func section(readme, heading string) string {
	i := strings.Index(readme, heading+"\n")
	if i < 0 {
		return ""
	}
	rest := readme[i+len(heading)+1:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		return rest[:j]
	}
	return rest
}
