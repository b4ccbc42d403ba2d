package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Without revshift-rehearse beside revshift or on PATH, rehearse says how to
// build it and exits 2.
func TestRehearseWithoutHarness(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out, errb bytes.Buffer
	code := Rehearse([]string{"plan/"}, nil, &out, &errb)
	require.Equal(t, 2, code)
	require.Contains(t, errb.String(), "make rehearse")
	require.Empty(t, out.String())
}

// The harness gets the arguments and the standard streams, and its exit
// status is rehearse's.
func TestRehearseRunsHarness(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"args: $*\"\necho oops >&2\nexit 3\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, RehearseBinary), []byte(script), 0o755))
	t.Setenv("PATH", dir)
	var out, errb bytes.Buffer
	code := Rehearse([]string{"--applier", "kubectl", "plan/"}, nil, &out, &errb)
	require.Equal(t, 3, code)
	require.Equal(t, "args: --applier kubectl plan/\n", out.String())
	require.Equal(t, "oops\n", errb.String())
}
