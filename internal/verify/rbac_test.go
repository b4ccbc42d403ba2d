package verify

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rbacRole(kind, name, rules string) string {
	return fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: %s\nmetadata: {name: %s}\nrules:\n%s", kind, name, rules)
}

func rbacBinding(name, role, saNS, sa string) string {
	return fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: %s}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s}\nsubjects:\n- {kind: ServiceAccount, name: %s, namespace: %s}\n", name, role, sa, saNS)
}

// istiodAs is the canary istiod running as its own ServiceAccount, as
// istioctl renders a revision (istiod-<rev>).
func istiodAs(name, rev, sa string, replicas int) string {
	return strings.Replace(istiodDeploy(name, rev, replicas), "serviceAccountName: istiod", "serviceAccountName: "+sa, 1)
}

const (
	istiodRules   = "- {apiGroups: [networking.istio.io], resources: ['*'], verbs: [get, list, watch]}\n- {apiGroups: [''], resources: [secrets], verbs: [create, get]}\n"
	wildcardRules = "- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n"
)

// The canary control plane of trap (a) and (b): the new istiod runs as
// istiod-canary; one binding of its own revision, and the shared
// istiod-pilot binding to ClusterRole istiod-istio-system.
var rbacCanary = s1CanaryControlPlane.with(
	doc{"istiod-canary", istiodAs("istiod-canary", "canary", "istiod-canary", 1)},
	doc{"role", rbacRole("ClusterRole", "istiod-istio-system", istiodRules)},
	doc{"role-canary", rbacRole("ClusterRole", "istiod-clusterrole-canary", istiodRules)},
	doc{"binding-canary", rbacBinding("istiod-clusterrole-canary-istio-system", "istiod-clusterrole-canary", "istio-system", "istiod-canary")},
	doc{"binding-pilot", rbacBinding("istiod-pilot-istio-system", "istiod-istio-system", "istio-system", "istiod-canary")},
)

func TestRBACContinuity(t *testing.T) {
	canary := "Deployment.apps/istio-system/istiod-canary"
	cases := []ruleCase{
		{name: "(a) subject rewritten to the old ServiceAccount", states: []docs{s0Running, rbacCanary,
			rbacCanary.with(doc{"binding-canary", rbacBinding("istiod-clusterrole-canary-istio-system", "istiod-clusterrole-canary", "istio-system", "istiod")}).without("binding-pilot")},
			rule: "RS021", first: canary, severity: Error,
			message: "runs as ServiceAccount istio-system/istiod-canary and loses networking.istio.io/* get and 4 other permissions, granted in the previous state by ClusterRoleBinding istiod-clusterrole-canary-istio-system (ClusterRole istiod-clusterrole-canary)"},
		{name: "(b) shared binding pruned while the new istiod runs", states: []docs{s0Running, rbacCanary.without("binding-canary"), rbacCanary.without("binding-canary", "binding-pilot")},
			rule: "RS021", first: canary, severity: Error, message: "by ClusterRoleBinding istiod-pilot-istio-system (ClusterRole istiod-istio-system)"},
		{name: "(c) the ClusterRole the binding points at is gone (renamed)", states: []docs{s0Running, rbacCanary.without("binding-canary"),
			rbacCanary.without("binding-canary", "role").with(doc{"role2", rbacRole("ClusterRole", "istiod-istio-system-renamed", istiodRules)})},
			rule: "RS021", first: canary, severity: Error, message: "loses networking.istio.io/* get"},
		{name: "one permission narrowed to a namespace", states: []docs{s0Running, rbacCanary.without("binding-canary"), rbacCanary.without("binding-canary").with(doc{"binding-pilot",
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: istiod-pilot-istio-system, namespace: istio-system}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: istiod-istio-system}\nsubjects: [{kind: ServiceAccount, name: istiod-canary}]\n"})},
			rule: "RS021", first: canary, severity: Error},
		{name: "binding replaced by an equivalent one", states: []docs{s0Running, rbacCanary, rbacCanary.without("binding-pilot").with(doc{"binding-sa",
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: other}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: istiod-istio-system}\nsubjects: [{kind: Group, name: 'system:serviceaccounts:istio-system'}]\n"})},
			rule: "RS021", none: true},
		{name: "binding replaced by a wildcard role", states: []docs{s0Running, rbacCanary, rbacCanary.without("binding-pilot", "binding-canary").with(
			doc{"role-all", rbacRole("ClusterRole", "all", wildcardRules)}, doc{"binding-all", rbacBinding("all", "all", "istio-system", "istiod-canary")})},
			rule: "RS021", none: true},
		{name: "a workload scaled down in the same step loses nothing", states: []docs{s0Running, rbacCanary,
			rbacCanary.without("binding-pilot", "binding-canary").with(doc{"istiod-canary", istiodAs("istiod-canary", "canary", "istiod-canary", 0)})},
			rule: "RS021", none: true},
		{name: "a workload that starts running is judged against its render, not the previous state", states: []docs{s0Running,
			rbacCanary.with(doc{"istiod-canary", istiodAs("istiod-canary", "canary", "istiod-canary", 0)}), rbacCanary.without("binding-pilot", "binding-canary")},
			rule: "RS021", none: true},
	}
	runRuleCases(t, cases)
}

// The first-run half: a workload that starts running has every permission
// that its own render grants its ServiceAccount.
func TestRBACContinuityFirstRun(t *testing.T) {
	// The target render's own ClusterRole grants webhook updates, which
	// the shared istiod-istio-system does not: a state without the
	// render's binding lacks them.
	webhooks := "- {apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [update]}\n"
	targetDocs := rbacCanary.with(doc{"role-canary", rbacRole("ClusterRole", "istiod-clusterrole-canary", istiodRules+webhooks)})
	target := targetDocs.model(t)
	lacking := rbacCanary.without("binding-canary").model(t)
	seq := func(renders *Renders) *Report {
		rep, err := CheckPlan([]State{{Name: "00", Model: s0Running.model(t)}, {Name: "01", Model: lacking}}, DefaultOrdering, renders)
		require.NoError(t, err)
		return rep
	}
	rs021 := func(rep *Report) []Finding { return ruleFindings(rep, "RS021") }
	assert.Empty(t, rs021(seq(nil)), "without renders the first-run half is skipped")
	fs := rs021(seq(&Renders{Running: s0Running.model(t), Target: target}))
	require.Len(t, fs, 1)
	f := fs[0]
	assert.Equal(t, "Deployment.apps/istio-system/istiod-canary", f.Objects[0].String())
	assert.Equal(t, "ClusterRoleBinding.rbac.authorization.k8s.io/istiod-clusterrole-canary-istio-system", f.Objects[1].String())
	assert.Equal(t, "01", f.Step)
	assert.Contains(t, f.Message, "istiod-canary starts running as ServiceAccount istio-system/istiod-canary without admissionregistration.k8s.io/validatingwebhookconfigurations update, which its render grants by ClusterRoleBinding istiod-clusterrole-canary-istio-system")
	assert.Equal(t, "add ClusterRoleBinding istiod-clusterrole-canary-istio-system of the render (it binds ClusterRole istiod-clusterrole-canary to ServiceAccount istio-system/istiod-canary) in this or an earlier step", f.Fix)
	// The render grants exactly what the state has: silent.
	assert.Empty(t, rs021(seq(&Renders{Running: s0Running.model(t), Target: lacking})))
	// A canary copy renamed from the render (name-<rev>) is not compared.
	renamed := targetDocs.with(doc{"istiod-canary", istiodAs("istiod-other", "canary", "istiod-canary", 1)}).model(t)
	assert.Empty(t, rs021(seq(&Renders{Running: s0Running.model(t), Target: renamed})))
}

func TestGatewayControlPlane(t *testing.T) {
	// Service istiod moves from the old istiod to the canary's while the
	// old gateway, which dials istiod.istio-system.svc, still runs.
	repointed := s3CanaryGateway.with(doc{"istiod-svc", service("istio-system", "istiod", "", istiodV2, "15012", "443:15017")})
	both := s3CanaryGateway.with(doc{"istiod-svc", service("istio-system", "istiod", "", map[string]string{"app": "istiod"}, "15012", "443:15017")})
	cases := []ruleCase{
		{name: "istiod Service repointed while the old gateway runs", states: []docs{s0Running, s3CanaryGateway, repointed},
			rule: "RS023", first: "Deployment.apps/default/custom-gw", severity: Error,
			message: "dials Service/istio-system/istiod (CA_ADDR istiod.istio-system.svc:15012): it reached Deployment.apps/istio-system/istiod (revision default) and now reaches Deployment.apps/istio-system/istiod-canary (revision canary)"},
		{name: "old istiod scaled down under the running gateway", states: []docs{s0Running, s3CanaryGateway, s3CanaryGateway.with(doc{"istiod", istiodDeploy("istiod", "default", 0)})},
			rule: "RS023", first: "Deployment.apps/default/custom-gw", severity: Error, message: "now reaches no running istiod"},
		{name: "gateway scaled to 0 in the same step", states: []docs{s0Running, s3CanaryGateway, repointed.with(doc{"gw", gatewayDeploy("default", "custom-gw", shiftedGateway)})},
			rule: "RS023", none: true},
		{name: "Service selects both istiods", states: []docs{s0Running, s3CanaryGateway, both},
			rule: "RS023", none: true},
		{name: "the good sequence repoints after the shift", states: []docs{s0Running, s4Shift, s5DataPlane, s6WebhookContinuity},
			rule: "RS023", none: true},
	}
	runRuleCases(t, cases)
	var fix string
	rep, err := checkSequence([]State{{Name: "00", Model: s0Running.model(t)}, {Name: "01", Model: repointed.model(t)}}, DefaultOrdering)
	require.NoError(t, err)
	for _, f := range rep.Findings() {
		if f.Rule == "RS023" {
			fix = f.Fix
		}
	}
	assert.Equal(t, "keep Service/istio-system/istiod selecting the istiod of revision default until gateway Deployment.apps/default/custom-gw has shifted to its canary (order the webhook-continuity step after the gateway shifts)", fix)
}

// At the end of a rollback walk the original running state's workloads
// have what their own render grants: the union role of the canary period
// narrowing back to the running render's is not a loss.
func TestRBACContinuityRollbackEnd(t *testing.T) {
	union := s0Running.with(doc{"role", rbacRole("ClusterRole", "istiod-istio-system", istiodRules)})
	walk := func(original bool) []Finding {
		rep, err := checkSequence([]State{{Name: "00-canary", Model: union.model(t)}, {Name: "01-running", Model: s0Running.model(t), Original: original}}, DefaultOrdering)
		require.NoError(t, err)
		return ruleFindings(rep, "RS021")
	}
	fs := walk(false)
	require.Len(t, fs, 1, "without the mark, the running istiod loses the union's rules")
	assert.Contains(t, fs[0].Message, "Deployment.apps/istio-system/istiod runs as ServiceAccount istio-system/istiod and loses networking.istio.io/* get")
	assert.Empty(t, walk(true))
}

// The union of both revisions' rules that canary-control-plane emits while
// both run shrinks to the target's rules at the prune: with the renders,
// what the new istiod held only through the union is not its loss; without
// them, every lost permission counts.
func TestRBACContinuityUnionShrinks(t *testing.T) {
	oldOnly := "- {apiGroups: [extensions], resources: [ingresses], verbs: [get, list, watch]}\n"
	union := rbacCanary.without("binding-canary").with(doc{"role", rbacRole("ClusterRole", "istiod-istio-system", istiodRules+oldOnly)})
	target := rbacCanary.without("binding-canary")
	states := []State{{Name: "00", Model: s0Running.model(t)}, {Name: "01", Model: union.model(t)}, {Name: "02", Model: target.model(t)}}
	rs021 := func(renders *Renders) []Finding {
		rep, err := CheckPlan(states, DefaultOrdering, renders)
		require.NoError(t, err)
		return ruleFindings(rep, "RS021")
	}
	canaryLoss := func(fs []Finding) string {
		for _, f := range fs {
			if f.Objects[0].Name == "istiod-canary" {
				return f.Message
			}
		}
		return ""
	}
	assert.Contains(t, canaryLoss(rs021(nil)), "loses extensions/ingresses get", "without renders the shrink is a loss")
	assert.Empty(t, canaryLoss(rs021(&Renders{Running: s0Running.model(t), Target: target.model(t)})), "its render never granted extensions/ingresses")
	// A permission its render grants still counts when it is lost.
	narrowed := rbacCanary.without("binding-canary").with(doc{"role", rbacRole("ClusterRole", "istiod-istio-system", "- {apiGroups: [''], resources: [secrets], verbs: [create, get]}\n")})
	states[2].Model = narrowed.model(t)
	assert.Contains(t, canaryLoss(rs021(&Renders{Running: s0Running.model(t), Target: target.model(t)})), "loses networking.istio.io/* get")
}

// ruleFindings are a report's findings of one rule.
func ruleFindings(rep *Report, rule string) []Finding {
	var out []Finding
	for _, f := range rep.Findings() {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}
