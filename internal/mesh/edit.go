package mesh

import (
	"bytes"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Text edits: annotations written into, and cut out of, the text of an
// item that was never materialized, as kyaml would write them on the node.

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
