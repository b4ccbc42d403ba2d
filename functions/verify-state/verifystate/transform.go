// Package verifystate is the KRM validator of one desired state: it runs
// every state rule of internal/verify (docs/upgrade-model.md,
// invariants 1-7, 10 and 11) on the input and reports each finding as a
// result on the object to fix. Error findings fail the function; the items
// pass through unchanged. Transition rules (make-before-break, capacity
// against the running state, prune safety) need the previous state and are
// checked by `revshift verify` on a whole step sequence.
package verifystate

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/verify"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind.
const Kind = "VerifyState"

// Spec is the optional functionConfig:
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: VerifyState
//	metadata: {name: verify}
//	spec:
//	  disable: [RS009]         # state rules not to check
//	  warningsAsErrors: false  # fail on warning findings too
type Spec struct {
	Disable          []string `yaml:"disable,omitempty"`
	WarningsAsErrors bool     `yaml:"warningsAsErrors,omitempty"`
}

// Transform checks the state; it never changes the items.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	var spec Spec
	if err := krm.DecodeConfig(config, Kind, &spec); err != nil {
		return nil, err
	}
	disabled, err := verify.Select(spec.Disable)
	if err != nil {
		return nil, fmt.Errorf("functionConfig spec.disable: %v", err)
	}
	for _, id := range spec.Disable {
		if r, _ := verify.Lookup(id); r.Kind != verify.StateRule {
			return nil, fmt.Errorf("functionConfig spec.disable: %s (%s) is a transition rule, which verify-state never checks: it needs the previous state (run `revshift verify` on the step sequence)", id, r.Name)
		}
	}
	m, err := mesh.BuildItems(items)
	if err != nil {
		return nil, err
	}
	checked := 0
	for _, r := range verify.Rules() {
		if r.Kind == verify.StateRule && !disabled[r.ID] {
			checked++
		}
	}
	errs, warns := 0, 0
	for _, f := range verify.CheckState(m) {
		if disabled[f.Rule] {
			continue
		}
		r, _ := verify.Lookup(f.Rule)
		msg := fmt.Sprintf("%s %s: %s. Fix: %s", f.Rule, r.Name, f.Message, f.Fix)
		if also := others(f.Objects); also != "" {
			msg += " (objects: " + also + ")"
		}
		obj := objectOf(m, f)
		if f.Severity == verify.Error || spec.WarningsAsErrors {
			res.Errorf(obj, "%s", msg)
			errs++
		} else {
			res.Warnf(obj, "%s", msg)
			warns++
		}
	}
	off := ""
	if len(spec.Disable) > 0 {
		off = " (disabled: " + strings.Join(spec.Disable, ", ") + ")"
	}
	res.Infof(nil, "checked %d state rules%s on %d objects: %s, %s", checked, off, len(m.Objects), plural(errs, "error"), plural(warns, "warning"))
	return items, nil
}

// objectOf returns the object a finding's result points at: its first
// object, with the apiVersion it has in the input (an object the state
// lacks, such as a missing Service, is named by identity only).
func objectOf(m *mesh.Model, f verify.Finding) *mesh.Object {
	if len(f.Objects) == 0 {
		return nil
	}
	if o, ok := m.Get(f.Objects[0]); ok {
		return o
	}
	id := f.Objects[0]
	av := "v1"
	if id.Group != "" {
		av = id.Group + "/v1"
	}
	return &mesh.Object{ID: id, APIVersion: av}
}

func others(ids []mesh.ID) string {
	if len(ids) < 2 {
		return ""
	}
	parts := make([]string, 0, len(ids)-1)
	for _, id := range ids[1:] {
		parts = append(parts, id.String())
	}
	return strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
