package krm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// A ResourceList as kustomize writes it, with the shapes that make a line
// scan risky: block scalars whose lines start with "- " or "#", blank lines
// inside them, comments between entries, flow maps, quoted multi-line
// strings, functionConfig and results after the items.
const kustomizeLayout = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a # the first
    namespace: ns
  data:
    script: |
      - not an entry
      # not a comment

      items:
    folded: >-
      - still a string
    quoted: "a long string
      over two lines"
# between entries: a comment of the list
- apiVersion: v1
  kind: Service
  metadata: {name: b, namespace: ns, labels: {"app": 'b'}}
  spec:
    selector:
      app: b
    ports:
    - port: 80
      targetPort: 8080
-   apiVersion: v1
    kind: Namespace
    metadata:
      name: wide
functionConfig:
  apiVersion: revshift.dev/v1alpha1
  kind: T
  metadata:
    name: c
results:
- message: earlier
  severity: info
`

func TestParseListLazy(t *testing.T) {
	l, err := ParseList([]byte(kustomizeLayout))
	require.NoError(t, err)
	require.Len(t, l.Items, 3)
	for i, it := range l.Items {
		assert.False(t, it.Materialized(), "items[%d] stays text", i)
	}
	assert.Equal(t, "T", l.FunctionConfig.GetKind())
	require.Len(t, l.Results, 1)

	m, err := mesh.BuildItems(l.Items)
	require.NoError(t, err)
	require.NotNil(t, m.Service("ns", "b"))
	assert.Equal(t, map[string]string{"app": "b"}, m.Service("ns", "b").Selector)
	for i, it := range l.Items {
		assert.False(t, it.Materialized(), "building the model parses nothing again (items[%d])", i)
	}

	// Untouched items are written back byte for byte, whatever their
	// layout; the ResourceList's own fields are re-encoded.
	out, err := WriteList(l)
	require.NoError(t, err)
	items := kustomizeLayout[strings.Index(kustomizeLayout, "items:\n"):strings.Index(kustomizeLayout, "functionConfig:")]
	assert.Contains(t, string(out), items)

	// A materialized item is written from its node, edits included.
	n := l.Items[1].Node()
	require.NoError(t, n.PipeE(yaml.SetLabel("edited", "yes")))
	out, err = WriteList(l)
	require.NoError(t, err)
	assert.Contains(t, string(out), "edited: 'yes'}}")
	assert.Contains(t, string(out), "      # not a comment\n", "the other items are still verbatim")
}

// The scan must cut exactly where the YAML parser does: every input gives
// the same objects (and comments) through ParseList as through a whole
// parse, or an error from both.
func TestParseListAgreesWithWholeParse(t *testing.T) {
	for name, in := range layouts {
		t.Run(name, func(t *testing.T) { agree(t, []byte(in), true) })
	}
}

var layouts = map[string]string{
	"kustomize layout":        kustomizeLayout,
	"indented entries":        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - apiVersion: v1\n    kind: A\n    metadata: {name: a}\n",
	"flow items":              "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [{apiVersion: v1, kind: A, metadata: {name: a}}]\n",
	"json":                    `{"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [{"apiVersion": "v1", "kind": "A", "metadata": {"name": "a"}}]}`,
	"document marker":         "---\napiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: A\n  metadata: {name: a}\n",
	"comment before items":    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n# head\n- apiVersion: v1\n  kind: A\n  metadata: {name: a}\n",
	"items first":             "items:\n- apiVersion: v1\n  kind: A\n  metadata: {name: a}\napiVersion: config.kubernetes.io/v1\nkind: ResourceList\n",
	"no final newline":        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: A\n  metadata: {name: a}",
	"crlf":                    "apiVersion: config.kubernetes.io/v1\r\nkind: ResourceList\r\nitems:\r\n- apiVersion: v1\r\n  kind: A\r\n  metadata: {name: a}\r\n",
	"empty entry":             "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n-\n- apiVersion: v1\n  kind: A\n  metadata: {name: a}\n",
	"scalar entry":            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- just a string\n",
	"unclosed quote":          "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: \"x\n- b: y\"\n",
	"quote across entries":    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: 'x\n  - b: y'\n",
	"alias in entry":          "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: &x [1]\n  b: *x\n",
	"duplicate items key":     "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: 1\nitems:\n- b: 2\n",
	"second document":         "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: 1\n---\nkind: Other\n",
	"tab indentation":         "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: 1\n\tb: 2\n",
	"items null then list":    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\nfunctionConfig: {kind: X}\n",
	"entry with head comment": "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- # head\n  a: 1\n- b: 2 # line\n  # foot\n",
	"keep chomping":           "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: |+\n    x\n\n# c\n\n- b: 1\n",
	"comment inside entry":    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: 1\n# c\n  b: 2\n- c: 3\n",
	"quote at column 0":       "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: \"x\nb\"\n- c: 3\n",
}

// agree checks that ParseList and the whole parse agree. Comments are
// compared when comments is set: a comment after an entry's last line that
// the whole parse hangs on the list (and drops from the item) stays with the
// entry's text in the split parse, so random inputs compare without them.
func agree(t *testing.T, in []byte, comments bool) {
	t.Helper()
	lazy, lerr := ParseList(in)
	whole, werr := parseWhole(in)
	if werr != nil || lerr != nil {
		require.Error(t, lerr, "the whole parse failed (%v), the lazy one must too", werr)
		require.Error(t, werr, "the lazy parse failed (%v), the whole one must too", lerr)
		return
	}
	require.Equal(t, len(whole.Items), len(lazy.Items))
	for i := range whole.Items {
		var a, b bytes.Buffer
		wn, ln := whole.Items[i].Node().YNode(), lazy.Items[i].Node().YNode()
		if !comments {
			wn, ln = noComments(wn), noComments(ln)
		}
		require.NoError(t, mesh.EncodeNode(&a, wn))
		require.NoError(t, mesh.EncodeNode(&b, ln))
		assert.Equal(t, a.String(), b.String(), "items[%d]", i)
	}
}

func noComments(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = noComments(x)
	}
	return &c
}

func FuzzParseList(f *testing.F) {
	for _, in := range layouts {
		f.Add([]byte(in))
	}
	f.Add([]byte("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: 1\n  b: |\n    - x\n- c: 2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<16 {
			return
		}
		agree(t, in, false)
	})
}

// Errors are the whole parse's: the split parse falls back to it.
func TestParseListErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: 1\n- b: [1\n  c: 2\n", "did not find expected ',' or ']'"},
		{"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: 1\n- b: &x [1]\n  c: *x\n", "line 6: YAML aliases are not supported"},
		{"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: 1\n- just text\n", `items[1]: expected an object, got "just text"`},
		{"apiVersion: config.kubernetes.io/v1\nkind: Other\nitems:\n- a: 1\n", `unexpected kind "Other"`},
	} {
		_, err := ParseList([]byte(c.in))
		require.Error(t, err, c.in)
		assert.Contains(t, err.Error(), c.want)
	}
}
