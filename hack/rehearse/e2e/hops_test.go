package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/revshift/revshift/hack/rehearse/rehearse"
	"github.com/stretchr/testify/require"
)

// requireHeld: every production Service kept at least the running state's
// ready endpoints at every step, and nothing was found but the given
// warnings ("STEP RULE OBJECT").
func requireHeld(t *testing.T, rep *rehearse.Report, steps int, warnings ...string) {
	t.Helper()
	require.ElementsMatch(t, warnings, findings(rep))
	require.False(t, rep.Failed())
	require.Len(t, rep.Steps, steps)
	require.NotEmpty(t, rep.Baseline)
	for _, s := range rep.Steps {
		require.False(t, s.NotRun, s.Step)
		require.NotZero(t, s.SARs, "%s: no SubjectAccessReview asked", s.Step)
		for _, e := range s.Endpoints {
			require.GreaterOrEqual(t, e.Min, rep.Baseline[e.Service], "%s %s", s.Step, e.Service)
		}
	}
}

func TestModernHop(t *testing.T) {
	t.Parallel()
	for _, how := range []rehearse.Applier{rehearse.Flux, rehearse.Kubectl, rehearse.ArgoCD} {
		t.Run(string(how), func(t *testing.T) {
			t.Parallel()
			rep := rehearseOn(t, plan(t, "1.29-to-1.31"), "1.34.3", how)
			requireHeld(t, rep, 9)
			require.Equal(t, 2, rep.Baseline["default/custom-gw"], "the running custom-gw runs its HPA's minReplicas")
			require.Contains(t, rep.Kubernetes, "v1.34.")
		})
	}
}

// The Helm hop: two injected gateways of the gateway chart, one on the
// revision tag prod-stable, which moves in its own step once both run as
// canaries; the namespace on the tag restarts, the legacy one is relabelled.
func TestHelmHop(t *testing.T) {
	t.Parallel()
	rep := rehearseOn(t, plan(t, "1.29-to-1.31-helm"), "1.34.3", rehearse.Flux)
	requireHeld(t, rep, 8)
	require.Equal(t, 1, rep.Baseline["istio-ingress/ingress"])
	require.Equal(t, 2, rep.Baseline["istio-ingress/ingress-tagged"])
	require.Equal(t, "04-move-tags", rep.Steps[4].Step)
}

// The rollback walk, from the pruned state back to the running render, under
// the same checks: the old gateways come back to their capacity (the gate
// of 05-canary-gateways waits for custom-gw at 2) before the canaries go.
func TestModernRollback(t *testing.T) {
	t.Parallel()
	rep := rehearseOn(t, plan(t, "1.29-to-1.31", "--rollback"), "1.34.3", rehearse.Flux)
	requireHeld(t, rep, 9)
	require.Equal(t, "00-prune", rep.Steps[0].Step)
	require.Equal(t, "08-running", rep.Steps[8].Step)
	require.Equal(t, 2, rep.Baseline["default/custom-gw"])
}

func TestLegacyHop(t *testing.T) {
	t.Parallel()
	p := plan(t, "1.5-to-1.6")
	// apiextensions.k8s.io/v1beta1 CRDs and admissionregistration.k8s.io/v1beta1
	// webhooks: removed in 1.22, so 1.21 is the newest that takes 1.5.
	rep := rehearseOn(t, p, "1.21.14", rehearse.Flux)
	require.Contains(t, rep.Kubernetes, "v1.21.")
	// The renders' own budgets: minAvailable 1 over one replica allows no
	// eviction once every replica is ready (in the running state already for
	// istio-ingressgateway; custom-gw's rendered budget selected none of its
	// pods there, the trap the plan repairs).
	var warnings []string
	for _, s := range []string{"00-running", "01-canary-control-plane", "02-gateway-config", "03-canary-gateways", "04-shift", "05-default-gateway-canary"} {
		warnings = append(warnings, s+" RH006 Deployment.apps/istio-system/istio-ingressgateway")
	}
	for _, s := range []string{"03-canary-gateways", "04-shift", "05-default-gateway-canary", "06-default-gateway-shift", "07-dataplane", "08-webhook-continuity", "09-prune"} {
		warnings = append(warnings, s+" RH006 Deployment.apps/default/custom-gw-1-6-14")
	}
	warnings = append(warnings, "03-canary-gateways RH006 Deployment.apps/default/custom-gw")
	for _, s := range []string{"05-default-gateway-canary", "06-default-gateway-shift", "07-dataplane", "08-webhook-continuity", "09-prune"} {
		warnings = append(warnings, s+" RH006 Deployment.apps/istio-system/istio-ingressgateway-1-6-14")
	}
	requireHeld(t, rep, 10, warnings...)
	for _, f := range rep.Findings {
		require.Equal(t, rehearse.Warning, f.Severity, f.Message)
	}
}

// The legacy renders' policy/v1beta1 PodDisruptionBudgets (and v1beta1 CRDs
// and webhooks) are not served by 1.34: the running state is reported, by
// API and removal version, and nothing is applied.
func TestLegacyHopOnTooNewKubernetes(t *testing.T) {
	t.Parallel()
	p := plan(t, "1.5-to-1.6")
	rep := rehearseOn(t, p, "1.34.3", rehearse.Flux)
	requireFinding(t, rep, "00-running", rehearse.RuleServed, "PodDisruptionBudget.policy/istio-system/istio-ingressgateway",
		"policy/v1beta1 PodDisruptionBudget is not served by Kubernetes 1.34: it was removed in 1.25")
	for _, s := range rep.Steps[1:] {
		require.True(t, s.NotRun, s.Step)
	}
}

// The loss issue 14 found: without the gate of 03, the shift comes while
// the canary runs one replica (its HPA raises it to 2 only on its next
// sync), and custom-gw falls from 2 ready endpoints to 1.
func TestShiftWithoutGateDropsCapacity(t *testing.T) {
	t.Parallel()
	p := plan(t, "1.29-to-1.31")
	keepUpTo(t, p, "04-shift")
	require.NoError(t, os.Remove(filepath.Join(p, "03-canary-gateways", "gate.yaml")))
	rep := rehearseOn(t, p, "1.34.3", rehearse.Flux)
	requireFinding(t, rep, "04-shift", rehearse.RuleEndpoints, "Service/default/custom-gw", "1 ready endpoint(s) at worst")
}

// broken is a planned hop with one step edited by hand, as a user might,
// and what the rehearsal must find there.
type broken struct {
	step      string            // the step edited; later steps are not rehearsed
	files     map[string]string // files added to the step's folder
	resources []string          // kustomization resources added
	patches   string            // kustomization patches
	rule      rehearse.Rule
	object    string
	message   string
}

var brokenSteps = map[string]broken{
	// Scaling the old gateway to 0 in the apply that creates the canary
	// leaves the production Service without a ready endpoint until the
	// canary's pods are Ready.
	"ScaleDownWithCanaryInOneApply": {step: "03-canary-gateways", patches: `
- target: {kind: Deployment, name: custom-gw, namespace: default}
  patch: |-
    - op: add
      path: /spec/replicas
      value: 0
`, rule: rehearse.RuleEndpoints, object: "Service/default/custom-gw", message: "0 ready endpoint(s) at worst"},
	// The control-plane identity bug: the new istiod's ClusterRoleBinding
	// names the old ServiceAccount, and the authorizer denies istiod-1-31-0
	// what its render grants it.
	"BindingNamesOldServiceAccount": {step: "01-canary-control-plane", patches: `
- target: {kind: ClusterRoleBinding, name: istiod-clusterrole-1-31-0-istio-system}
  patch: |-
    - op: replace
      path: /subjects/0/name
      value: istiod
`, rule: rehearse.RuleRBAC, object: "Deployment.apps/istio-system/istiod-1-31-0", message: "the authorizer denies ServiceAccount istio-system/istiod-1-31-0"},
	// A Deployment's selector is immutable: the API server refuses the step.
	"ChangedDeploymentSelector": {step: "04-shift", patches: `
- target: {kind: Deployment, name: custom-gw, namespace: default}
  patch: |-
    - op: add
      path: /spec/selector/matchLabels/istio.io~1rev
      value: default
    - op: add
      path: /spec/template/metadata/labels/istio.io~1rev
      value: default
`, rule: rehearse.RuleAccepted, object: "Deployment/default/custom-gw", message: "field is immutable"},
	// One PodDisruptionBudget over the old and the canary gateway: the
	// canary's pods fall under two budgets, and the Eviction API refuses them.
	"PDBOverBothGateways": {step: "03-canary-gateways", resources: []string{"both-pdb.yaml"}, files: map[string]string{"both-pdb.yaml": `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: custom-gw-all
  namespace: default
spec:
  minAvailable: 1
  selector:
    matchLabels:
      istio: custom-gw
`}, rule: rehearse.RuleEviction, object: "Deployment.apps/default/custom-gw-1-31-0", message: "more than one PodDisruptionBudget"},
}

func TestBrokenStep(t *testing.T) {
	t.Parallel()
	for name, b := range brokenSteps {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := plan(t, "1.29-to-1.31")
			keepUpTo(t, p, b.step)
			fields := ""
			if b.patches != "" {
				fields = "patches:" + b.patches
			}
			alter(t, p, b.step, b.resources, fields)
			for f, data := range b.files {
				require.NoError(t, os.WriteFile(filepath.Join(p, b.step, f), []byte(data), 0o644))
			}
			rep := rehearseOn(t, p, "1.34.3", rehearse.Flux)
			requireFinding(t, rep, b.step, b.rule, b.object, b.message)
		})
	}
}
