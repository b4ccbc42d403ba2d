// Package krmtest runs revshift functions in tests: golden cases (input and
// expected output side by side, as kustomize's filter tests do), the real
// istioctl renders in ../shared and the real Helm renders in
// testdata/helm-renders, and the properties every function keeps
// (idempotence, determinism, passthrough).
package krmtest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Update rewrites golden files. Review every changed golden file before
// committing it: `go test ./... -update` then `git diff`.
var Update = flag.Bool("update", false, "rewrite golden expected files")

// ParseYAML reads a multi-document YAML stream into nodes, skipping empty
// documents (istioctl separates disabled components with comment-only
// documents).
func ParseYAML(t testing.TB, data []byte) []*yaml.RNode {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(data), OmitReaderAnnotations: true}).Read()
	if err != nil {
		t.Fatalf("parse YAML: %v", err)
	}
	return nodes
}

// ReadYAMLFiles parses and concatenates files.
func ReadYAMLFiles(t testing.TB, paths ...string) []*yaml.RNode {
	t.Helper()
	var out []*yaml.RNode
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ParseYAML(t, data)...)
	}
	return out
}

// ResourceList serializes nodes (and an optional functionConfig) as a KRM
// ResourceList.
func ResourceList(t testing.TB, items []*yaml.RNode, config *yaml.RNode) []byte {
	t.Helper()
	out, err := krm.WriteResourceList(items, config, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Output is the result of one run.
type Output struct {
	Raw     []byte
	Items   []*yaml.RNode
	Results fn.Results
	OK      bool
}

// Run runs the processor on a serialized ResourceList.
func Run(t testing.TB, p fn.ResourceListProcessor, input []byte) Output {
	t.Helper()
	raw, results, ok := krm.Run(p, input)
	o := Output{Raw: raw, Results: results, OK: ok}
	rl, err := krm.Parse(raw)
	if err != nil {
		t.Fatalf("output is not a ResourceList: %v\n%s", err, raw)
	}
	for _, it := range rl.Items {
		o.Items = append(o.Items, it.MoveToResourceNode())
	}
	return o
}

// RunTwice runs p on the items and config and requires success, then runs
// it again on its own output and requires success and the same items: a
// function is idempotent. It returns the first run's output.
func RunTwice(t testing.TB, p fn.ResourceListProcessor, items []*yaml.RNode, config *yaml.RNode) Output {
	t.Helper()
	out := Run(t, p, ResourceList(t, items, config))
	if !out.OK {
		t.Fatalf("the function failed: %v", out.Results)
	}
	again := Run(t, p, ResourceList(t, out.Items, config))
	if !again.OK {
		t.Fatalf("the second run, on the first run's output, failed: %v", again.Results)
	}
	if a, b := string(ItemsYAML(t, out.Items)), string(ItemsYAML(t, again.Items)); a != b {
		t.Fatalf("the second run, on the first run's output, changed the items:\n%s", diff(a, b))
	}
	return out
}

// Find returns the item with kind, namespace and name, or nil.
func Find(items []*yaml.RNode, kind, namespace, name string) *yaml.RNode {
	for _, n := range items {
		if n.GetKind() == kind && n.GetNamespace() == namespace && n.GetName() == name {
			return n
		}
	}
	return nil
}

// RunGolden runs every case directory under dir. A case holds input.yaml
// (the items), optionally config.yaml (the functionConfig), and
// expected.yaml: the whole output ResourceList, items and results. A
// successful case is also run a second time on its own output, which must
// come back byte-identical (idempotence).
func RunGolden(t *testing.T, dir string, p fn.ResourceListProcessor) {
	t.Helper()
	cases, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		n++
		caseDir := filepath.Join(dir, c.Name())
		t.Run(c.Name(), func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(caseDir, "input.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var config *yaml.RNode
			if data, err := os.ReadFile(filepath.Join(caseDir, "config.yaml")); err == nil {
				config = yaml.MustParse(string(data))
			}
			input := ResourceList(t, ParseYAML(t, in), config)
			out := Run(t, p, input)
			CompareGolden(t, filepath.Join(caseDir, "expected.yaml"), out.Raw)
			// Map iteration order changes from run to run: a function that
			// ranges over a map shows it within a few runs.
			for i := 0; i < 10; i++ {
				if again := Run(t, p, input); !bytes.Equal(out.Raw, again.Raw) {
					t.Fatalf("not deterministic: two runs on the same input differ:\n%s", diff(string(out.Raw), string(again.Raw)))
				}
			}
			if out.OK {
				second := Run(t, p, ResourceList(t, out.Items, config))
				if !second.OK {
					t.Fatalf("second run failed: %v", second.Results)
				}
				if a, b := ItemsYAML(t, out.Items), ItemsYAML(t, second.Items); !bytes.Equal(a, b) {
					t.Errorf("not idempotent: a second run changed the items:\n%s", diff(string(a), string(b)))
				}
			}
		})
	}
	if n == 0 {
		t.Fatalf("no golden cases under %s", dir)
	}
}

// ItemsYAML serializes items as a YAML stream.
func ItemsYAML(t testing.TB, items []*yaml.RNode) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := (&kio.ByteWriter{Writer: &buf}).Write(items); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CompareGolden compares got with the file, or rewrites it under -update.
func CompareGolden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it, then review it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("output differs from %s (run with -update, then review the diff):\n%s", path, diff(string(want), string(got)))
	}
}

// diff is a small line diff for failure messages.
func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out.WriteString("line " + itoa(i+1) + ":\n- " + x + "\n+ " + y + "\n")
			if out.Len() > 4000 {
				break
			}
		}
	}
	return out.String()
}

func itoa(i int) string {
	var b [20]byte
	p := len(b)
	for {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(b[p:])
}

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
