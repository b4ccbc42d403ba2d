// Package krm is the thin layer between revshift's transforms and the KRM
// function protocol: it turns a Transform into a KRM SDK
// ResourceListProcessor, decodes typed functionConfigs strictly, and runs a
// function as a program that reports every error both as a result and on
// stderr (kustomize drops results when a function fails).
//
// A ResourceList laid out as kustomize and kpt write it is read entry by
// entry into lazily parsed items (mesh.Item): objects a function does not
// edit are never held as YAML trees and are written back exactly as they
// came, and the output is streamed to stdout.
package krm

import (
	"bufio"
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
//
// Items are lazily parsed (mesh.Item): build the model with mesh.BuildItems
// and call Node only on the objects the function edits or must read beyond
// the model's facts; the others are written back byte for byte.
type Transform func(items []*mesh.Item, config *yaml.RNode, res *Results) ([]*mesh.Item, error)

// List is a parsed ResourceList whose items are lazily parsed.
type List struct {
	Items          []*mesh.Item
	FunctionConfig *yaml.RNode
	Results        fn.Results
}

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

// Proc runs a Transform. It is a KRM SDK ResourceListProcessor (for
// fn.AsMain and the SDK's own callers, which hand it parsed nodes); Run and
// MainIO use its lazy path, which parses items only as far as the model
// needs.
type Proc struct{ t Transform }

// Processor adapts a Transform to the KRM SDK and to Run. Items are handed
// over without copying; on failure the input items are returned untouched.
func Processor(t Transform) *Proc { return &Proc{t: t} }

// Process implements fn.ResourceListProcessor.
func (p *Proc) Process(rl *fn.ResourceList) (bool, error) {
	l := &List{Items: make([]*mesh.Item, len(rl.Items))}
	for i, it := range rl.Items {
		l.Items[i] = mesh.NewItem(it.MoveToResourceNode())
	}
	if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
		l.FunctionConfig = rl.FunctionConfig.CopyToResourceNode()
	}
	ok := p.Run(l)
	rl.Items = fn.MoveToKubeObjects(mesh.Nodes(l.Items))
	rl.Results = append(rl.Results, l.Results...)
	return ok, nil
}

// Run runs the transform on a parsed list, appending its results; it
// reports whether it succeeded.
func (p *Proc) Run(l *List) bool {
	res := &Results{}
	out, err := safeRun(p.t, l.Items, l.FunctionConfig, res)
	if err != nil {
		res.Errorf(nil, "%v", err)
	}
	if !res.Failed() {
		l.Items = out
	}
	l.Results = append(l.Results, res.Results...)
	return !res.Failed()
}

// safeRun turns a panic in a transform into an error: a bad input must never
// crash a pipeline without saying why.
func safeRun(t Transform, items []*mesh.Item, config *yaml.RNode, res *Results) (out []*mesh.Item, err error) {
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
	var out bytes.Buffer
	results, ok := RunTo(p, input, &out)
	return out.Bytes(), results, ok
}

// RunTo is Run writing the output to w as it goes: on a large input, the
// output is not held in memory on top of the items, and every item is
// dropped once written.
func RunTo(p fn.ResourceListProcessor, input []byte, w mesh.Writer) (fn.Results, bool) {
	fail := func(msg string) (fn.Results, bool) {
		rl := &fn.ResourceList{FunctionConfig: fn.NewEmptyKubeObject()}
		rl.Results = append(rl.Results, &fn.Result{Severity: fn.Error, Message: msg})
		out, _ := rl.ToYAML()
		_, _ = w.Write(out)
		return rl.Results, false
	}
	l, err := ParseList(input)
	if err != nil {
		return fail("invalid input ResourceList: " + err.Error())
	}
	before := len(l.Results)
	var ok bool
	if proc, lazy := p.(*Proc); lazy {
		ok = proc.Run(l)
	} else {
		rl := l.toSDK()
		ok, err = p.Process(rl)
		if err != nil {
			rl.Results = append(rl.Results, fn.ErrorResult(err))
			ok = false
		}
		l = fromSDK(rl)
	}
	results := l.Results[before:]
	// Materialized items are encoded before anything is written, so that
	// an encoding error (never seen in practice) cannot leave half an
	// output behind; their trees become garbage as they are.
	for _, it := range l.Items {
		if err := it.Freeze(); err != nil {
			return fail("cannot serialize output: " + err.Error())
		}
	}
	if err := writeList(w, l, true); err != nil {
		results = append(results, &fn.Result{Severity: fn.Error, Message: "cannot write output: " + err.Error()})
		return results, false
	}
	return results, ok
}

func (l *List) toSDK() *fn.ResourceList {
	rl := &fn.ResourceList{FunctionConfig: fn.NewEmptyKubeObject(), Results: l.Results}
	rl.Items = fn.MoveToKubeObjects(mesh.Nodes(l.Items))
	if l.FunctionConfig != nil {
		rl.FunctionConfig = fn.MoveToKubeObject(l.FunctionConfig)
	}
	return rl
}

func fromSDK(rl *fn.ResourceList) *List {
	l := &List{Results: rl.Results}
	for _, it := range rl.Items {
		l.Items = append(l.Items, mesh.NewItem(it.MoveToResourceNode()))
	}
	rl.Items = nil
	if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
		l.FunctionConfig = rl.FunctionConfig.CopyToResourceNode()
	}
	return l
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
	l := &List{Items: mesh.NewItems(items), Results: rl.Results}
	if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
		l.FunctionConfig = rl.FunctionConfig.CopyToResourceNode()
	}
	return WriteList(l)
}

// WriteResourceList encodes items, functionConfig and results as a
// ResourceList, without touching the nodes.
func WriteResourceList(items []*yaml.RNode, config, results *yaml.RNode) ([]byte, error) {
	var prior fn.Results
	if results != nil {
		if err := results.YNode().Decode(&prior); err != nil {
			return nil, err
		}
	}
	return WriteList(&List{Items: mesh.NewItems(items), FunctionConfig: config, Results: prior})
}

// WriteList encodes a ResourceList. Each item is written on its own, as a
// list entry: an item no function materialized is its input text, byte for
// byte; another is encoded alone (on a 40 MB input, encoding the list whole
// took most of the run time and memory in the emitter's growing buffer).
func WriteList(l *List) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeList(&buf, l, false); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeList writes l to buf; release drops each item from l once written
// (its text and node become garbage while the rest is written).
func writeList(buf mesh.Writer, l *List, release bool) error {
	buf.WriteString("apiVersion: " + kio.ResourceListAPIVersion + "\nkind: " + kio.ResourceListKind + "\n")
	if len(l.Items) == 0 {
		buf.WriteString("items: []\n")
	} else {
		buf.WriteString("items:\n")
	}
	for i, it := range l.Items {
		if err := it.WriteEntry(buf); err != nil {
			return err
		}
		if release {
			l.Items[i] = nil
		}
	}
	var results *yaml.RNode
	if len(l.Results) > 0 {
		// Encoded straight into a node: a function may report a result per
		// object, and a text round trip doubled the serialization time.
		n, err := resultsNode(l.Results)
		if err != nil {
			return err
		}
		results = yaml.NewRNode(n)
	}
	for _, f := range []struct {
		key  string
		node *yaml.RNode
	}{{"functionConfig", l.FunctionConfig}, {"results", results}} {
		if f.node == nil {
			continue
		}
		m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: f.key}, f.node.YNode()}}
		if err := mesh.EncodeNode(buf, m); err != nil {
			return err
		}
	}
	return nil
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
	in, err := readAll(stdin)
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
	w := bufio.NewWriterSize(stdout, 64<<10)
	results, ok := RunTo(p, in, w)
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "%s: writing stdout: %v\n", name, err)
		return 1
	}
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

// readAll reads stdin whole, in one allocation when it is a file of known
// size (io.ReadAll grows its buffer step by step, copying the input a few
// times over on a large one).
func readAll(r io.Reader) ([]byte, error) {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			var b bytes.Buffer
			b.Grow(int(st.Size()) + bytes.MinRead)
			_, err := b.ReadFrom(f)
			return b.Bytes(), err
		}
	}
	return io.ReadAll(r)
}

// Parse reads a ResourceList into the SDK's form (every item parsed).
func Parse(input []byte) (*fn.ResourceList, error) {
	l, err := ParseList(input)
	if err != nil {
		return nil, err
	}
	return l.toSDK(), nil
}

// ParseList reads a ResourceList. Unlike the SDK's parser it rejects, with
// an error instead of a panic, YAML aliases (an alias bomb expands to
// gigabytes; kustomize and kpt never emit aliases), items that are not a
// list of mappings, and a functionConfig that is not a mapping.
//
// When the items are laid out as kustomize and kpt write them (a block list
// whose entries start at column 0), each entry is parsed on its own and kept
// as text with the model's facts (mesh.ParseEntry): the whole list is never
// held as YAML trees. Any other layout is parsed whole.
func ParseList(input []byte) (l *List, err error) {
	defer func() {
		if p := recover(); p != nil {
			l, err = nil, fmt.Errorf("unreadable input: %v", p)
		}
	}()
	skeleton, entries, ok := splitItems(input)
	if !ok || len(entries) == 0 {
		return parseWhole(input)
	}
	// Any failure of the split parse falls back to the whole parse, which
	// decides and words the error: YAML allows a few things the line scan
	// cannot see (a quoted string going on at column 0), and they make an
	// entry or the skeleton fail to parse, never parse differently.
	if l, err = parseWhole(skeleton); err != nil || len(l.Items) > 0 {
		return parseWhole(input)
	}
	l.Items = make([]*mesh.Item, len(entries))
	for i, e := range entries {
		it, err := mesh.ParseEntry(e.text, e.line)
		if err != nil {
			return parseWhole(input)
		}
		l.Items[i] = it
	}
	mesh.PackItems(l.Items)
	return l, nil
}

func parseWhole(input []byte) (*List, error) {
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
	if a := mesh.FindAlias(y); a != nil {
		return nil, fmt.Errorf("line %d: YAML aliases are not supported (an alias can expand exponentially)", a.Line)
	}
	if k := doc.GetKind(); k != kio.ResourceListKind {
		return nil, fmt.Errorf("input was of unexpected kind %q; expected ResourceList", k)
	}
	l := &List{}
	if f := doc.Field("items"); f != nil && f.Value.YNode().Tag != yaml.NodeTagNull {
		if f.Value.YNode().Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("items: expected a list, got %s", nodeKind(f.Value.YNode()))
		}
		for i, it := range f.Value.YNode().Content {
			if it.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("items[%d]: expected an object, got %s", i, nodeKind(it))
			}
			l.Items = append(l.Items, mesh.NewItem(yaml.NewRNode(it)))
		}
	}
	if f := doc.Field("functionConfig"); f != nil && f.Value.YNode().Tag != yaml.NodeTagNull {
		if f.Value.YNode().Kind != yaml.MappingNode {
			return nil, fmt.Errorf("functionConfig: expected an object, got %s", nodeKind(f.Value.YNode()))
		}
		l.FunctionConfig = yaml.NewRNode(f.Value.YNode())
	}
	if f := doc.Field("results"); f != nil && f.Value.YNode().Kind == yaml.SequenceNode {
		var prior fn.Results
		if err := f.Value.YNode().Decode(&prior); err != nil {
			return nil, fmt.Errorf("results: %v", err)
		}
		l.Results = prior
	}
	return l, nil
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
