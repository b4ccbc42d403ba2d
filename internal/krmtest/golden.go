package krmtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Golden cases: a directory a case, input and expected output side by side.

// RunGolden runs every case directory under dir. A case holds input.yaml
// (the items), optionally config.yaml (the functionConfig), and
// expected.yaml: the whole output ResourceList, items and results. A
// successful case is also run a second time on its own output, which must
// come back byte-identical (idempotence).
func RunGolden(t *testing.T, dir string, p fn.ResourceListProcessor) {
	t.Helper()
	for _, caseDir := range caseDirs(t, dir) {
		t.Run(filepath.Base(caseDir), func(t *testing.T) {
			items, config := readCase(t, caseDir)
			input := ResourceList(t, items, config)
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
}

// FuzzSeeds adds every golden input under dir (with its config, if any) and
// the common bad inputs to the fuzz corpus.
func FuzzSeeds(f *testing.F, dir, kind string) {
	for _, caseDir := range caseDirs(f, dir) {
		items, config := readCase(f, caseDir)
		f.Add(ResourceList(f, items, config))
	}
	for _, c := range CommonBadInputs(kind) {
		f.Add([]byte(c.Input))
	}
}

// caseDirs returns the golden case directories under dir; none is an
// error, as a mistyped dir would otherwise test nothing.
func caseDirs(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no golden cases under %s", dir)
	}
	return out
}

// readCase reads a golden case: its input items and its functionConfig
// (nil without config.yaml).
func readCase(t testing.TB, caseDir string) (items []*yaml.RNode, config *yaml.RNode) {
	t.Helper()
	in, err := os.ReadFile(filepath.Join(caseDir, "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(caseDir, "config.yaml"))
	switch {
	case err == nil:
		config, err = yaml.Parse(string(data))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Join(caseDir, "config.yaml"), err)
		}
	case !os.IsNotExist(err):
		t.Fatal(err)
	}
	return ParseYAML(t, in), config
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
			out.WriteString("line " + strconv.Itoa(i+1) + ":\n- " + x + "\n+ " + y + "\n")
			if out.Len() > 4000 {
				break
			}
		}
	}
	return out.String()
}
