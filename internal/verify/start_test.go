package verify

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/revshift/revshift/internal/gate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The gateways as istioctl renders them with an HPA (the modern renders):
// no spec.replicas, so Kubernetes creates them with 1, and an HPA of
// minReplicas 2 that raises them on its next sync.
var (
	hpaGateway = gwOpts{noReplicas: true, labels: oldPods, ports: []int{8080, 8443, 15021}, caAddr: "istiod.istio-system.svc:15012"}
	hpaCanary  = func() gwOpts { o := canaryGateway; o.replicas, o.noReplicas = 0, true; return o }()
	hpaS0      = s0Running.with(doc{"gw", gatewayDeploy("default", "custom-gw", hpaGateway)}, doc{"gw-hpa", hpa("default", "custom-gw", "custom-gw", 2)})
	hpaS2      = hpaS0.with(s2GatewayConfig[len(s0Running):]...)
	hpaS3      = hpaS2.with(doc{"gw-canary", gatewayDeploy("default", "custom-gw-canary", hpaCanary)}, doc{"gw-canary-hpa", hpa("default", "custom-gw-canary", "custom-gw-canary", 2)})
	// The shift: the old gateway at 0, its HPA removed.
	hpaS4 = hpaS3.without("gw-hpa").with(doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)})
)

func canaryGate(step string, n int64) *gate.Gate {
	return gate.New(step, []gate.Rollout{{Kind: gate.KindDeployment, Namespace: "default", Name: "custom-gw-canary", MinReadyReplicas: n}})
}

// capacityFindings checks the walk to the shift, the canary step having
// gate g, and returns RS002's findings.
func capacityFindings(t *testing.T, g *gate.Gate, shift docs) ([]Finding, string) {
	t.Helper()
	states := []State{
		{Name: "00-running", Model: hpaS0.model(t)},
		{Name: "02-gateway-config", Model: hpaS2.model(t), Gate: gate.New("02-gateway-config", nil)},
		{Name: "03-canary-gateways", Model: hpaS3.model(t), Gate: g},
		{Name: "04-shift", Model: shift.model(t), Gate: gate.New("04-shift", nil)},
	}
	rep, err := checkSequence(states, DefaultOrdering)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, rep.WriteTable(&buf, false))
	var out []Finding
	for _, f := range rep.Findings() {
		if f.Rule == "RS002" {
			out = append(out, f)
		}
	}
	return out, buf.String()
}

// Issue 14: the shift scaled the old gateway to 0 while the just-created
// canary still ran 1 of its HPA's 2 replicas. The canary step's gate, waiting
// for 2 ready replicas, is what makes the shift safe.
func TestCapacityCountsStartUntilGate(t *testing.T) {
	fs, table := capacityFindings(t, canaryGate("03-canary-gateways", 2), hpaS4)
	require.Empty(t, fs, "the gate waits for the HPA's minReplicas:\n%s", table)

	for _, c := range []struct {
		name string
		gate *gate.Gate
		why  string
	}{
		{"no gate.yaml (a plan written before gates)", nil, "and that step has no gate.yaml"},
		{"a gate that waits for nothing", gate.New("03-canary-gateways", nil), "and its gate does not wait for more"},
		{"minReadyReplicas zeroed", canaryGate("03-canary-gateways", 0), "and its gate does not wait for more"},
		{"a gate that waits for too few", canaryGate("03-canary-gateways", 1), "and its gate does not wait for more"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs, table := capacityFindings(t, c.gate, hpaS4)
			require.Len(t, fs, 1, table)
			f := fs[0]
			assert.Equal(t, "04-shift", f.Step)
			assert.Equal(t, "03-canary-gateways", f.From)
			assert.Equal(t, Error, f.Severity)
			assert.Equal(t, "Service/default/custom-gw", f.Objects[0].String())
			assert.Contains(t, f.Message, "backed by 1 guaranteed replicas, fewer than the 2")
			assert.Contains(t, f.Message, "Deployment.apps/default/custom-gw-canary (1 replica: created by 03-canary-gateways with spec.replicas unset, so 1, "+c.why+"; HPA custom-gw-canary raises it to minReplicas 2 only on its next sync)")
			assert.Contains(t, f.Fix, "list it in 03-canary-gateways/gate.yaml with minReadyReplicas 2")
			assert.Contains(t, f.Fix, "kubectl -n default wait deployment/custom-gw-canary --for=jsonpath='{.status.readyReplicas}'=2 --timeout=10m")
		})
	}
}

// A canary created with spec.replicas at its HPA's minReplicas starts
// there: no gate needed.
func TestCapacityCanaryWithReplicas(t *testing.T) {
	o := hpaCanary
	o.replicas, o.noReplicas = 2, false
	s3 := hpaS3.with(doc{"gw-canary", gatewayDeploy("default", "custom-gw-canary", o)})
	states := []State{{Name: "00", Model: hpaS0.model(t)}, {Name: "03", Model: s3.model(t)}, {Name: "04", Model: s3.without("gw-hpa").with(doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)}).model(t)}}
	rep, err := checkSequence(states, DefaultOrdering)
	require.NoError(t, err)
	for _, f := range rep.Findings() {
		assert.NotEqual(t, "RS002", f.Rule, f.String())
	}
}

// The step's own state counts the start too: creating the canary and
// scaling the old gateway to 0 in one step, ordered by Argo CD sync waves
// (RS012 holds), relies on the canary's HPA before it has acted, unless the
// step's gate waits for it. From two steps on, the canary counts its HPA.
func TestCapacityStartInItsOwnStep(t *testing.T) {
	waved := hpaCanary
	waved.annotations = map[string]string{"argocd.argoproj.io/sync-wave": "-1"}
	addAndShift := hpaS2.without("gw-hpa").with(
		doc{"gw-canary", gatewayDeploy("default", "custom-gw-canary", waved)},
		doc{"gw-canary-hpa", hpa("default", "custom-gw-canary", "custom-gw-canary", 2)},
		doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)})
	check := func(g *gate.Gate) []Finding {
		rep, err := checkSequence([]State{{Name: "00", Model: hpaS0.model(t)}, {Name: "02", Model: hpaS2.model(t)}, {Name: "03", Model: addAndShift.model(t), Gate: g}}, DefaultOrdering)
		require.NoError(t, err)
		var out []Finding
		for _, f := range rep.Findings() {
			if f.Severity == Error {
				out = append(out, f)
			}
		}
		return out
	}
	fs := check(nil)
	require.Len(t, fs, 1, fmt.Sprint(fs))
	assert.Equal(t, "RS002", fs[0].Rule)
	assert.Equal(t, "03", fs[0].Step)
	assert.Contains(t, fs[0].Message, "created by 03 with spec.replicas unset, so 1")
	assert.Empty(t, check(canaryGate("03", 2)))

	// No gate anywhere: the shift two steps after the canary counts its
	// HPA (the brief's "from the next state on").
	rep, err := checkSequence([]State{{Name: "00", Model: hpaS0.model(t)}, {Name: "03", Model: hpaS3.model(t)}, {Name: "03b", Model: hpaS3.model(t)}, {Name: "04", Model: hpaS4.model(t)}}, DefaultOrdering)
	require.NoError(t, err)
	assert.True(t, rep.OK())
}

// A step checked on its own, without gates, counts a Deployment the step creates at
// its spec.replicas.
func TestCheckTransitionCountsStart(t *testing.T) {
	waved := hpaCanary
	waved.annotations = map[string]string{"argocd.argoproj.io/sync-wave": "-1"}
	next := hpaS2.without("gw-hpa").with(
		doc{"gw-canary", gatewayDeploy("default", "custom-gw-canary", waved)},
		doc{"gw-canary-hpa", hpa("default", "custom-gw-canary", "custom-gw-canary", 2)},
		doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)})
	var rules []string
	for _, f := range checkStep(hpaS2.model(t), next.model(t), hpaS0.model(t), DefaultOrdering) {
		rules = append(rules, f.Rule)
	}
	assert.Equal(t, []string{"RS002"}, rules)
}

// A gate that waits for more than spec.replicas but fewer than the HPA's
// minReplicas counts what it waits for, and says so.
func TestCapacityGateBelowHPA(t *testing.T) {
	s0 := hpaS0.with(doc{"gw-hpa", hpa("default", "custom-gw", "custom-gw", 3)})
	s3 := s0.with(s2GatewayConfig[len(s0Running):]...).with(doc{"gw-canary", gatewayDeploy("default", "custom-gw-canary", hpaCanary)}, doc{"gw-canary-hpa", hpa("default", "custom-gw-canary", "custom-gw-canary", 3)})
	s4 := s3.without("gw-hpa").with(doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)})
	check := func(n int64) []Finding {
		rep, err := checkSequence([]State{{Name: "00", Model: s0.model(t)}, {Name: "03", Model: s3.model(t), Gate: canaryGate("03", n)}, {Name: "04", Model: s4.model(t)}}, DefaultOrdering)
		require.NoError(t, err)
		return rep.Findings()
	}
	fs := check(2)
	require.Len(t, fs, 1)
	assert.Equal(t, "RS002", fs[0].Rule)
	assert.Contains(t, fs[0].Message, "backed by 2 guaranteed replicas, fewer than the 3")
	assert.Contains(t, fs[0].Message, "(2 replicas: created by 03 with spec.replicas unset, so 1, and its gate waits for 2 replicas only; HPA custom-gw-canary raises it to minReplicas 3 only on its next sync)")
	assert.Empty(t, check(3))
	assert.NotContains(t, fs[0].Fix, "raise the replicas", "the canary's HPA is enough once the gate waits for it")

	// A canary whose HPA is too small anyway: both fixes.
	small := s3.with(doc{"gw-canary-hpa", hpa("default", "custom-gw-canary", "custom-gw-canary", 2)})
	rep, err := checkSequence([]State{{Name: "00", Model: s0.model(t)}, {Name: "03", Model: small.model(t)}, {Name: "04", Model: small.without("gw-hpa").with(doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)}).model(t)}}, DefaultOrdering)
	require.NoError(t, err)
	require.Len(t, rep.Findings(), 1)
	assert.Contains(t, rep.Findings()[0].Fix, "list it in 03/gate.yaml with minReadyReplicas 2")
	assert.Contains(t, rep.Findings()[0].Fix, "raise the replicas (or HPA minReplicas) of the new gateway Deployments to at least 3 in total")
}
