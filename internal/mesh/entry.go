package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Entry encoding: an item as one block-sequence entry of a ResourceList's
// items, read (ParseEntry) and written (WriteEntry, IndentEntry).

// Writer is what items are written to (a bytes.Buffer, a bufio.Writer).
type Writer interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
}

// WriteEntry appends the item to a ResourceList's items as a block-sequence
// entry: its original text when it was never materialized, else its node
// encoded with kyaml's encoder settings.
func (it *Item) WriteEntry(w Writer) error {
	if it.node == nil {
		if _, err := w.Write(it.text); err != nil {
			return err
		}
		if len(it.text) > 0 && it.text[len(it.text)-1] != '\n' {
			return w.WriteByte('\n')
		}
		return nil
	}
	var one bytes.Buffer
	if err := EncodeNode(&one, it.node.YNode()); err != nil {
		return err
	}
	return IndentEntry(w, one.Bytes())
}

// ParseEntry reads one block-sequence entry of a ResourceList's items (the
// text from its "- " to the next entry), which begins on line of the input.
// It checks that the entry is one object without YAML aliases, reads the
// model's facts about it, and keeps only the text and the facts. A YAML error
// is returned with the input's line numbers; an object the model cannot read
// (no kind, a bad selector) is not an error here but in Build, as for any
// other object.
func ParseEntry(text []byte, line int) (*Item, error) {
	n, err := parseEntry(text, line)
	if err != nil {
		return nil, err
	}
	it := &Item{text: text, line: line}
	it.facts = readFacts(yaml.NewRNode(n))
	it.spot = findSpot(text, n)
	return it, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func parseEntry(text []byte, line int) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(text))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("line %d: empty entry", line)
		}
		// Line numbers of the entry, as the input numbers them.
		msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(s string) string {
			n, _ := strconv.Atoi(s[len("line "):])
			return "line " + strconv.Itoa(n+line-1)
		})
		return nil, errors.New(msg)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode || len(doc.Content[0].Content) != 1 {
		return nil, fmt.Errorf("line %d: expected one list entry", line)
	}
	n := doc.Content[0].Content[0]
	if a := FindAlias(n); a != nil {
		return nil, fmt.Errorf("line %d: YAML aliases are not supported (an alias can expand exponentially)", a.Line+line-1)
	}
	if n.Kind != yaml.MappingNode {
		return nil, &NotObjectError{Node: n}
	}
	// Comments the decoder hung on the list or the document around the
	// entry belong to the entry: they must stay with it when it is
	// materialized and written from its node.
	// Where the whole list's parse hangs them: comments before the entry on
	// its mapping, comments after its last line on its last key.
	sq := doc.Content[0]
	n.HeadComment = joinComments(doc.HeadComment, sq.HeadComment, n.HeadComment)
	if foot := joinComments(sq.FootComment, doc.FootComment); foot != "" {
		if len(n.Content) >= 2 {
			k := n.Content[len(n.Content)-2]
			k.FootComment = joinComments(k.FootComment, foot)
		} else {
			n.FootComment = joinComments(n.FootComment, foot)
		}
	}
	return n, nil
}

func joinComments(cs ...string) string {
	var out []string
	for _, c := range cs {
		if c != "" {
			out = append(out, c)
		}
	}
	return strings.Join(out, "\n")
}

// NotObjectError is an entry of items that is not a mapping.
type NotObjectError struct{ Node *yaml.Node }

func (e *NotObjectError) Error() string {
	switch e.Node.Kind {
	case yaml.SequenceNode:
		return "expected an object, got a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("expected an object, got %q", e.Node.Value)
	}
	return "expected an object"
}

// FindAlias returns the first alias node under n, or n itself when it is
// absurdly deep, which is treated like an alias bomb: revshift reads no
// YAML with aliases (an alias can expand exponentially).
func FindAlias(n *yaml.Node) *yaml.Node { return findAlias(n, 0) }

func findAlias(n *yaml.Node, depth int) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n
	}
	if depth > 1000 {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c, depth+1); a != nil {
			return a
		}
	}
	return nil
}

// EncodeNode encodes one node as a YAML document, with kyaml's encoder
// settings (the ones kustomize and kpt write with).
func EncodeNode(w io.Writer, n *yaml.Node) error {
	enc := yaml.NewEncoder(w)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}}); err != nil {
		return err
	}
	return enc.Close()
}

// IndentEntry writes an encoded object as a compact block-sequence entry:
// "- " before the first line, two spaces before the others (empty lines stay
// empty, as the emitter writes them inside block scalars).
func IndentEntry(w Writer, doc []byte) error {
	first := true
	for len(doc) > 0 {
		i := bytes.IndexByte(doc, '\n')
		line := doc
		if i >= 0 {
			line, doc = doc[:i], doc[i+1:]
		} else {
			doc = nil
		}
		indent := ""
		switch {
		case first:
			indent, first = "- ", false
		case len(line) > 0:
			indent = "  "
		}
		if _, err := w.WriteString(indent); err != nil {
			return err
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}
