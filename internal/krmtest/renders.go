package krmtest

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The reference data: real istioctl renders beside the repository, real
// Helm renders inside it.

// SharedDir returns ../shared/istio-renders relative to the repository root
// (or $REVSHIFT_RENDERS), skipping the test with a clear message when it is
// absent, as on a user's clone. It fails instead where the renders must be
// there: in CI (CI set, as CI runners set it), or when $REVSHIFT_RENDERS
// names a folder that does not exist; the conformance tests are the ones
// that judge planned states by the real renders, and a skip would pass
// them unseen.
func SharedDir(t testing.TB) string {
	t.Helper()
	if d := sharedDirNoSkip(); d != "" {
		return d
	}
	const where = "real istioctl renders not found in ../shared/istio-renders beside the repository (set REVSHIFT_RENDERS to point elsewhere)"
	if d := os.Getenv("REVSHIFT_RENDERS"); d != "" {
		t.Fatalf("conformance: REVSHIFT_RENDERS=%s does not exist", d)
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("conformance: %s; CI must run them", where)
	}
	t.Skip("conformance: " + where)
	return ""
}

// SharedDirOrEmpty returns the renders' folder, or "" when absent.
func SharedDirOrEmpty() string { return sharedDirNoSkip() }

// sharedDirNoSkip finds the renders, or returns "".
func sharedDirNoSkip() string {
	if d := os.Getenv("REVSHIFT_RENDERS"); d != "" {
		if _, err := os.Stat(d); err != nil {
			return ""
		}
		return d
	}
	root := repoRoot()
	if root == "" {
		return ""
	}
	r := filepath.Join(filepath.Dir(root), "shared", "istio-renders")
	if _, err := os.Stat(r); err != nil {
		return ""
	}
	return r
}

// HelmDir is testdata/helm-renders of the repository: real helm template
// renders of Istio's charts, committed because no module the Go proxy
// serves holds the 1.29 charts, so CI could not render them (its README
// says how each file was made).
func HelmDir(t testing.TB) string {
	t.Helper()
	root := repoRoot()
	if root == "" {
		t.Fatal("helm renders: no go.mod above the working directory")
	}
	return filepath.Join(root, "testdata", "helm-renders")
}

// HelmRender reads render files relative to HelmDir.
func HelmRender(t testing.TB, rel ...string) []*yaml.RNode {
	t.Helper()
	return readUnder(t, HelmDir(t), rel)
}

// Render reads render files relative to SharedDir.
func Render(t testing.TB, rel ...string) []*yaml.RNode {
	t.Helper()
	return readUnder(t, SharedDir(t), rel)
}

// readUnder reads the files rel under dir.
func readUnder(t testing.TB, dir string, rel []string) []*yaml.RNode {
	t.Helper()
	paths := make([]string, len(rel))
	for i, r := range rel {
		paths[i] = filepath.Join(dir, r)
	}
	return ReadYAMLFiles(t, paths...)
}
