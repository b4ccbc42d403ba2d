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

// Item is one object of a ResourceList as a function holds it.
//
// An item read from a ResourceList's text (ParseEntry) stays that text: the
// model's facts about it are read once, when it is parsed, and its YAML tree
// is dropped. Only when a function asks for the node (Node) is the text
// parsed again and kept, and from then on the item is the node. An item no
// function asked for is written back byte for byte, comments and layout
// included, and costs no more memory than its text and its facts: a parsed
// object takes about 20 times its text, which on a large input is the
// difference between fitting in a repo-server's memory limit or not.
type Item struct {
	// text is the block-sequence entry ("- " included, ending in a newline)
	// while the item is not materialized.
	text []byte
	// line is the entry's first line in the input (1-based), for messages.
	line int
	node *yaml.RNode
	// facts are the model's reading of text; nil once materialized (the
	// node may then change, and Build reads it afresh).
	facts *facts
	// spot is where an annotation can be written into text (see
	// SetAnnotation).
	spot spot
	// unmarked is the text before SetAnnotation wrote annotations into it,
	// and added the keys it wrote: RemoveAnnotation of all of them gives
	// the text back as it was.
	unmarked     []byte
	unmarkedSpot spot
	added        []string
	// carried caches the objects of a running-render carrier (see
	// RunningRender).
	carried *carried
}

// NewItem wraps a node (an object created in memory, or read by a parser
// that is not ParseEntry).
func NewItem(n *yaml.RNode) *Item { return &Item{node: n} }

// NewTextItem is NewItem for an object the caller has finished building and
// will not edit: it is encoded at once and held as text (see Freeze). A
// function that creates an object per namespace or per gateway holds them
// at the cost of their text, not of their trees.
func NewTextItem(n *yaml.RNode) (*Item, error) {
	it := NewItem(n)
	if err := it.Freeze(); err != nil {
		return nil, err
	}
	return it, nil
}

// NewItems wraps nodes.
func NewItems(nodes []*yaml.RNode) []*Item {
	out := make([]*Item, len(nodes))
	for i, n := range nodes {
		out[i] = NewItem(n)
	}
	return out
}

// Nodes materializes items (see Item.Node).
func Nodes(items []*Item) []*yaml.RNode {
	out := make([]*yaml.RNode, len(items))
	for i, it := range items {
		out[i] = it.Node()
	}
	return out
}

// Node returns the item's node, parsing its text the first time. The caller
// may edit the node: the item is written from it from then on. Reading a
// node this way is what costs memory; the model's facts are free.
func (it *Item) Node() *yaml.RNode {
	if it == nil {
		return nil
	}
	if it.node == nil && it.text != nil {
		n, err := parseEntry(it.text, it.line)
		if err != nil {
			// ParseEntry parsed the same bytes without error.
			panic(fmt.Sprintf("re-parsing an item that parsed before: %v", err))
		}
		it.node = yaml.NewRNode(n)
		it.text, it.facts, it.unmarked, it.added = nil, nil, nil, nil
	}
	return it.node
}

// Annotation returns the value of one of the object's annotations. A
// revshift.dev/ annotation of an item that is still text, or one of the few
// others the model keeps (factKeys: sync waves, depends-on, local-config,
// kustomize's previous names), is read from its facts; any other is read
// from the node (materializing the item).
func (it *Item) Annotation(key string) (string, bool) { return it.meta("a:", key) }

// Label is Annotation for labels.
func (it *Item) Label(key string) (string, bool) { return it.meta("l:", key) }

// HasAnnotation reports whether the object has the annotation.
func (it *Item) HasAnnotation(key string) bool { _, ok := it.Annotation(key); return ok }

func (it *Item) meta(tag, key string) (string, bool) {
	if it == nil {
		return "", false
	}
	if it.node == nil && it.text != nil && factKey(tag, key) {
		v, ok := it.factsOf().marks[tag+key]
		return v, ok
	}
	n := it.Node()
	if n == nil {
		return "", false
	}
	var m map[string]string
	if tag == "l:" {
		m = n.GetLabels()
	} else {
		m = n.GetAnnotations()
	}
	v, ok := m[key]
	return v, ok
}

// factsOf returns the item's facts: cached, read from its text (without
// materializing it), or read afresh from its node.
func (it *Item) factsOf() *facts {
	if it.facts != nil {
		return it.facts
	}
	if it.node == nil && it.text != nil {
		if n, err := parseEntry(it.text, it.line); err == nil {
			it.facts = readFacts(yaml.NewRNode(n))
			return it.facts
		}
	}
	return readFacts(it.Node())
}

// Materialized reports whether the item is held as a node.
func (it *Item) Materialized() bool { return it.node != nil }

// Freeze turns a materialized item back into text (its entry as WriteEntry
// writes it), dropping its node. Calling Node again parses the text.
func (it *Item) Freeze() error {
	if it.node == nil {
		return nil
	}
	var one, entry bytes.Buffer
	if err := EncodeNode(&one, it.node.YNode()); err != nil {
		return err
	}
	entry.Grow(one.Len() + one.Len()/8 + 2)
	if err := IndentEntry(&entry, one.Bytes()); err != nil {
		return err
	}
	it.text, it.node, it.facts = entry.Bytes(), nil, nil
	return nil
}

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

// spot is where SetAnnotation writes an annotation into text, as kyaml
// would place it: after the last annotation (hasAnnotations), or else after
// metadata's last key, both in block style; offset is the start of the line
// after them, indent the column of their keys. ok is false when the text has
// no such place (flow style, comments in the way): the item is then edited
// as a node.
type spot struct {
	offset         int32
	indent         int16
	hasAnnotations bool
	ok             bool
}

// findSpot finds where an annotation line goes in an entry's text, from the
// positions the parser recorded.
func findSpot(text []byte, n *yaml.Node) spot {
	if n.Kind != yaml.MappingNode || len(text) > 1<<30 || bareCR(text) {
		return spot{}
	}
	var meta, next *yaml.Node // metadata's value, the key after it
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "metadata" {
			meta = n.Content[i+1]
			if i+2 < len(n.Content) {
				next = n.Content[i+2]
			}
		}
	}
	if meta == nil || meta.Kind != yaml.MappingNode || meta.Style&yaml.FlowStyle != 0 || len(meta.Content) == 0 {
		return spot{}
	}
	block, has := meta, false
	for i := 0; i+1 < len(meta.Content); i += 2 {
		if meta.Content[i].Value == "annotations" {
			av := meta.Content[i+1]
			if av.Kind != yaml.MappingNode || av.Style&yaml.FlowStyle != 0 || len(av.Content) == 0 {
				return spot{}
			}
			block, has = av, true
			if i+2 < len(meta.Content) {
				next = meta.Content[i+2]
			}
		}
	}
	first := block.Content[0]
	indent := first.Column - 1
	if indent < 1 || indent > 1<<14 || !startsLine(text, first, indent) {
		return spot{}
	}
	off := len(text)
	if next != nil {
		if next.HeadComment != "" || !startsLine(text, next, next.Column-1) {
			return spot{}
		}
		off = lineStart(text, next.Line)
	}
	if off < 0 {
		return spot{}
	}
	if off == len(text) && !bytes.HasSuffix(text, []byte("\n")) {
		// The line break SetAnnotation adds there would become part of a
		// block scalar that ends the text ("|" keeps a final line break).
		last := n
		for len(last.Content) > 0 {
			last = last.Content[len(last.Content)-1]
		}
		if last.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return spot{}
		}
	}
	return spot{offset: int32(off), indent: int16(indent), hasAnnotations: has, ok: true}
}

// bareCR reports whether text holds a carriage return that is a line break
// of its own (YAML reads one; lineStart counts only newlines).
func bareCR(text []byte) bool {
	for i := bytes.IndexByte(text, '\r'); i >= 0; {
		if i+1 >= len(text) || text[i+1] != '\n' {
			return true
		}
		j := bytes.IndexByte(text[i+1:], '\r')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// startsLine reports whether key k begins its line after indent spaces.
func startsLine(text []byte, k *yaml.Node, indent int) bool {
	off := lineStart(text, k.Line)
	return off >= 0 && indent >= 0 && off+indent <= len(text) && len(bytes.TrimLeft(text[off:off+indent], " ")) == 0
}

// lineStart returns the byte offset of 1-based line l of text, or -1.
func lineStart(text []byte, l int) int {
	off := 0
	for i := 1; i < l; i++ {
		j := bytes.IndexByte(text[off:], '\n')
		if j < 0 {
			return -1
		}
		off += j + 1
	}
	return off
}

var plainMark = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// markValue matches the annotation values SetAnnotation writes into text
// (single-quoted): words, and lists of options such as Argo CD's
// "Prune=false,ServerSideApply=true".
var markValue = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9=,._-]*$`)

// SetAnnotation sets an annotation. On an item that is still text, a
// revshift.dev/ annotation (or another the facts keep) with a plain value is
// written into the text as one more line, so that marking every object of a
// render does not parse and encode each one again; otherwise the node is
// edited.
func (it *Item) SetAnnotation(key, value string) error {
	if it.node == nil && it.text != nil && it.spot.ok && factKey("a:", key) && markValue.MatchString(value) && !isYAMLWord(value) && plainMark.MatchString(strings.ReplaceAll(strings.ReplaceAll(key, ".", "-"), "/", "-")) {
		f := it.factsOf()
		if v, set := f.marks["a:"+key]; set {
			if v == value {
				return nil
			}
			// An existing value is replaced on the node.
		} else {
			sp := it.spot
			pad := strings.Repeat(" ", int(sp.indent))
			// Single-quoted, as kyaml writes annotations.
			line := key + ": '" + value + "'\n"
			var ins string
			if sp.hasAnnotations {
				ins = pad + line
			} else {
				ins = pad + "annotations:\n" + pad + "  " + line
			}
			off := int(sp.offset)
			if it.unmarked == nil {
				it.unmarked, it.unmarkedSpot = it.text, it.spot
			}
			it.added = append(it.added, key)
			text := make([]byte, 0, len(it.text)+len(ins)+1)
			text = append(text, it.text[:off]...)
			if off > 0 && text[off-1] != '\n' {
				text = append(text, '\n')
			}
			text = append(append(text, ins...), it.text[off:]...)
			it.facts = f.withMark("a:"+key, value)
			it.spot = spot{offset: int32(len(text) - (len(it.text) - off)), indent: sp.indent, hasAnnotations: true, ok: true}
			if !sp.hasAnnotations {
				it.spot.indent += 2
			}
			it.text = text
			return nil
		}
	}
	return it.Node().PipeE(yaml.SetAnnotation(key, value))
}

// RemoveAnnotation removes an annotation, and the annotations map when it
// is left empty. Removing the last of the annotations SetAnnotation wrote
// into an item's text gives the text back as it was read; any other removal
// edits the node.
func (it *Item) RemoveAnnotation(key string) error {
	if it.node == nil && it.text != nil && len(it.added) > 0 {
		for i, k := range it.added {
			if k != key {
				continue
			}
			it.added = append(it.added[:i:i], it.added[i+1:]...)
			if len(it.added) > 0 {
				break // other written annotations stay: edit the node
			}
			it.text, it.spot, it.facts = it.unmarked, it.unmarkedSpot, it.factsOf().withoutMark("a:"+key)
			it.unmarked, it.added = nil, nil
			return nil
		}
	}
	if _, ok := it.Annotation(key); !ok {
		return nil
	}
	if it.removeLine(key) {
		return nil
	}
	n := it.Node()
	if err := n.PipeE(yaml.ClearAnnotation(key)); err != nil {
		return err
	}
	if meta := n.Field("metadata"); meta != nil {
		if a := meta.Value.Field("annotations"); a != nil && a.Value.YNode().Kind == yaml.MappingNode && len(a.Value.YNode().Content) == 0 {
			return meta.Value.PipeE(yaml.Clear("annotations"))
		}
	}
	return nil
}

// removeLine removes a revshift.dev/ (or another fact) annotation that the
// item's text holds on one line of a block mapping, with other annotations
// left, by cutting that line out: what kyaml's ClearAnnotation gives, read
// back, without materializing the item. It reports false, changing nothing,
// for any other layout (the node is then edited).
func (it *Item) removeLine(key string) bool {
	if it.node != nil || it.text == nil || len(it.added) > 0 || !factKey("a:", key) || bareCR(it.text) {
		return false
	}
	n, err := parseEntry(it.text, it.line)
	if err != nil {
		return false
	}
	ann := lookup(n, "metadata", "annotations")
	if ann == nil || ann.Kind != yaml.MappingNode || ann.Style&yaml.FlowStyle != 0 || len(ann.Content) < 4 {
		return false // flow style, or the map would be left empty
	}
	for i := 0; i+1 < len(ann.Content); i += 2 {
		k, v := ann.Content[i], ann.Content[i+1]
		if k.Value != key {
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Line != k.Line || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 ||
			k.HeadComment != "" || k.FootComment != "" || v.HeadComment != "" || v.FootComment != "" ||
			k.Column < 2 || !startsLine(it.text, k, k.Column-1) {
			return false
		}
		start := lineStart(it.text, k.Line)
		if start < 0 {
			return false
		}
		end := len(it.text)
		if j := bytes.IndexByte(it.text[start:], '\n'); j >= 0 {
			end = start + j + 1
		}
		if !oneLineValue(it.text[start:end], v) || continues(it.text[end:], k.Column-1) {
			return false
		}
		text := make([]byte, 0, len(it.text)-(end-start))
		text = append(append(text, it.text[:start]...), it.text[end:]...)
		if sp := it.spot; sp.ok && int(sp.offset) > start {
			it.spot.offset -= int32(end - start)
		}
		it.text, it.facts = text, it.factsOf().withoutMark("a:"+key)
		return true
	}
	return false
}

// oneLineValue reports whether line (a "key: value" line, newline
// included) ends with v's whole value: a plain value, or a quoted one whose
// closing quote is on this line, followed by nothing but a comment.
func oneLineValue(line []byte, v *yaml.Node) bool {
	line = bytes.TrimRight(line, "\r\n")
	c := bytes.Index(line, []byte(": "))
	if c < 0 {
		return false
	}
	rest := bytes.TrimSpace(line[c+2:])
	switch v.Style & (yaml.SingleQuotedStyle | yaml.DoubleQuotedStyle) {
	case yaml.SingleQuotedStyle:
		return len(rest) >= 2 && rest[0] == '\'' && closedSingle(rest[1:])
	case yaml.DoubleQuotedStyle:
		return len(rest) >= 2 && rest[0] == '"' && closedDouble(rest[1:])
	}
	return len(rest) > 0 && rest[0] != '\'' && rest[0] != '"'
}

// closedSingle reports whether s (after an opening ') closes the quote and
// then holds at most a comment.
func closedSingle(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '\'' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			i++
			continue
		}
		return onlyComment(s[i+1:])
	}
	return false
}

// closedDouble is closedSingle for a double-quoted value.
func closedDouble(s []byte) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return onlyComment(s[i+1:])
		}
	}
	return false
}

func onlyComment(s []byte) bool {
	s = bytes.TrimSpace(s)
	return len(s) == 0 || s[0] == '#'
}

// continues reports whether the text after a "key: value" line whose key is
// indented by indent continues the value: a next line that is blank or
// indented deeper (a plain scalar folded over lines).
func continues(after []byte, indent int) bool {
	if len(after) == 0 {
		return false
	}
	line := after
	if j := bytes.IndexByte(after, '\n'); j >= 0 {
		line = after[:j]
	}
	line = bytes.TrimRight(line, "\r")
	trimmed := bytes.TrimLeft(line, " ")
	if len(trimmed) == 0 {
		return true
	}
	return len(line)-len(trimmed) > indent
}

// isYAMLWord reports values that YAML would not read back as a plain string.
func isYAMLWord(v string) bool {
	switch v {
	case "true", "false", "null", "yes", "no", "on", "off", "y", "n":
		return true
	}
	return false
}

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
	if a := findAlias(n, 0); a != nil {
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

// findAlias returns the first alias node under n (or n itself when it is
// absurdly deep, which is treated like an alias bomb).
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
		switch {
		case first:
			w.WriteString("- ")
			first = false
		case len(line) > 0:
			w.WriteString("  ")
		}
		w.Write(line)
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}
