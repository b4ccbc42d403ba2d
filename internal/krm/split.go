package krm

import "bytes"

// entry is one item's text in a ResourceList and its first line.
type entry struct {
	text []byte
	line int
}

// splitItems finds the entries of a ResourceList's items in its text, when
// the list is laid out as kustomize and kpt write it (kyaml's encoder): a
// top-level "items:" key followed by a block list whose entries start with
// "- " at column 0 and whose other lines are indented. It returns the input
// with the entries' lines blanked (line numbers stay those of the input) and
// the entries, which alias the input.
//
// ok is false for any other layout: entries indented under items, a flow
// list, JSON, a document marker, a comment before the first entry, a tab at
// the start of a line. The caller then parses the input whole. A cut this
// scan makes is where YAML's own block structure cuts: a line at column 0
// ends every block scalar and plain scalar of the entry before it, so an
// entry is never split inside a value; a quoted scalar or flow collection
// left open at a cut makes that entry fail to parse, which is reported.
func splitItems(in []byte) (skeleton []byte, entries []entry, ok bool) {
	s := &splitter{skel: make([]byte, 0, 1024), start: -1, pending: -1}
	line := 0
	for pos := 0; pos < len(in); {
		line++
		end := bytes.IndexByte(in[pos:], '\n')
		if end < 0 {
			end = len(in)
		} else {
			end += pos + 1
		}
		if !s.take(in, in[pos:end], pos, line) {
			return nil, nil, false
		}
		pos = end
	}
	s.closeEntry(in, len(in))
	return s.skel, s.entries, true
}

// Where splitItems is in the input.
const (
	atTop   = iota // at a top-level key, or in its value
	atItems        // after "items:", before its first entry
	inEntry        // in an entry of items
)

// splitter is splitItems' state: the skeleton and entries so far, the
// entry being read (start, at line startLine, or -1) and pending: where a
// run of column-0 comment lines (and blank lines after them) began inside
// an entry, or -1. YAML hangs such comments on the next entry when one
// follows, so they start it.
type splitter struct {
	state                int
	skel                 []byte
	entries              []entry
	start, startLine     int
	pending, pendingLine int
	seenItems            bool
}

// take reads line l of the input, at offset pos; false is a layout
// splitItems does not read.
func (s *splitter) take(in, l []byte, pos, line int) bool {
	switch {
	case isMarker(l) || (len(l) > 0 && l[0] == '\t'):
		return false
	case s.state != atTop && (hasPrefix(l, "- ") || isDashOnly(l)):
		s.openEntry(in, pos, line)
	case s.state != atTop && (len(l) > 0 && l[0] == ' ' || isBlank(l)):
		if s.state != inEntry {
			if !isBlank(l) {
				return false // entries indented under items
			}
		} else if !isBlank(l) {
			s.pending = -1 // the entry goes on after the comments
		}
		s.skel = append(s.skel, '\n')
	case s.state != atTop && l[0] == '#':
		if s.state != inEntry {
			return false
		}
		if s.pending < 0 {
			s.pending, s.pendingLine = pos, line
		}
		s.skel = append(s.skel, '\n')
	default:
		// A line at column 0 that is neither an entry nor part of one:
		// the next top-level key (or a line of another key's value,
		// which the skeleton's parse reads).
		return s.topLevel(in, l, pos)
	}
	return true
}

// openEntry starts an entry at its "- " line, or at the comments just
// before it.
func (s *splitter) openEntry(in []byte, pos, line int) {
	if s.pending >= 0 {
		p, pl := s.pending, s.pendingLine
		s.closeEntry(in, p)
		s.start, s.startLine = p, pl
	} else {
		s.closeEntry(in, pos)
		s.start, s.startLine = pos, line
	}
	s.state = inEntry
	s.skel = append(s.skel, '\n')
}

// closeEntry ends the entry being read, if any, at offset end.
func (s *splitter) closeEntry(in []byte, end int) {
	if s.start >= 0 {
		s.entries = append(s.entries, entry{text: in[s.start:end], line: s.startLine})
		s.start = -1
	}
	s.pending = -1
}

// topLevel reads a top-level key: items opens the list (once, and only as
// a block list or []), any other goes to the skeleton.
func (s *splitter) topLevel(in, l []byte, pos int) bool {
	s.closeEntry(in, pos)
	s.state = atTop
	if v, isItems := cutKey(l, "items"); isItems {
		if s.seenItems {
			return false
		}
		s.seenItems = true
		switch v {
		case "":
			s.state = atItems
		case "[]":
		default:
			return false
		}
	}
	s.skel = append(s.skel, l...)
	return true
}

func hasPrefix(l []byte, p string) bool { return bytes.HasPrefix(l, []byte(p)) }

func isDashOnly(l []byte) bool {
	return len(bytes.TrimRight(l, "\r\n")) == 1 && l[0] == '-'
}

func isBlank(l []byte) bool { return len(bytes.TrimSpace(l)) == 0 }

// isMarker reports a YAML document marker ("---" or "..." alone or followed
// by a space).
func isMarker(l []byte) bool {
	for _, m := range []string{"---", "..."} {
		if hasPrefix(l, m) && (len(l) == 3 || l[3] == ' ' || l[3] == '\n' || l[3] == '\r' || l[3] == '\t') {
			return true
		}
	}
	return false
}

// cutKey reports whether l is the top-level key k and returns its inline
// value with any comment removed.
func cutKey(l []byte, k string) (string, bool) {
	if !hasPrefix(l, k) {
		return "", false
	}
	rest := l[len(k):]
	if len(rest) == 0 || rest[0] != ':' {
		return "", false
	}
	rest = rest[1:]
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\n' && rest[0] != '\r' && rest[0] != '\t' {
		return "", false
	}
	if i := bytes.Index(rest, []byte(" #")); i >= 0 {
		rest = rest[:i]
	}
	return string(bytes.TrimSpace(rest)), true
}
