package krm

import (
	"bytes"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The results builder writes exactly what reflection-based encoding of the
// SDK's structs writes.
func TestResultsNodeMatchesEncode(t *testing.T) {
	strs := []string{"plain message", "", "true", "yes", "No", "on", "1", "1.5", "0x1F", "1:20", "-1:30:00.5", "null", "~",
		"a: b", "- dash", "# hash", "multi\nline\n", "trailing space ", " leading", "'quoted'", "\"dq\"", "ü unicode", "{flow}", "[x]",
		"key: value\nsecond", "@at", "`tick", "%pct", "*star", "&amp", "!bang", "|pipe", ">gt", "a #b", "tab\there", "1e3", ".inf", "Null"}
	var rs fn.Results
	for i, s := range strs {
		rs = append(rs, &fn.Result{Message: s, Severity: fn.Info})
		rs = append(rs, &fn.Result{Message: "m", Severity: fn.Warning, ResourceRef: &fn.ResourceRef{APIVersion: s, Kind: strs[(i+1)%len(strs)], Name: s, Namespace: strs[(i+2)%len(strs)]}})
	}
	// The builder's own output against reflection-based encoding.
	got, err := resultsNode(rs)
	require.NoError(t, err)
	want, err := encodeResults(rs)
	require.NoError(t, err)
	assert.Equal(t, encoded(t, want), encoded(t, got))

	// A result with a field sends the whole list through the fallback; its
	// output is the same list followed by the entry below, written by hand.
	withField := append(rs[:len(rs):len(rs)], &fn.Result{Message: "with a field", Severity: fn.Error, Field: &fn.Field{Path: "spec"}})
	got, err = resultsNode(withField)
	require.NoError(t, err)
	tail := "- message: with a field\n  severity: error\n  field:\n    path: spec\n"
	assert.Equal(t, encoded(t, want)+tail, encoded(t, got))
}

func encoded(t *testing.T, n *yaml.Node) string {
	var b bytes.Buffer
	require.NoError(t, mesh.EncodeNode(&b, n))
	return b.String()
}
