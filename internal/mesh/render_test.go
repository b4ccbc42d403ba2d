package mesh

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestRunningRender(t *testing.T) {
	items := parse(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: plain}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: running
  annotations: {revshift.dev/running-render: "true"}
data:
  z.yaml: |
    apiVersion: v1
    kind: Service
    metadata: {name: z, namespace: istio-system}
  a.yaml: |
    # Resources for Base component
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: a, namespace: istio-system}
    ---
    ---
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: a, namespace: istio-system}
`)
	objs, carriers, err := RunningRender(NewItems(items))
	require.NoError(t, err)
	require.Len(t, carriers, 1)
	assert.Equal(t, "running", carriers[0].Node().GetName())
	var names []string
	for _, o := range objs {
		names = append(names, o.Node().GetKind()+"/"+o.Node().GetName())
	}
	assert.Equal(t, []string{"Service/a", "ServiceAccount/a", "Service/z"}, names, "keys in order, empty documents skipped")

	for _, c := range []struct{ data, want string }{
		{"data: {x.yaml: 'a: &a [1]\n\n  b: *a'}", "ConfigMap running data.x.yaml: document 1, line"},
		{"data: {x.yaml: '- a\n- b'}", "ConfigMap running data.x.yaml: document 1 (line 1): expected an object"},
		{"data: {x.yaml: 'a: [1'}", "ConfigMap running data.x.yaml: document 1:"},
		{"data: {}", "ConfigMap running is annotated revshift.dev/running-render but has no data"},
	} {
		items := parse(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: running\n  annotations: {revshift.dev/running-render: \"true\"}\n"+c.data+"\n")
		_, _, err := RunningRender(NewItems(items))
		require.Error(t, err, c.data)
		assert.Contains(t, err.Error(), c.want)
	}
}

// A carried render is read document by document, as text with its facts,
// when its documents are separated by plain "---" lines (istioctl's
// output); any other stream is parsed whole. Both give the same objects.
func TestParseStreamLazily(t *testing.T) {
	for name, c := range map[string]struct {
		stream string
		lazy   bool
	}{
		"istioctl":         {"# Source: base\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-system # ns\n---\n---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    a: 1\n\n    b: 2\n", true},
		"marker content":   {"--- # a comment\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", false},
		"document end":     {"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n...\n", false},
		"quoted at col 0":  {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: \"x\ny\"}\n", true},
		"no trailing line": {"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}", true},
	} {
		t.Run(name, func(t *testing.T) {
			lazy, ok := parseStreamLazily(c.stream)
			assert.Equal(t, c.lazy, ok)
			items, err := parseStream(c.stream)
			require.NoError(t, err)
			var whole []*yaml.RNode
			dec := yaml.NewDecoder(strings.NewReader(c.stream))
			for {
				var n yaml.Node
				if dec.Decode(&n) != nil {
					break
				}
				if len(n.Content) == 1 && n.Content[0].Kind == yaml.MappingNode {
					whole = append(whole, yaml.NewRNode(n.Content[0]))
				}
			}
			require.Len(t, items, len(whole))
			for i := range whole {
				assert.False(t, c.lazy && items[i].Materialized(), "kept as text")
				assert.Equal(t, whole[i].MustString(), items[i].Node().MustString())
			}
			if ok {
				require.Len(t, lazy, len(whole))
			}
		})
	}
}

// A carrier read as text stays text (it is written back as read), and a
// second read of the same carrier (the next function of a Step) gives the
// same objects without parsing them again, unaffected by edits to the
// objects the first read handed out.
func TestRunningRenderOfATextCarrier(t *testing.T) {
	entry := "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: running\n    annotations: {revshift.dev/running-render: \"true\"}\n  data:\n    a.yaml: |\n      apiVersion: v1\n      kind: Service\n      metadata: {name: a, namespace: istio-system}\n      ---\n      apiVersion: v1\n      kind: ServiceAccount\n      metadata: {name: a, namespace: istio-system}\n"
	carrier, err := ParseEntry([]byte(entry), 1)
	require.NoError(t, err)
	require.True(t, IsRunningRender(carrier))
	first, _, err := RunningRender([]*Item{carrier})
	require.NoError(t, err)
	require.Len(t, first, 2)
	assert.False(t, carrier.Materialized(), "reading a carrier leaves it text")
	require.NotNil(t, carrier.carried, "a text carrier keeps what it read")
	require.NoError(t, first[0].SetAnnotation(AnnotationState, StateOld))
	require.NoError(t, first[1].Node().SetName("renamed"))

	second, _, err := RunningRender([]*Item{carrier})
	require.NoError(t, err)
	require.Len(t, second, 2)
	for i, o := range second {
		assert.False(t, o.Materialized())
		assert.NotSame(t, first[i], o)
	}
	_, marked := second[0].Annotation(AnnotationState)
	assert.False(t, marked, "an edit of the first read's object is not in the second")
	assert.Equal(t, "a", second[1].Node().GetName())

	var out strings.Builder
	require.NoError(t, carrier.WriteEntry(&out))
	assert.Equal(t, entry, out.String(), "the carrier passes byte for byte")

	// A carrier whose node is read (and may have been edited) is read again.
	carrier.Node().SetDataMap(map[string]string{"b.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"})
	third, _, err := RunningRender([]*Item{carrier})
	require.NoError(t, err)
	require.Len(t, third, 1)
	assert.Equal(t, "Namespace", third[0].Node().GetKind())
}
