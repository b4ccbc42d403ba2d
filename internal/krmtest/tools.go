package krmtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Program builds the function program in the current package (go build .)
// and returns a runner: ResourceList on stdin, stdout, stderr, exit error.
func Program(t testing.TB, name string) func(input []byte) ([]byte, string, error) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return func(input []byte) ([]byte, string, error) {
		cmd := exec.Command(bin)
		cmd.Stdin = bytes.NewReader(input)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.Bytes(), stderr.String(), err
	}
}

// KustomizeBin finds the kustomize that `make tools` installs (bin/ at the
// repository root), else one on PATH; the test skips without one.
func KustomizeBin(t testing.TB) string {
	t.Helper()
	if root := repoRoot(); root != "" {
		p := filepath.Join(root, "bin", "kustomize")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("kustomize"); err == nil {
		return p
	}
	t.Skip("kustomize not found: run `make tools`")
	return ""
}

// repoRoot is the folder of go.mod above the working directory, or "".
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
