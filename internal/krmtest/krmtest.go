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

// ItemsYAML serializes items as a YAML stream.
func ItemsYAML(t testing.TB, items []*yaml.RNode) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := (&kio.ByteWriter{Writer: &buf}).Write(items); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
