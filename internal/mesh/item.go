package mesh

import (
	"bytes"
	"fmt"

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
