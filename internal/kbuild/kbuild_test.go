package kbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The in-process build of an example equals the real kustomize binary's
// output committed beside it, exec function included.
func TestBuildMatchesKustomizeBinary(t *testing.T) {
	bin := t.TempDir()
	out, err := exec.Command("go", "build", "-o", bin+"/", "../../functions/copy-configmap").CombinedOutput()
	require.NoError(t, err, "%s", out)

	dir := "../../kustomization-examples/1.5-to-1.6/02-gateway-config"
	got, err := BuildYAML(dir, bin)
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(dir, "expected.yaml"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	nodes, err := Build(dir, bin)
	require.NoError(t, err)
	assert.Len(t, nodes, 5, "istiod, its Service, the ConfigMap, the gateway, and the copy")
}

func TestBuildErrors(t *testing.T) {
	_, err := Build(t.TempDir())
	require.ErrorContains(t, err, "no kustomization.yaml")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [missing.yaml]\n"), 0o644))
	_, err = Build(dir)
	require.ErrorContains(t, err, "kustomize build")
}
