package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

// Kind says what a rule looks at.
type Kind int

const (
	// StateRule checks one desired state.
	StateRule Kind = iota + 1
	// TransitionRule checks one step S(k-1) -> S(k), with S0 as baseline.
	TransitionRule
)

func (k Kind) String() string {
	switch k {
	case StateRule:
		return "state"
	case TransitionRule:
		return "transition"
	}
	return "unknown"
}

// Severity of a finding.
type Severity string

const (
	// Error: the state or step drops requests or breaks the mesh; the
	// sequence fails.
	Error Severity = "error"
	// Warning: a silent degradation that does not drop requests.
	Warning Severity = "warning"
)

// Rule is one invariant, with a stable ID.
type Rule struct {
	// ID is RS001..RS0NN; stable, never reused.
	ID string
	// Name is a short kebab-case name.
	Name string
	// Doc is a one-line description.
	Doc string
	// Kind is StateRule or TransitionRule.
	Kind Kind
	// Invariant is the number of the invariant in
	// docs/upgrade-model.md (0 for traps listed there as facts).
	Invariant int
}

// Finding is one violation of a rule.
type Finding struct {
	Rule     string
	Severity Severity
	// Step is the name of the state checked (the state a step produces,
	// for transition rules); empty from CheckState.
	Step string
	// From is the previous state, for transition rules inside a sequence.
	From string
	// Objects are the objects involved, the one to fix first.
	Objects []mesh.ID
	// Message says what is wrong; Fix says what to do.
	Message string
	Fix     string
	// Preexisting is set inside a sequence for a state finding that the
	// running state S0 already has (same rule, same objects): the plan did
	// not cause it and cannot be blamed for it, so it is a Warning.
	Preexisting bool
}

func (f Finding) key() string {
	var b strings.Builder
	b.WriteString(f.Rule)
	for _, id := range f.Objects {
		b.WriteString("|" + id.String())
	}
	return b.String()
}

// String renders a finding on one line: "RS001 error [step] message Fix: fix".
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Rule + " " + string(f.Severity))
	if f.Step != "" {
		b.WriteString(" [" + f.Step + "]")
	}
	b.WriteString(" " + f.Message)
	if f.Fix != "" {
		b.WriteString(" Fix: " + f.Fix)
	}
	return b.String()
}

type ruleImpl struct {
	Rule
	state      func(*stateCtx)
	transition func(*transCtx)
	// lastOnly: a transition rule that judges only the last state of a
	// sequence checked with its renders.
	lastOnly bool
}

// catalogue holds every rule in ID order. Keep IDs stable: append new rules
// at the end.
var catalogue = []ruleImpl{
	{Rule: Rule{ID: "RS001", Name: "service-endpoints", Kind: StateRule, Invariant: 1,
		Doc: "every production gateway Service selects at least one Deployment with replicas (or HPA minReplicas) > 0"}, state: ruleEndpoints},
	{Rule: Rule{ID: "RS002", Name: "capacity", Kind: TransitionRule, Invariant: 1,
		Doc: "the replicas (or HPA minReplicas) behind each production Service never drop below S0's; a Deployment a step creates counts its spec.replicas until that step's gate waits for more"}, transition: ruleCapacity},
	{Rule: Rule{ID: "RS003", Name: "target-ports", Kind: StateRule, Invariant: 2,
		Doc: "every running pod a production Service selects declares each of its targetPorts"}, state: ruleTargetPorts},
	{Rule: Rule{ID: "RS004", Name: "port-conflict", Kind: StateRule, Invariant: 3,
		Doc: "no two Services select the same gateway pods with one port mapped to different targetPorts"}, state: rulePortConflict},
	{Rule: Rule{ID: "RS005", Name: "istio-gateway-selector", Kind: StateRule, Invariant: 4,
		Doc: "every Istio Gateway resource that programs a production Service's gateways programs all its running ones"}, state: ruleIstioGateway},
	{Rule: Rule{ID: "RS006", Name: "mesh-config", Kind: StateRule, Invariant: 5,
		Doc: "every revisioned gateway finds istio-<rev> in its namespace, or is injected by that revision's injector"}, state: ruleMeshConfig},
	{Rule: Rule{ID: "RS007", Name: "control-plane-address", Kind: StateRule, Invariant: 6,
		Doc: "every running gateway's CA_ADDR/discoveryAddress names an existing Service that selects a running istiod"}, state: ruleControlPlaneAddress},
	{Rule: Rule{ID: "RS008", Name: "pdb-overlap", Kind: StateRule, Invariant: 7,
		Doc: "no running pod is selected by two PodDisruptionBudgets (eviction then fails)"}, state: rulePDBOverlap},
	{Rule: Rule{ID: "RS009", Name: "pdb-empty", Kind: StateRule, Invariant: 7,
		Doc: "every PodDisruptionBudget selects the pods of at least one workload"}, state: rulePDBEmpty},
	{Rule: Rule{ID: "RS010", Name: "pdb-coverage", Kind: StateRule, Invariant: 7,
		Doc: "when a production Service's gateways had a PDB, every running gateway it selects keeps one"}, state: rulePDBCoverage},
	{Rule: Rule{ID: "RS011", Name: "selector-immutable", Kind: TransitionRule, Invariant: 8,
		Doc: "no Deployment, StatefulSet or DaemonSet changes spec.selector (immutable)"}, transition: ruleSelectorImmutable},
	{Rule: Rule{ID: "RS012", Name: "make-before-break", Kind: TransitionRule, Invariant: 9,
		Doc: "a step that removes a production Service's endpoints does not add their replacement, unless ordered first"}, transition: ruleMakeBeforeBreak},
	{Rule: Rule{ID: "RS013", Name: "webhook-target", Kind: StateRule, Invariant: 10,
		Doc: "every webhook's clientConfig.service exists and selects a running workload (istiod)"}, state: ruleWebhookTarget},
	{Rule: Rule{ID: "RS014", Name: "injection-namespace", Kind: StateRule, Invariant: 11,
		Doc: "every namespace with an injection label is matched by an injector"}, state: ruleInjectionNamespace},
	{Rule: Rule{ID: "RS015", Name: "keep-crd-namespace", Kind: TransitionRule, Invariant: 12,
		Doc: "no step deletes a CustomResourceDefinition or a Namespace"}, transition: ruleKeepCRDNamespace},
	{Rule: Rule{ID: "RS016", Name: "deleted-but-referenced", Kind: TransitionRule, Invariant: 13,
		Doc: "no step deletes an object that the next state still references"}, transition: ruleDeletedReferenced},
	{Rule: Rule{ID: "RS017", Name: "keep-production-service", Kind: TransitionRule, Invariant: 14,
		Doc: "no step deletes a production Service (its external address is the product)"}, transition: ruleKeepProductionService},
	{Rule: Rule{ID: "RS018", Name: "new-entry-point", Kind: TransitionRule,
		Doc: "no step adds a LoadBalancer or NodePort Service over gateway pods that S0 did not have"}, transition: ruleNewEntryPoint},
	{Rule: Rule{ID: "RS019", Name: "gateway-in-place", Kind: TransitionRule,
		Doc: "no step moves a running gateway Deployment to another revision in place: not by its render, nor, for an injected gateway, by moving the revision tag or namespace label its injector matches"}, transition: ruleGatewayInPlace},
	{Rule: Rule{ID: "RS020", Name: "validation-continuity", Kind: StateRule, Invariant: 10,
		Doc: "when S0 validated Istio resources, every state keeps a validating webhook for them that reaches a running istiod"}, state: ruleValidationContinuity},
	{Rule: Rule{ID: "RS021", Name: "rbac-continuity", Kind: TransitionRule, Invariant: 15,
		Doc: "a workload running in both states keeps every permission of its ServiceAccount; one that starts running has every permission its render grants"}, transition: ruleRBACContinuity},
	{Rule: Rule{ID: "RS022", Name: "convergence", Kind: TransitionRule, Invariant: 16,
		Doc: "the last state holds every object of the target render (the running one after a rollback), under its own or its canary name, differing only by planned rewrites"}, transition: ruleConvergence, lastOnly: true},
	{Rule: Rule{ID: "RS023", Name: "gateway-control-plane", Kind: TransitionRule, Invariant: 6,
		Doc: "a gateway running in both states keeps reaching, through its control-plane address, every running istiod it reached before"}, transition: ruleGatewayControlPlane},
	{Rule: Rule{ID: "RS024", Name: "injection-request", Kind: StateRule, Invariant: 5,
		Doc: "an injected gateway whose pods ask for a revision or tag (istio.io/rev) is injected by that revision, not by an injector that matches its namespace first"}, state: ruleInjectionRequest},
	{Rule: Rule{ID: "RS025", Name: "injection-start", Kind: TransitionRule, Invariant: 11,
		Doc: "no step starts injecting a workload that no injector injected before (its next pods would get a sidecar nobody asked for)"}, transition: ruleInjectionStart},
	{Rule: Rule{ID: "RS026", Name: "injection-stop", Kind: TransitionRule, Invariant: 11,
		Doc: "no step stops injecting a running workload (its next pods would start without a sidecar)"}, transition: ruleInjectionStop},
}

var byID = func() map[string]*ruleImpl {
	m := map[string]*ruleImpl{}
	for i := range catalogue {
		m[catalogue[i].ID] = &catalogue[i]
	}
	return m
}()

// Rules returns the catalogue, in ID order.
func Rules() []Rule {
	out := make([]Rule, len(catalogue))
	for i, r := range catalogue {
		out[i] = r.Rule
	}
	return out
}

// Lookup returns the rule with the given ID.
func Lookup(id string) (Rule, bool) {
	r, ok := byID[id]
	if !ok {
		return Rule{}, false
	}
	return r.Rule, true
}

// Select checks a list of rule IDs (from a user) and returns them as a set;
// an unknown ID is an error listing the known ones.
func Select(ids []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			known := make([]string, 0, len(catalogue))
			for _, r := range catalogue {
				known = append(known, r.ID)
			}
			return nil, fmt.Errorf("unknown rule %q (known: %s)", id, strings.Join(known, ", "))
		}
		set[id] = true
	}
	return set, nil
}

// sortFindings orders findings deterministically: rule, then objects.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Rule != fs[j].Rule {
			return fs[i].Rule < fs[j].Rule
		}
		a, b := fs[i].Objects, fs[j].Objects
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k].Less(b[k])
			}
		}
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return fs[i].Message < fs[j].Message
	})
}
