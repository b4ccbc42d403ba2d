// Package verify proves offline that a sequence of desired states S0..Sn of
// an Istio upgrade keeps traffic flowing: it checks the invariants of
// docs/upgrade-model.md (1-16, plus traps read off the real renders) as
// small named rules with stable IDs RS001..RS026, like
// `istioctl analyze` message codes. Every rule asks internal/mesh; nothing
// here parses an object.
//
// # Rules
//
// Rules() is the catalogue. A StateRule looks at one desired state (checked
// on every S0..Sn); a TransitionRule looks at one step S(k-1) -> S(k) and at
// S0, the baseline for capacity and for what counts as production. IDs are
// never renumbered or reused; a retired rule keeps its ID. RS022 is a
// transition rule that acts only on the step producing the last state.
//
// # API
//
//	findings := verify.CheckState(m) // one state, no baseline
//	report, err := verify.CheckPlan([]verify.State{{Name: "00-running", Model: s0}, ...}, verify.DefaultOrdering, nil)
//	report, err  = verify.CheckPlan(states, verify.DefaultOrdering, &verify.Renders{Running: r, Target: t}) // + RS022
//	report.WriteTable(os.Stdout, false)  // per-step table, then each finding and what to do
//	ok := report.OK()                    // no error-severity finding
//	verify.WriteMermaid(os.Stdout, m)    // traffic path of one state
//	verify.WriteRules(os.Stdout)         // the catalogue as a table
//	set, err := verify.Select(ids)       // validate user-given rule IDs
//
// CheckPlan fails (error, no report) on fewer than two states, a nil
// model or two states with the same name; a sequence is what it verifies.
// Inside a sequence the state rules also know S0, so a production Service of
// S0 that no longer selects any gateway still counts as production, and a
// state finding S0 already has (same rule and objects; e.g. the 1.5.10
// gateway PDB that selects no pod) is marked Preexisting and downgraded to a
// Warning: the sequence did not cause it.
//
// Models are read-only, but mesh.Model.ReferencesTo builds its reverse index
// on first use: do not check the same model from two goroutines at once.
// (mesh.Model.Grants, which RS021 asks, also builds on first use, under a
// lock.)
//
// # Convergence (RS022)
//
// CheckPlan takes the renders a plan was made from (Renders: a plan's
// inputs/). RS022 then judges the last state against the render it must
// converge to (the target; the running render when the last state is
// Original, the end of a rollback): every object of the render is there
// under its own identity, or as canaries carrying mesh.AnnotationCanaryOf,
// and every difference is one of a closed list of planned rewrites
// (prune-protection, production-service-kept, gateway-service-dropped,
// crd-newest, webhook-continuity, dataplane-relabel, canary-gateway,
// mesh-config-copy, include; see rewriteDocs). The rewrites found are in
// the last StepReport's Rewrites, and WriteTable lists them under the
// table. Objects of the last state that neither render has and no rewrite
// explains are a Warning. Without renders (nil) RS022 does nothing.
//
// # Ordering
//
// A step that adds new endpoints and removes old ones (RS012) is allowed only
// when the applier orders the addition first and waits for it to be healthy.
// Ordering says which annotations the applier honours: Argo CD sync waves
// (argocd.argoproj.io/sync-wave, PruneLast) and kpt depends-on. Use
// NoOrdering for kubectl apply and Flux, which apply a step at once.
//
// # Gates
//
// State.Gate is the gate of the step that produced the state (internal/gate:
// a planned step's gate.yaml, what must hold before the next step is
// applied). RS002 counts a Deployment that a step creates at its
// spec.replicas (1 when unset), not at its HPA's minReplicas, in that
// step's state and when the next step is applied, unless the gate waits for
// more ready replicas: the HPA raises a new Deployment only on its next
// sync. Without a gate (nil: a plan written before gates)
// the Deployment counts its spec.replicas.
//
// # Findings
//
// A Finding names the rule, the step (the state's name; From is the previous
// state for a transition rule), the objects (mesh.ID, first the one to fix),
// what is wrong (Message) and what to do (Fix). Severity Error fails the
// sequence; Warning is a degradation that does not drop requests (e.g. a
// webhook with failurePolicy Ignore that stops validating).
package verify
