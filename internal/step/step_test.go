package step

import (
	"fmt"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Two test functions: one labels every item with its spec.value, one
// appends a ConfigMap recording how many items it saw.
type labelSpec struct {
	Value string `yaml:"value"`
}

func labelAll(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	var s labelSpec
	if err := krm.DecodeConfig(config, "TestLabel", &s); err != nil {
		return nil, err
	}
	if s.Value == "fail" {
		res.Errorf(nil, "asked to fail")
		return items, nil
	}
	for _, it := range items {
		if err := it.Node().PipeE(yaml.SetLabel("step", s.Value)); err != nil {
			return nil, err
		}
	}
	res.Infof(nil, "labelled %d", len(items))
	return items, nil
}

func count(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	if err := krm.DecodeConfig(config, "TestCount", &struct{}{}); err != nil {
		return nil, err
	}
	n, err := yaml.Parse(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: count-%d\ndata:\n  n: %q\n", len(items), fmt.Sprint(len(items))))
	if err != nil {
		return nil, err
	}
	return append(items, mesh.NewItem(n)), nil
}

func init() {
	Register(Function{Kind: "TestLabel", Transform: labelAll}, Function{Kind: "TestCount", Transform: count})
}

const input = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"

func run(t *testing.T, config string) krmtest.Output {
	t.Helper()
	return krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, krmtest.ParseYAML(t, []byte(input)), yaml.MustParse(config)))
}

func TestChainRunsInOrder(t *testing.T) {
	out := run(t, `apiVersion: revshift.dev/v1alpha1
kind: Step
metadata: {name: s}
spec:
  functions:
  - kind: TestCount
  - kind: TestLabel
    spec: {value: two}
`)
	require.True(t, out.OK, "%v", out.Results)
	require.Len(t, out.Items, 2, "TestCount added one item")
	assert.Equal(t, "count-1", out.Items[1].GetName(), "TestCount ran first, on the input")
	for _, n := range out.Items {
		assert.Equal(t, "two", n.GetLabels()["step"], "TestLabel ran second, on TestCount's output")
	}
	require.Len(t, out.Results, 1)
	assert.Equal(t, "TestLabel: labelled 2", out.Results[0].Message)
}

// A function may mark objects revshift.dev/state: old for the next one; the
// step strips the marker before output unless asked to keep it.
func TestStepStripsStateMarkers(t *testing.T) {
	Register(Function{Kind: "TestMarkOld", Transform: func(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
		for _, it := range items {
			if err := it.Node().PipeE(yaml.SetAnnotation("revshift.dev/state", "old")); err != nil {
				return nil, err
			}
		}
		return items, nil
	}})
	out := run(t, "apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  functions: [{kind: TestMarkOld}]\n")
	require.True(t, out.OK)
	assert.Empty(t, out.Items[0].GetAnnotations())
	assert.NotContains(t, out.Items[0].MustString(), "annotations")
	kept := run(t, "apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  keepStateMarkers: true\n  functions: [{kind: TestMarkOld}]\n")
	assert.Equal(t, "old", kept.Items[0].GetAnnotations()["revshift.dev/state"])
}

// spec.results: warnings keeps warnings and errors and drops the infos
// (kustomize parses and discards a successful function's results).
func TestStepResultsWarnings(t *testing.T) {
	Register(Function{Kind: "TestWarn", Transform: func(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
		res.Infof(nil, "an info")
		res.Warnf(nil, "a warning")
		return items, nil
	}})
	for results, want := range map[string][]string{
		"all":      {"TestWarn: an info", "TestWarn: a warning"},
		"warnings": {"TestWarn: a warning"},
	} {
		out := run(t, "apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  results: "+results+"\n  functions: [{kind: TestWarn}]\n")
		require.True(t, out.OK)
		var got []string
		for _, r := range out.Results {
			got = append(got, r.Message)
		}
		assert.Equal(t, want, got, results)
	}
}

func TestSingleFunctionConfig(t *testing.T) {
	out := run(t, "apiVersion: revshift.dev/v1alpha1\nkind: TestLabel\nmetadata: {name: x}\nspec: {value: solo}\n")
	require.True(t, out.OK)
	assert.Equal(t, "solo", out.Items[0].GetLabels()["step"])
}

func TestChainErrors(t *testing.T) {
	cases := []struct{ name, config, want string }{
		{"unknown function", "apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  functions: [{kind: Nope}]\n", `spec.functions[0].kind: unknown function "Nope"`},
		{"empty", "apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec: {functions: []}\n", "spec.functions: empty"},
		{"bad sub spec", "apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  functions: [{kind: TestLabel, spec: {valu: x}}]\n", `TestLabel (spec.functions[0]): functionConfig TestLabel/s-0: unknown field "valu"`},
		{"wrong kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "expected apiVersion revshift.dev/v1alpha1, kind Step"},
		{"bad results", "apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  results: some\n  functions: [{kind: TestCount}]\n", `spec.results: "some" is not "all" or "warnings"`},
		{"failing function stops the chain", "apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  functions: [{kind: TestLabel, spec: {value: fail}}, {kind: TestCount}]\n", "TestLabel: asked to fail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := run(t, c.config)
			require.False(t, out.OK)
			var msgs []string
			for _, r := range out.Results {
				msgs = append(msgs, r.Message)
			}
			assert.Contains(t, strings.Join(msgs, "\n"), c.want)
			assert.Len(t, out.Items, 1, "a failed step returns the input unchanged")
		})
	}
}
