// Package step runs several revshift functions in one process, from one
// functionConfig, so that a step of the upgrade costs kustomize a single
// exec call (kustomize's round trip per exec function is about 0.85 s on the
// seed renders and grows with the input; see the README's performance
// table).
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: Step
//	metadata: {name: 03-canary-gateways}
//	spec:
//	  functions:
//	  - kind: CopyConfigMap
//	  - kind: RevisionGateway
//	    spec: {mode: canary}
//
// A functionConfig whose kind is one of the functions' own kinds runs that
// function alone, so the revshift binary can stand in for any of them.
package step

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind of a chained step.
const Kind = "Step"

// Function is one registered revshift function.
type Function struct {
	Kind      string
	Transform krm.Transform
}

var registry = map[string]krm.Transform{}

// Register adds functions to the registry (called by the revshift binary).
func Register(fs ...Function) {
	for _, f := range fs {
		registry[f.Kind] = f.Transform
	}
}

// Kinds lists the registered function kinds.
func Kinds() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Spec is the Step functionConfig's spec.
type Spec struct {
	Functions []Call `yaml:"functions"`
	// KeepStateMarkers keeps the revshift.dev/state annotations that
	// functions use among themselves to tell old objects from desired ones;
	// by default a step strips them, so that the cluster never sees them.
	KeepStateMarkers bool `yaml:"keepStateMarkers,omitempty"`
	// Results is which results the step reports: "all" (the default) or
	// "warnings" (warnings and errors only). kustomize discards a
	// successful function's results but still parses them: on a planned
	// prune step of 600 objects the info results are half of the output,
	// and parsing them a sixth of the build.
	Results string `yaml:"results,omitempty"`
}

// Call is one function of a step: its kind and its spec (as it would appear
// under spec: in that function's own functionConfig). A Step read from YAML
// holds each spec as a map; one written (NewConfig) holds the function's
// own typed Spec.
type Call struct {
	Kind string `yaml:"kind"`
	Name string `yaml:"name,omitempty"`
	Spec any    `yaml:"spec,omitempty"`
}

// Transform runs a Step, or a single function's own functionConfig.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	if config == nil {
		return nil, fmt.Errorf("functionConfig: required (kind %s, or one of %s)", Kind, strings.Join(Kinds(), ", "))
	}
	if t, ok := registry[config.GetKind()]; ok && config.GetApiVersion() == krm.APIVersion {
		return t(items, config, res)
	}
	var spec Spec
	if err := krm.DecodeConfig(config, Kind, &spec); err != nil {
		return nil, fmt.Errorf("%v (or use one of the function kinds: %s)", err, strings.Join(Kinds(), ", "))
	}
	switch spec.Results {
	case "", ResultsAll, ResultsWarnings:
	default:
		return nil, fmt.Errorf("functionConfig %s/%s: spec.results: %q is not %q or %q", Kind, config.GetName(), spec.Results, ResultsAll, ResultsWarnings)
	}
	if spec.Results == ResultsWarnings {
		defer dropInfos(res)
	}
	if len(spec.Functions) == 0 {
		return nil, fmt.Errorf("functionConfig %s/%s: spec.functions: empty", Kind, config.GetName())
	}
	for i, c := range spec.Functions {
		t, ok := registry[c.Kind]
		if !ok {
			return nil, fmt.Errorf("functionConfig %s/%s: spec.functions[%d].kind: unknown function %q (known: %s)", Kind, config.GetName(), i, c.Kind, strings.Join(Kinds(), ", "))
		}
		sub, err := subConfig(c, config.GetName(), i)
		if err != nil {
			return nil, err
		}
		before := len(res.Results)
		out, err := t(items, sub, res)
		for _, r := range res.Results[before:] {
			r.Message = c.Kind + ": " + r.Message
		}
		if err != nil {
			return nil, fmt.Errorf("%s (spec.functions[%d]): %w", c.Kind, i, err)
		}
		if res.Failed() {
			return items, nil
		}
		items = out
	}
	if !spec.KeepStateMarkers {
		if err := stripStateMarkers(items); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// Values of Spec.Results.
const (
	ResultsAll      = "all"
	ResultsWarnings = "warnings"
)

// dropInfos keeps only warnings and errors.
func dropInfos(res *krm.Results) {
	kept := res.Results[:0]
	for _, r := range res.Results {
		if r.Severity != fn.Info {
			kept = append(kept, r)
		}
	}
	res.Results = kept
}

// stripStateMarkers removes the revshift.dev/state annotations. The model
// knows which objects carry one, so only those are materialized.
func stripStateMarkers(items []*mesh.Item) error {
	for _, it := range items {
		if !it.HasAnnotation(mesh.AnnotationState) {
			continue
		}
		if err := it.RemoveAnnotation(mesh.AnnotationState); err != nil {
			return err
		}
	}
	return nil
}

// NewConfig is the Step functionConfig of the given name, annotations and
// spec. Its mappings are written in key order, as those of a Step read
// back and written again are.
func NewConfig(name string, annotations map[string]string, spec Spec) (*yaml.RNode, error) {
	data, err := yaml.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	meta := map[string]any{"name": name}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	return yaml.FromMap(map[string]any{
		"apiVersion": krm.APIVersion,
		"kind":       Kind,
		"metadata":   meta,
		"spec":       m,
	})
}

// subConfig builds the function's own functionConfig from a Call.
func subConfig(c Call, step string, i int) (*yaml.RNode, error) {
	name := c.Name
	if name == "" {
		name = fmt.Sprintf("%s-%d", step, i)
	}
	m := map[string]any{
		"apiVersion": krm.APIVersion,
		"kind":       c.Kind,
		"metadata":   map[string]any{"name": name},
	}
	if c.Spec != nil {
		m["spec"] = c.Spec
	}
	return yaml.FromMap(m)
}
