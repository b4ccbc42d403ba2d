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
	const (
		top = iota
		itemsKey
		inEntry
	)
	state := top
	skel := make([]byte, 0, 1024)
	start, startLine := -1, 0
	// pending is where a run of column-0 comment lines (and blank lines
	// after them) began inside an entry: YAML hangs such comments on the
	// next entry when one follows, so they start it.
	pending, pendingLine := -1, 0
	seenItems := false
	closeEntry := func(end int) {
		if start >= 0 {
			entries = append(entries, entry{text: in[start:end], line: startLine})
			start = -1
		}
		pending = -1
	}
	line := 0
	for pos := 0; pos < len(in); {
		line++
		end := bytes.IndexByte(in[pos:], '\n')
		if end < 0 {
			end = len(in)
		} else {
			end += pos + 1
		}
		l := in[pos:end]
		switch {
		case isMarker(l) || (len(l) > 0 && l[0] == '\t'):
			return nil, nil, false
		case state != top && (hasPrefix(l, "- ") || isDashOnly(l)):
			if pending >= 0 {
				s, sl := pending, pendingLine
				closeEntry(s)
				start, startLine = s, sl
			} else {
				closeEntry(pos)
				start, startLine = pos, line
			}
			state = inEntry
			skel = append(skel, '\n')
		case state != top && (len(l) > 0 && l[0] == ' ' || isBlank(l)):
			if state != inEntry {
				if !isBlank(l) {
					return nil, nil, false // entries indented under items
				}
				skel = append(skel, '\n')
				break
			}
			if !isBlank(l) {
				pending = -1 // the entry goes on after the comments
			}
			skel = append(skel, '\n')
		case state != top && l[0] == '#':
			if state != inEntry {
				return nil, nil, false
			}
			if pending < 0 {
				pending, pendingLine = pos, line
			}
			skel = append(skel, '\n')
		default:
			// A line at column 0 that is neither an entry nor part of one:
			// the next top-level key (or a line of another key's value,
			// which the skeleton's parse reads).
			closeEntry(pos)
			state = top
			if v, isItems := cutKey(l, "items"); isItems {
				if seenItems {
					return nil, nil, false
				}
				seenItems = true
				switch v {
				case "":
					state = itemsKey
				case "[]":
				default:
					return nil, nil, false
				}
			}
			skel = append(skel, l...)
		}
		pos = end
	}
	closeEntry(len(in))
	return skel, entries, true
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
