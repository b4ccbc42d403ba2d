package verify

import (
	"errors"
	"fmt"

	"github.com/revshift/revshift/internal/gate"
	"github.com/revshift/revshift/internal/mesh"
)

// State is one desired state of a sequence: a step directory's build.
type State struct {
	Name  string
	Model *mesh.Model
	// Original marks the running render as it was before the upgrade, when
	// it is not the first state: the end of a rollback walk. What it
	// already had is not the walk's fault: its state findings (checked on
	// their own) count as pre-existing, and a gateway it runs without a
	// PDB is not a regression (RS010).
	Original bool
	// Gate is the gate of the step that produced the state (its
	// gate.yaml), nil when the plan has none. RS002 counts a Deployment
	// the step creates at the replicas the gate waits for, else at its
	// spec.replicas, in this state and when the next step is applied.
	Gate *gate.Gate
}

// CheckState runs every state rule on one state, on its own (no S0: only
// the Services that select a gateway now count as production).
func CheckState(m *mesh.Model) []Finding {
	return checkState(newViews(m)[0], nil)
}

func checkState(v, base *view, orig ...*view) []Finding {
	var out []Finding
	for _, r := range catalogue {
		if r.state == nil {
			continue
		}
		c := &stateCtx{collector: collector{rule: r.ID}, v: v, base: base, orig: orig}
		r.state(c)
		out = append(out, c.out...)
	}
	sortFindings(out)
	return out
}

// end is set on the last step of a sequence checked with its renders
// (RS022); original marks next as the original running state
// (State.Original).
// st are the Deployments this step and the one before created (RS002).
func checkTransition(prev, next, base *view, ord Ordering, renders *Renders, end *lastStep, original bool, st starts) []Finding {
	var out []Finding
	step := &stepCache{}
	for _, r := range catalogue {
		if r.transition == nil {
			continue
		}
		t := &transCtx{collector: collector{rule: r.ID}, prev: prev, next: next, base: base, ord: ord, step: step, renders: renders, end: end, nextOriginal: original, starts: st}
		r.transition(t)
		out = append(out, t.out...)
	}
	sortFindings(out)
	return out
}

// Status of one rule at one step.
type Status string

const (
	StatusOK   Status = "ok"
	StatusFail Status = "FAIL"
	StatusWarn Status = "warn"
	// StatusNA: a transition rule on the first state.
	StatusNA Status = "-"
)

// RuleStatus is one cell row of the per-step table.
type RuleStatus struct {
	Rule    Rule
	Status  Status
	Objects []mesh.ID
}

// StepReport is the outcome of one state: its state rules and, from the
// second state on, the transition rules of the step that produced it.
type StepReport struct {
	Name string
	// From is the previous state ("" for S0).
	From     string
	Rules    []RuleStatus
	Findings []Finding
	// Rewrites are the planned rewrites RS022 found in the last state of
	// a sequence checked with its renders (nil elsewhere).
	Rewrites []Rewrite
}

// Report is the outcome of CheckSequence.
type Report struct {
	Steps []StepReport
}

// Findings returns every finding, step by step.
func (r *Report) Findings() []Finding {
	var out []Finding
	for _, s := range r.Steps {
		out = append(out, s.Findings...)
	}
	return out
}

// Count returns the number of findings of a severity.
func (r *Report) Count(sev Severity) int {
	n := 0
	for _, f := range r.Findings() {
		if f.Severity == sev {
			n++
		}
	}
	return n
}

// OK reports whether no finding has severity Error.
func (r *Report) OK() bool { return r.Count(Error) == 0 }

// CheckPlan checks every state S0..Sn with the state rules and every step
// S(k-1) -> S(k) with the transition rules, S0 being the baseline. A state
// finding that S0 already has (same rule and objects) is reported as a
// Preexisting Warning: the sequence did not cause it. renders are the
// renders the sequence was planned from (a plan's inputs/), when the caller
// has them: the rules that compare a state with what a render grants or
// holds use them, and skip that part without them (nil). It returns an
// error, and no report, for fewer than two states, a state without a
// model, or two states with the same name.
func CheckPlan(states []State, ord Ordering, renders *Renders) (*Report, error) {
	if err := checkStates(states); err != nil {
		return nil, err
	}
	// Each state's view is built when the walk reaches it, and checked
	// while it is still in the CPU cache: its state rules, then the step
	// from the previous state (whose view was built just before).
	size := 0
	for _, s := range states {
		size = max(size, len(s.Model.Objects))
	}
	t := newIDTable(size)
	base := t.view(states[0].Model)
	rep := &Report{}
	before := map[string]bool{}
	var orig []*view
	for i, s := range states {
		if s.Original && i > 0 {
			v := t.view(s.Model)
			orig = append(orig, v)
			for _, f := range checkState(v, nil) {
				before[f.key()] = true
			}
		}
	}
	var prev *view
	// created are the Deployments the step into the previous state
	// created (RS002).
	var created map[mesh.ID]started
	for i, s := range states {
		cur := t.view(s.Model)
		sr := StepReport{Name: s.Name}
		fs := checkState(cur, base, orig...)
		for k := range fs {
			if i == 0 {
				before[fs[k].key()] = true
			}
			if before[fs[k].key()] {
				fs[k].Preexisting = true
				fs[k].Severity = Warning
			}
		}
		if i > 0 {
			sr.From = states[i-1].Name
			var end *lastStep
			if i == len(states)-1 && renders != nil {
				end = &lastStep{from: sr.From, to: s.Name, original: s.Original}
			}
			st := starts{created: startsOf(prev, cur, s.Gate, s.Name), before: created}
			created = st.created
			fs = append(fs, checkTransition(prev, cur, base, ord, renders, end, s.Original && i > 0, st)...)
			sortFindings(fs)
			if end != nil {
				sr.Rewrites = end.rewrites
			}
		}
		for k := range fs {
			fs[k].Step = s.Name
			if i > 0 && byID[fs[k].Rule].Kind == TransitionRule {
				fs[k].From = sr.From
			}
		}
		sr.Findings = fs
		sr.Rules = statuses(fs, i == 0, i == len(states)-1 && renders != nil)
		rep.Steps = append(rep.Steps, sr)
		prev = cur
	}
	return rep, nil
}

// checkStates rejects what is not a sequence: fewer than two states, a
// state without a model, two states with the same name.
func checkStates(states []State) error {
	if len(states) < 2 {
		names := ""
		if len(states) == 1 {
			names = fmt.Sprintf(" (only %q)", states[0].Name)
		}
		return fmt.Errorf("verify needs a sequence: the running state and at least one step, got %d state(s)%s", len(states), names)
	}
	seen := map[string]int{}
	var errs []error
	for i, s := range states {
		if s.Model == nil {
			errs = append(errs, fmt.Errorf("state %d (%q) has no model", i, s.Name))
		}
		if j, dup := seen[s.Name]; dup {
			errs = append(errs, fmt.Errorf("states %d and %d have the same name %q", j, i, s.Name))
		}
		seen[s.Name] = i
	}
	return errors.Join(errs...)
}

// statuses are the rule cells of one state: transition rules do not apply
// to the first state, and rules that judge the end of a sequence against
// its renders (RS022) apply only to its last state when verify has them.
func statuses(fs []Finding, first, judgedEnd bool) []RuleStatus {
	var out []RuleStatus
	for _, r := range catalogue {
		st := RuleStatus{Rule: r.Rule, Status: StatusOK}
		if (first && r.Kind == TransitionRule) || (r.lastOnly && !judgedEnd) {
			st.Status = StatusNA
		}
		seen := map[mesh.ID]bool{}
		for _, f := range fs {
			if f.Rule != r.ID {
				continue
			}
			if f.Severity == Error {
				st.Status = StatusFail
			} else if st.Status != StatusFail {
				st.Status = StatusWarn
			}
			for _, id := range f.Objects {
				if !seen[id] {
					seen[id] = true
					st.Objects = append(st.Objects, id)
				}
			}
		}
		out = append(out, st)
	}
	return out
}
