package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/meshgen"
	"github.com/revshift/revshift/internal/step"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The bad-input corpus: testdata/bad-inputs/<case>/input.yaml is fed to
// `revshift fn` (its functionConfig picks the function); every line of
// want.txt must appear in an error result and on stderr, and the exit code
// is non-zero.
func TestBadInputCorpus(t *testing.T) {
	dir := "testdata/bad-inputs"
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	var cases []krmtest.BadInput
	for _, e := range entries {
		in, err := os.ReadFile(filepath.Join(dir, e.Name(), "input.yaml"))
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(dir, e.Name(), "want.txt"))
		require.NoError(t, err)
		cases = append(cases, krmtest.BadInput{Name: e.Name(), Input: string(in), Want: strings.Split(strings.TrimSpace(string(want)), "\n")})
	}
	krmtest.CheckBadInputs(t, "revshift", krm.Processor(step.Transform), cases)
}

// A ResourceList of about 50 MB is handled: the function succeeds and adds
// its copies. (Its peak memory is measured by BenchmarkPeakMemory, not
// here: speed and memory goals are benchmarks, not tests.)
func TestLargeInput(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB input: skipped with -short")
	}
	nodes := krmtest.ParseYAML(t, []byte(meshgen.YAML(meshgen.Options{Objects: 170000, Revision: "1-6-14", GatewayConfigMap: true})))
	cfg := yaml.MustParse("apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  functions: [{kind: CopyConfigMap}]\n")
	input := krmtest.ResourceList(t, nodes, cfg)
	require.Greater(t, len(input), 45<<20, "the input is about 50 MB")
	var stdout, stderr bytes.Buffer
	code := krm.MainIO("revshift", krm.Processor(step.Transform), bytes.NewReader(input), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Equal(t, len(nodes)/13, strings.Count(stdout.String(), "revshift.dev/copied-from: istio-system/istio-1-6-14"), "one copy per gateway namespace")
}
