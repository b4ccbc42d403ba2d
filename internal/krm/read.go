package krm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

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
		if next.Kind != 0 && (len(next.Content) != 1 || next.Content[0].Tag != yaml.NodeTagNull) {
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
