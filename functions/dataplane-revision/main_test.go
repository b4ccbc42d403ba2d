package main

import (
	"os"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The program end to end, as kustomize and kpt run it: a golden input on
// stdin; the namespaces relabelled; a second run on the output changes
// nothing; an unresolvable revision exits non-zero with the reason on
// stderr.
func TestProgram(t *testing.T) {
	run := krmtest.Program(t, "dataplane-revision")

	items, err := os.ReadFile("dataplanerevision/testdata/seed-shaped/input.yaml")
	require.NoError(t, err)
	input := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
	for _, doc := range strings.Split(string(items), "\n---\n") {
		input += "- " + strings.ReplaceAll(strings.TrimSpace(doc), "\n", "\n  ") + "\n"
	}
	first, stderr, err := run([]byte(input))
	require.NoError(t, err, stderr)
	assert.Empty(t, stderr, "no warnings on the seed-shaped input")
	rl, err := krm.Parse(first)
	require.NoError(t, err)
	labels := map[string]map[string]string{}
	for _, it := range rl.Items {
		if it.GetKind() == "Namespace" {
			labels[it.GetName()] = it.GetLabels()
		}
	}
	assert.Equal(t, map[string]string{"istio.io/rev": "1-6-14"}, labels["default"])
	assert.Equal(t, map[string]string{"team": "shop", "env": "prod", "istio.io/rev": "1-6-14"}, labels["shop"])
	assert.Equal(t, "disabled", labels["istio-system"]["istio-injection"])

	second, stderr, err := run(first)
	require.NoError(t, err, stderr)
	rl2, err := krm.Parse(second)
	require.NoError(t, err)
	a, _ := krm.Serialize(rl)
	rl2.Results = rl.Results
	b, _ := krm.Serialize(rl2)
	assert.Equal(t, string(a), string(b), "a second run changes nothing")

	_, stderr, err = run([]byte("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: apps, labels: {istio-injection: enabled}}}\n"))
	require.Error(t, err)
	assert.Contains(t, stderr, "dataplane-revision: ")
	assert.Contains(t, stderr, "cannot infer the target revision")
}
