package verify

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoodSequencePasses(t *testing.T) {
	rep, err := checkSequence(goodSequence(t), NoOrdering)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, rep.WriteTable(&buf, false))
	require.Empty(t, rep.Findings(), buf.String())
	require.True(t, rep.OK())
	require.Contains(t, buf.String(), "OK: 8 states, 7 steps, every rule holds")
	require.Contains(t, buf.String(), "07-prune")
}

func TestCatalogue(t *testing.T) {
	rules := Rules()
	require.Len(t, rules, len(catalogue))
	names := map[string]bool{}
	for i, r := range rules {
		require.Equal(t, fmt.Sprintf("RS%03d", i+1), r.ID, "IDs are dense and ordered (an ID is never reused)")
		require.False(t, names[r.Name], "duplicate name %s", r.Name)
		names[r.Name] = true
		require.NotEmpty(t, r.Doc)
		require.NotContains(t, r.Doc, "\n")
		impl := byID[r.ID]
		switch r.Kind {
		case StateRule:
			require.True(t, impl.state != nil && impl.transition == nil, r.ID)
		case TransitionRule:
			require.True(t, impl.transition != nil && impl.state == nil, r.ID)
		default:
			t.Fatalf("%s: no kind", r.ID)
		}
		got, ok := Lookup(r.ID)
		require.True(t, ok)
		require.Equal(t, r, got)
	}
	_, err := Select([]string{"RS001", "RS999"})
	require.ErrorContains(t, err, `unknown rule "RS999"`)
	var buf bytes.Buffer
	require.NoError(t, WriteRules(&buf))
	require.Contains(t, buf.String(), "RS012  transition  make-before-break")
}

func TestCheckSequenceErrors(t *testing.T) {
	m := s0Running.model(t)
	_, err := checkSequence([]State{{Name: "00-running", Model: m}}, DefaultOrdering)
	require.ErrorContains(t, err, `verify needs a sequence: the running state and at least one step, got 1 state(s) (only "00-running")`)
	_, err = checkSequence(nil, DefaultOrdering)
	require.ErrorContains(t, err, "got 0 state(s)")
	_, err = checkSequence([]State{{Name: "a", Model: m}, {Name: "b"}, {Name: "a", Model: m}}, DefaultOrdering)
	require.ErrorContains(t, err, `state 1 ("b") has no model`)
	require.ErrorContains(t, err, `states 0 and 2 have the same name "a"`)
}

// ruleCase is a sequence whose last state must carry a finding of rule,
// caused by the sequence, whose first object is first.
type ruleCase struct {
	name     string
	states   []docs
	ord      Ordering
	rule     string
	first    string
	severity Severity
	message  string
	// none: the rule must not fire at all (ordering cases).
	none bool
}

func labelsWith(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestRules(t *testing.T) {
	canaryWith := func(f func(*gwOpts)) doc {
		o := canaryGateway
		f(&o)
		return doc{"gw-canary", gatewayDeploy("default", "custom-gw-canary", o)}
	}
	// A running state whose old pods carry gen: v1, which the Istio Gateway
	// resource and the PDB select on.
	genPods := labelsWith(oldPods, "gen", "v1")
	s0Gen := s0Running.with(
		doc{"gw", gatewayDeploy("default", "custom-gw", gwOpts{replicas: 2, labels: genPods, selector: oldPods, ports: []int{8080, 8443, 15021}, caAddr: "istiod.istio-system.svc:15012"})},
		doc{"gw-gateway", istioGateway("default", "custom-gw", map[string]string{"gen": "v1"})},
		doc{"gw-pdb", pdb("default", "custom-gw", map[string]string{"gen": "v1"})},
	)
	s3Gen := s0Gen.with(s2GatewayConfig[len(s0Running):]...).with(s3CanaryGateway[len(s3CanaryGateway)-1])
	addAndShift := s2GatewayConfig.with(s3CanaryGateway[len(s3CanaryGateway)-1], doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)})
	waved := func(wave string) doc {
		return canaryWith(func(o *gwOpts) { o.annotations = map[string]string{"argocd.argoproj.io/sync-wave": wave} })
	}

	cases := []ruleCase{
		{name: "shift without canary", states: []docs{s0Running, s2GatewayConfig.with(doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)})},
			rule: "RS001", first: "Service/default/custom-gw", severity: Error, message: "selects no running pods: Deployment.apps/default/custom-gw (0 replicas)"},
		{name: "old gateway deleted", states: []docs{s0Running, s0Running.without("gw")},
			rule: "RS001", first: "Service/default/custom-gw", severity: Error, message: "selects no pods: no workload in namespace default carries its selector {istio=ingressgateway}"},
		{name: "canary smaller than the old gateway", states: []docs{s0Running, s3CanaryGateway.with(canaryWith(func(o *gwOpts) { o.replicas = 1 })), s4Shift.with(canaryWith(func(o *gwOpts) { o.replicas = 1 }))},
			rule: "RS002", first: "Service/default/custom-gw", severity: Error, message: "backed by 1 guaranteed replicas, fewer than the 2"},
		{name: "HPA minReplicas counts, not replicas", states: []docs{s0Running, s4Shift.with(canaryWith(func(o *gwOpts) { o.replicas = 3 }), doc{"hpa", hpa("default", "custom-gw-canary", "custom-gw-canary", 1)})},
			rule: "RS002", first: "Service/default/custom-gw", severity: Error, message: "(HPA custom-gw-canary minReplicas 1)"},
		{name: "canary on the old ports", states: []docs{s0Running, s3CanaryGateway.with(canaryWith(func(o *gwOpts) { o.ports = []int{80, 443, 15020} }))},
			rule: "RS003", first: "Deployment.apps/default/custom-gw-canary", severity: Error, message: "declares none of its targetPorts 80->8080, 443->8443, 15021->15021 (it declares 80, 443, 15020)"},
		{name: "second Service maps port 80 elsewhere", states: []docs{s0Running, s3CanaryGateway.with(doc{"svc2", service("default", "custom-gw-canary", "", newPods, "80:80")})},
			rule: "RS004", first: "Service/default/custom-gw-canary", severity: Error, message: "(port 80 -> 8080) and Service/default/custom-gw-canary (port 80 -> 80)"},
		{name: "Istio Gateway does not program the canary", states: []docs{s0Gen, s3Gen},
			rule: "RS005", first: "Gateway.networking.istio.io/default/custom-gw", severity: Error, message: "but not Deployment.apps/default/custom-gw-canary"},
		{name: "istio-<rev> not copied", states: []docs{s0Running, s1CanaryControlPlane.with(s3CanaryGateway[len(s3CanaryGateway)-1])},
			rule: "RS006", first: "Deployment.apps/default/custom-gw-canary", severity: Error, message: "silently connects to istiod.istio-system.svc:15012"},
		{name: "CA_ADDR names a missing Service", states: []docs{s0Running, s3CanaryGateway.with(canaryWith(func(o *gwOpts) { o.caAddr = "istiod-nope.istio-system.svc:15012" }))},
			rule: "RS007", first: "Deployment.apps/default/custom-gw-canary", severity: Error, message: "dials Service/istio-system/istiod-nope (CA_ADDR), which is absent"},
		{name: "CA_ADDR Service selects no running istiod", states: []docs{s0Running, s3CanaryGateway.with(doc{"istiod-canary", istiodDeploy("istiod-canary", "canary", 0)})},
			rule: "RS007", first: "Deployment.apps/default/custom-gw-canary", severity: Error, message: "which selects no running istiod"},
		{name: "two PDBs over the canary", states: []docs{s0Running, s3CanaryGateway.with(doc{"pdb2", pdb("default", "custom-gw-canary", newPods)})},
			rule: "RS008", first: "Deployment.apps/default/custom-gw-canary", severity: Error, message: "selected by 2 PodDisruptionBudgets"},
		{name: "PDB selecting nothing", states: []docs{s0Running, s3CanaryGateway.with(doc{"pdb2", pdb("default", "custom-gw-canary", map[string]string{"istio": "custom-gw-canary"})})},
			rule: "RS009", first: "PodDisruptionBudget.policy/default/custom-gw-canary", severity: Error, message: "selects no pod"},
		{name: "canary without PDB", states: []docs{s0Gen, s3Gen},
			rule: "RS010", first: "Deployment.apps/default/custom-gw-canary", severity: Error, message: "no PDB selects its pods"},
		{name: "a running gateway that never had a PDB is not a regression", states: []docs{s0Running.without("gw-pdb"), s3CanaryGateway.without("gw-pdb").with(doc{"pdb-canary", pdb("default", "custom-gw-canary", newPods)})},
			rule: "RS010", none: true},
		{name: "selector changed", states: []docs{s0Running, s0Running.with(doc{"gw", gatewayDeploy("default", "custom-gw", gwOpts{replicas: 2, labels: genPods, ports: []int{8080, 8443, 15021}, caAddr: "istiod.istio-system.svc:15012"})})},
			rule: "RS011", first: "Deployment.apps/default/custom-gw", severity: Error, message: "changes from {app=istio-ingressgateway,istio=ingressgateway} to {app=istio-ingressgateway,gen=v1,istio=ingressgateway}"},
		{name: "add and shift in one step", states: []docs{s0Running, s2GatewayConfig, addAndShift}, ord: NoOrdering,
			rule: "RS012", first: "Service/default/custom-gw", severity: Error, message: "Deployment.apps/default/custom-gw 2 -> 0; Deployment.apps/default/custom-gw-canary 0 -> 2"},
		{name: "add and shift, sync waves ignored by the applier", states: []docs{s0Running, s2GatewayConfig, addAndShift.with(waved("-1"))}, ord: NoOrdering,
			rule: "RS012", first: "Service/default/custom-gw", severity: Error},
		{name: "add and shift, canary in an earlier sync wave", states: []docs{s0Running, s2GatewayConfig, addAndShift.with(waved("-1"))}, ord: DefaultOrdering,
			rule: "RS012", none: true},
		{name: "add and shift, canary in the same sync wave", states: []docs{s0Running, s2GatewayConfig, addAndShift.with(waved("0"))}, ord: DefaultOrdering,
			rule: "RS012", first: "Service/default/custom-gw", severity: Error},
		{name: "add and shift, bad sync wave", states: []docs{s0Running, s2GatewayConfig, addAndShift.with(waved("soon"))}, ord: DefaultOrdering,
			rule: "RS012", first: "Service/default/custom-gw", severity: Error, message: `expected an integer, got "soon"`},
		{name: "add and shift, old gateway depends on the canary (kpt)", states: []docs{s0Running, s2GatewayConfig, addAndShift.with(doc{"gw", gatewayDeploy("default", "custom-gw", gwOpts{replicas: 0, labels: oldPods, ports: []int{8080}, caAddr: "istiod.istio-system.svc:15012",
			annotations: map[string]string{"config.kubernetes.io/depends-on": "apps/namespaces/default/Deployment/custom-gw-canary"}})})}, ord: Ordering{KptDependsOn: true},
			rule: "RS012", none: true},
		{name: "add and delete the old gateway, pruned last", states: []docs{s0Running, s2GatewayConfig.with(doc{"gw", gatewayDeploy("default", "custom-gw", gwOpts{replicas: 2, labels: oldPods, ports: []int{8080, 8443, 15021}, caAddr: "istiod.istio-system.svc:15012",
			annotations: map[string]string{"argocd.argoproj.io/sync-options": "PruneLast=true"}})}), s2GatewayConfig.without("gw").with(s3CanaryGateway[len(s3CanaryGateway)-1])}, ord: DefaultOrdering,
			rule: "RS012", none: true},
		{name: "validating webhook Service gone", states: []docs{s0Running, s0Running.without("istiod-svc")},
			rule: "RS013", first: "ValidatingWebhookConfiguration.admissionregistration.k8s.io/istiod-istio-system", severity: Error, message: "istio/istio#28880"},
		{name: "injector Service selects no running istiod", states: []docs{s0Running, s0Running.with(doc{"istiod", istiodDeploy("istiod", "default", 0)})},
			rule: "RS013", first: "MutatingWebhookConfiguration.admissionregistration.k8s.io/istio-sidecar-injector", severity: Error, message: "failurePolicy Fail"},
		{name: "other webhook with Ignore: a warning", states: []docs{s0Running, s0Running.with(doc{"other", strings.ReplaceAll(validator("other", "nope", "Ignore"), "validation.istio.io", "check.example.com")})},
			rule: "RS013", first: "ValidatingWebhookConfiguration.admissionregistration.k8s.io/other", severity: Warning, message: "requests pass unchecked"},
		{name: "validating webhook pruned with the old revision", states: []docs{s0Running, s7Prune.without("validator")},
			rule: "RS020", first: "ValidatingWebhookConfiguration.admissionregistration.k8s.io/istiod-istio-system", severity: Error, message: "Istio resources are no longer validated"},
		{name: "legacy namespace after the old injector is gone", states: []docs{s0Running, s4Shift.without("injector")},
			rule: "RS014", first: "Namespace/apps", severity: Error, message: "labelled istio-injection=enabled"},
		{name: "CRD deleted", states: []docs{s0Running, s0Running.without("crd")},
			rule: "RS015", first: "CustomResourceDefinition.apiextensions.k8s.io/gateways.networking.istio.io", severity: Error},
		{name: "Namespace deleted", states: []docs{s0Running, s0Running.without("ns-apps")},
			rule: "RS015", first: "Namespace/apps", severity: Error},
		{name: "bound ClusterRole deleted", states: []docs{s0Running, s7Prune.without("role")},
			rule: "RS016", first: "ClusterRole.rbac.authorization.k8s.io/istiod-istio-system", severity: Error, message: "ClusterRoleBinding.rbac.authorization.k8s.io/istiod-istio-system (roleRef)"},
		{name: "optionally mounted ConfigMap deleted: a warning", states: []docs{s0Running, s3CanaryGateway, s3CanaryGateway.without("mesh-canary-copy")},
			rule: "RS016", first: "ConfigMap/default/istio-canary", severity: Warning, message: "(volume config-volume)"},
		{name: "production Service deleted", states: []docs{s0Running, s7Prune.without("gw-svc")},
			rule: "RS017", first: "Service/default/custom-gw", severity: Error},
		{name: "second LoadBalancer", states: []docs{s0Running, s3CanaryGateway.with(doc{"svc2", service("default", "custom-gw-canary", "LoadBalancer", newPods, "80:8080")})},
			rule: "RS018", first: "Service/default/custom-gw-canary", severity: Error, message: "clients keep calling Service/default/custom-gw"},
		{name: "gateway moved to the canary in place", states: []docs{s0Running, s2GatewayConfig, s2GatewayConfig.with(doc{"gw", gatewayDeploy("default", "custom-gw", gwOpts{replicas: 2, labels: oldPods, ports: []int{8080, 8443, 15021}, caAddr: "istiod-canary.istio-system.svc:15012", configMap: "istio-canary"})})},
			rule: "RS019", first: "Deployment.apps/default/custom-gw", severity: Error, message: "from revision default to canary in place"},
	}
	runRuleCases(t, cases)
}

// runRuleCases checks each case's sequence: its last step carries the
// rule's finding (or none).
func runRuleCases(t *testing.T, cases []ruleCase) {
	for _, c := range cases {
		t.Run(c.rule+" "+c.name, func(t *testing.T) {
			var states []State
			for i, d := range c.states {
				states = append(states, State{Name: fmt.Sprintf("%02d", i), Model: d.model(t)})
			}
			rep, err := checkSequence(states, c.ord)
			require.NoError(t, err)
			var buf bytes.Buffer
			require.NoError(t, rep.WriteTable(&buf, false))
			last := states[len(states)-1].Name
			var got []Finding
			for _, f := range rep.Findings() {
				if f.Rule == c.rule && !f.Preexisting {
					got = append(got, f)
				}
			}
			if c.none {
				require.Empty(t, got, buf.String())
				return
			}
			require.NotEmpty(t, got, buf.String())
			f := got[0]
			for _, x := range got {
				if x.Objects[0].String() == c.first {
					f = x
				}
			}
			require.Equal(t, last, f.Step, buf.String())
			require.Equal(t, c.first, f.Objects[0].String(), buf.String())
			require.Equal(t, c.severity, f.Severity, buf.String())
			require.Contains(t, f.Message, c.message)
			require.NotEmpty(t, f.Fix)
			if byID[c.rule].Kind == TransitionRule {
				require.Equal(t, states[len(states)-2].Name, f.From)
			}
			require.Contains(t, buf.String(), c.rule)
		})
	}
}

// A rollback walk ends at the original running state. Its old gateway never
// had an effective PDB: returning to it is not an RS010 regression, and the
// running render's own empty PDB is pre-existing, not an error.
func TestRollbackEndsAtOriginal(t *testing.T) {
	noPDB := s0Running.without("gw-pdb").with(doc{"gw-pdb", pdb("default", "custom-gw", map[string]string{"release": "istio"})})
	pruned := s7Prune.without("gw-pdb").with(doc{"pdb-canary", pdb("default", "custom-gw-canary", newPods)})
	walk := func(original bool) *Report {
		rep, err := checkSequence([]State{
			{Name: "00-prune", Model: pruned.model(t)},
			{Name: "01-canary-gateways", Model: s3CanaryGateway.without("gw-pdb").with(doc{"pdb-canary", pdb("default", "custom-gw-canary", newPods)}).model(t)},
			{Name: "02-running", Model: noPDB.model(t), Original: original},
		}, DefaultOrdering)
		require.NoError(t, err)
		return rep
	}
	rules := func(rep *Report, sev Severity) []string {
		var out []string
		for _, f := range rep.Findings() {
			if f.Severity == sev {
				out = append(out, f.Rule)
			}
		}
		return out
	}
	assert.Contains(t, rules(walk(false), Error), "RS010", "without the mark, the returning gateway looks unprotected")
	rep := walk(true)
	assert.NotContains(t, rules(rep, Error), "RS010")
	assert.NotContains(t, rules(rep, Error), "RS009")
	assert.Contains(t, rules(rep, Warning), "RS009", "the running render's empty PDB is reported as pre-existing")
}
