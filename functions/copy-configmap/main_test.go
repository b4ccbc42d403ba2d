package main

import (
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The program end to end, as kustomize and kpt run it: the seed's 1.6.14
// renders on stdin, no functionConfig; exactly one ConfigMap added; a second
// run on the output adds nothing; bad input exits non-zero with the reason
// on stderr.
func TestProgram(t *testing.T) {
	items := krmtest.Render(t, "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml")
	run := krmtest.Program(t, "copy-configmap")
	first, stderr, err := run(krmtest.ResourceList(t, items, nil))
	require.NoError(t, err, stderr)
	rl, err := krm.Parse(first)
	require.NoError(t, err)
	require.Len(t, rl.Items, len(items)+1)
	var added []string
	for _, it := range rl.Items {
		if it.GetKind() == "ConfigMap" && it.GetNamespace() == "default" {
			added = append(added, it.GetName())
		}
	}
	assert.Equal(t, []string{"istio-1-6-14"}, added)

	second, stderr, err := run(first)
	require.NoError(t, err, stderr)
	rl2, err := krm.Parse(second)
	require.NoError(t, err)
	assert.Len(t, rl2.Items, len(rl.Items), "a second run adds nothing")

	_, stderr, err = run([]byte("kind: ResourceList\nitems: 3\n"))
	require.Error(t, err)
	assert.Contains(t, stderr, "items: expected a list")
	assert.True(t, strings.HasPrefix(stderr, "copy-configmap: "), stderr)
}
