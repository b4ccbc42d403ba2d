package krm

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// MainIO gives the same output whether stdin is a pipe-like reader or a
// file (read in one allocation of the file's size), and passes untouched
// items through byte for byte.
func TestMainIOFileAndReader(t *testing.T) {
	label := Processor(func(items []*mesh.Item, _ *yaml.RNode, res *Results) ([]*mesh.Item, error) {
		res.Infof(nil, "seen %d", len(items))
		return items, items[0].SetAnnotation("revshift.dev/seen", "yes")
	})
	path := filepath.Join(t.TempDir(), "in.yaml")
	require.NoError(t, os.WriteFile(path, []byte(kustomizeLayout), 0o644))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var fromFile, fromReader, stderr bytes.Buffer
	require.Equal(t, 0, MainIO("t", label, f, &fromFile, &stderr), stderr.String())
	require.Equal(t, 0, MainIO("t", label, bytes.NewReader([]byte(kustomizeLayout)), &fromReader, &stderr), stderr.String())
	assert.Equal(t, fromReader.String(), fromFile.String())
	assert.Contains(t, fromFile.String(), "revshift.dev/seen: 'yes'")
	assert.Contains(t, fromFile.String(), "      - not an entry\n      # not a comment\n", "untouched text kept")
	assert.Contains(t, fromFile.String(), "message: seen 3")
}
