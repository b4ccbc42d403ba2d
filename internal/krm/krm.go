// Package krm is the thin layer between revshift's transforms and the KRM
// function protocol: it turns a Transform into a KRM SDK
// ResourceListProcessor, decodes typed functionConfigs strictly, and runs a
// function as a program that reports every error both as a result and on
// stderr (kustomize drops results when a function fails).
package krm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// APIVersion is the apiVersion of every revshift functionConfig.
const APIVersion = "revshift.dev/v1alpha1"

// Transform is a revshift function: it reads the items and the raw
// functionConfig (nil when none was given) and returns the new items. It
// reports decisions and problems through res; an error-severity result
// fails the function. A returned error is also a failure.
type Transform func(items []*yaml.RNode, config *yaml.RNode, res *Results) ([]*yaml.RNode, error)

// Results collects a function's results.
type Results struct{ fn.Results }

func ref(o *mesh.Object) *fn.ResourceRef {
	if o == nil {
		return nil
	}
	return &fn.ResourceRef{APIVersion: o.APIVersion, Kind: o.ID.Kind, Namespace: o.ID.Namespace, Name: o.ID.Name}
}

func (r *Results) add(sev fn.Severity, o *mesh.Object, format string, args ...any) {
	r.Results = append(r.Results, &fn.Result{Severity: sev, Message: fmt.Sprintf(format, args...), ResourceRef: ref(o)})
}

// Infof records a decision about o (o may be nil).
func (r *Results) Infof(o *mesh.Object, format string, args ...any) {
	r.add(fn.Info, o, format, args...)
}

// Warnf records a problem the function worked around.
func (r *Results) Warnf(o *mesh.Object, format string, args ...any) {
	r.add(fn.Warning, o, format, args...)
}

// Errorf records a failure; the function exits non-zero.
func (r *Results) Errorf(o *mesh.Object, format string, args ...any) {
	r.add(fn.Error, o, format, args...)
}

// Failed reports whether an error result was recorded.
func (r *Results) Failed() bool {
	for _, x := range r.Results {
		if x.Severity == fn.Error {
			return true
		}
	}
	return false
}

// Processor adapts a Transform to the KRM SDK. Items are handed over without
// copying; on failure the input items are returned untouched.
func Processor(t Transform) fn.ResourceListProcessorFunc {
	return func(rl *fn.ResourceList) (bool, error) {
		items := make([]*yaml.RNode, len(rl.Items))
		for i, it := range rl.Items {
			items[i] = it.MoveToResourceNode()
		}
		var config *yaml.RNode
		if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
			config = rl.FunctionConfig.CopyToResourceNode()
		}
		res := &Results{}
		out, err := safeRun(t, items, config, res)
		if err != nil {
			res.Errorf(nil, "%v", err)
		}
		if res.Failed() {
			out = items
		}
		rl.Items = fn.MoveToKubeObjects(out)
		rl.Results = append(rl.Results, res.Results...)
		return !res.Failed(), nil
	}
}

// safeRun turns a panic in a transform into an error: a bad input must never
// crash a pipeline without saying why.
func safeRun(t Transform, items []*yaml.RNode, config *yaml.RNode, res *Results) (out []*yaml.RNode, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (please report): %v", p)
		}
	}()
	return t(items, config, res)
}

// Run executes a processor on a serialized ResourceList, as the SDK's fn.Run
// does, but never returns an empty output: input that cannot be parsed gives
// a ResourceList that carries the error as a result.
func Run(p fn.ResourceListProcessor, input []byte) ([]byte, fn.Results, bool) {
	rl, err := Parse(input)
	if err != nil {
		rl = &fn.ResourceList{FunctionConfig: fn.NewEmptyKubeObject()}
		rl.Results = append(rl.Results, &fn.Result{Severity: fn.Error, Message: "invalid input ResourceList: " + err.Error()})
		out, _ := rl.ToYAML()
		return out, rl.Results, false
	}
	before := len(rl.Results)
	ok, err := p.Process(rl)
	if err != nil {
		rl.Results = append(rl.Results, fn.ErrorResult(err))
		ok = false
	}
	out, err := Serialize(rl)
	if err != nil {
		rl.Results = append(rl.Results, &fn.Result{Severity: fn.Error, Message: "cannot serialize output: " + err.Error()})
		ok = false
		out, _ = rl.ToYAML()
	}
	return out, rl.Results[before:], ok
}

// Serialize writes a ResourceList keeping the items in their order (the
// SDK's ToYAML sorts them, which would reorder the user's files) and exactly
// as they are: unlike kio.ByteWriter it neither copies the items nor clears
// their empty annotations, so objects a function does not own come out
// byte-identical.
func Serialize(rl *fn.ResourceList) ([]byte, error) {
	items := make([]*yaml.RNode, len(rl.Items))
	for i, it := range rl.Items {
		items[i] = it.MoveToResourceNode()
	}
	defer func() { rl.Items = fn.MoveToKubeObjects(items) }()
	var config, results *yaml.RNode
	if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
		config = rl.FunctionConfig.CopyToResourceNode()
	}
	if len(rl.Results) > 0 {
		// Encoded straight into a node: a function may report a result per
		// object, and a text round trip doubled the serialization time.
		var n yaml.Node
		if err := n.Encode(rl.Results); err != nil {
			return nil, err
		}
		results = yaml.NewRNode(&n)
	}
	return WriteResourceList(items, config, results)
}

// WriteResourceList encodes items, functionConfig and results as a
// ResourceList, without touching the nodes. Each item is encoded on its own
// and indented as a list entry: the output is what encoding the whole list
// at once gives, but the YAML emitter never holds more than one item (on a
// 40 MB input, encoding the list whole took most of the run time and memory
// in the emitter's growing buffer).
func WriteResourceList(items []*yaml.RNode, config, results *yaml.RNode) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("apiVersion: " + kio.ResourceListAPIVersion + "\nkind: " + kio.ResourceListKind + "\n")
	if len(items) == 0 {
		buf.WriteString("items: []\n")
	} else {
		buf.WriteString("items:\n")
	}
	var one bytes.Buffer
	for _, n := range items {
		one.Reset()
		if err := encode(&one, n.YNode()); err != nil {
			return nil, err
		}
		indentEntry(&buf, one.Bytes())
	}
	for _, f := range []struct {
		key  string
		node *yaml.RNode
	}{{"functionConfig", config}, {"results", results}} {
		if f.node == nil {
			continue
		}
		one.Reset()
		m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: f.key}, f.node.YNode()}}
		if err := encode(&one, m); err != nil {
			return nil, err
		}
		buf.Write(one.Bytes())
	}
	return buf.Bytes(), nil
}

func encode(w *bytes.Buffer, n *yaml.Node) error {
	enc := yaml.NewEncoder(w)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}}); err != nil {
		return err
	}
	return enc.Close()
}

// indentEntry writes an encoded object as a compact block-sequence entry:
// "- " before the first line, two spaces before the others (empty lines stay
// empty, as the emitter writes them inside block scalars).
func indentEntry(w *bytes.Buffer, doc []byte) {
	first := true
	for len(doc) > 0 {
		i := bytes.IndexByte(doc, '\n')
		line := doc
		if i >= 0 {
			line, doc = doc[:i], doc[i+1:]
		} else {
			doc = nil
		}
		switch {
		case first:
			w.WriteString("- ")
			first = false
		case len(line) > 0:
			w.WriteString("  ")
		}
		w.Write(line)
		w.WriteByte('\n')
	}
}

// Main runs a function as a program: ResourceList on stdin, ResourceList on
// stdout, warnings and errors on stderr, exit code 1 on failure.
func Main(name string, p fn.ResourceListProcessor) {
	os.Exit(MainIO(name, p, os.Stdin, os.Stdout, os.Stderr))
}

// largeInput is the input size above which MainIO trades time for memory.
const largeInput = 8 << 20

// MainIO is Main with explicit streams; it returns the exit code.
func MainIO(name string, p fn.ResourceListProcessor, stdin io.Reader, stdout, stderr io.Writer) int {
	in, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "%s: reading stdin: %v\n", name, err)
		return 1
	}
	if len(in) > largeInput && os.Getenv("GOGC") == "" {
		// A parsed object takes about 20 times its text. With Go's default
		// (GOGC=100) the heap may grow to twice what is live before a
		// collection; on a large input that doubling is gigabytes, the
		// difference between fitting in an Argo CD repo-server's memory
		// limit or not. Collect more often instead (measured on a 50 MB
		// input: peak RSS 63x -> 41x the input, for about 1.5x the time).
		debug.SetGCPercent(25)
	}
	out, results, ok := Run(p, in)
	_, _ = stdout.Write(out)
	var buf bytes.Buffer
	for _, r := range results {
		if r.Severity == fn.Error || r.Severity == fn.Warning {
			fmt.Fprintf(&buf, "%s: %s\n", name, strings.TrimSpace(r.String()))
		}
	}
	_, _ = stderr.Write(buf.Bytes())
	if !ok {
		return 1
	}
	return 0
}

// Parse reads a ResourceList. Unlike the SDK's parser it rejects, with an
// error instead of a panic, YAML aliases (an alias bomb expands to
// gigabytes; kustomize and kpt never emit aliases), items that are not a
// list of mappings, and a functionConfig that is not a mapping.
func Parse(input []byte) (rl *fn.ResourceList, err error) {
	defer func() {
		if p := recover(); p != nil {
			rl, err = nil, fmt.Errorf("unreadable input: %v", p)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(input))
	var first yaml.Node
	if err := dec.Decode(&first); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("empty input: expected a ResourceList")
		}
		return nil, err
	}
	// A second document is never part of a ResourceList: reading only the
	// first would drop the rest without a word.
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		if next.Kind != 0 && !(len(next.Content) == 1 && next.Content[0].Tag == yaml.NodeTagNull) {
			return nil, fmt.Errorf("line %d: a second YAML document; a ResourceList is exactly one document", next.Line)
		}
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("after the ResourceList: %v", err)
	}
	if first.Kind != yaml.DocumentNode || len(first.Content) != 1 || first.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("expected a ResourceList mapping")
	}
	doc := yaml.NewRNode(first.Content[0])
	y := doc.YNode()
	if a := findAlias(y, 0); a != nil {
		return nil, fmt.Errorf("line %d: YAML aliases are not supported (an alias can expand exponentially)", a.Line)
	}
	if k := doc.GetKind(); k != kio.ResourceListKind {
		return nil, fmt.Errorf("input was of unexpected kind %q; expected ResourceList", k)
	}
	rl = &fn.ResourceList{FunctionConfig: fn.NewEmptyKubeObject()}
	if f := doc.Field("items"); f != nil && f.Value.YNode().Tag != yaml.NodeTagNull {
		if f.Value.YNode().Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("items: expected a list, got %s", nodeKind(f.Value.YNode()))
		}
		for i, it := range f.Value.YNode().Content {
			if it.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("items[%d]: expected an object, got %s", i, nodeKind(it))
			}
			rl.Items = append(rl.Items, fn.MoveToKubeObject(yaml.NewRNode(it)))
		}
	}
	if f := doc.Field("functionConfig"); f != nil && f.Value.YNode().Tag != yaml.NodeTagNull {
		if f.Value.YNode().Kind != yaml.MappingNode {
			return nil, fmt.Errorf("functionConfig: expected an object, got %s", nodeKind(f.Value.YNode()))
		}
		rl.FunctionConfig = fn.MoveToKubeObject(yaml.NewRNode(f.Value.YNode()))
	}
	if f := doc.Field("results"); f != nil && f.Value.YNode().Kind == yaml.SequenceNode {
		var prior fn.Results
		if err := f.Value.YNode().Decode(&prior); err != nil {
			return nil, fmt.Errorf("results: %v", err)
		}
		rl.Results = prior
	}
	return rl, nil
}

func findAlias(n *yaml.Node, depth int) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n
	}
	if depth > 1000 {
		return n // absurdly deep: treat like an alias bomb
	}
	for _, c := range n.Content {
		if a := findAlias(c, depth+1); a != nil {
			return a
		}
	}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a map"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}
