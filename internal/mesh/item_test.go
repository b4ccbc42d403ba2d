package mesh

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const gatewayEntry = `- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: istio-ingressgateway
    namespace: istio-ingress # kept as written
    annotations:
      revshift.dev/state: old
      other: "x"
  spec:
    selector:
      matchLabels: {istio: ingressgateway}
    template:
      metadata:
        labels: {istio: ingressgateway, app: istio-ingressgateway}
      spec:
        containers:
        - name: istio-proxy
          image: proxyv2
`

func TestItemStaysTextUntilAskedFor(t *testing.T) {
	it, err := ParseEntry([]byte(gatewayEntry), 7)
	require.NoError(t, err)
	assert.False(t, it.Materialized())

	// The model reads its facts; a revshift.dev/ annotation is among them.
	m, err := BuildItems([]*Item{it})
	require.NoError(t, err)
	w := m.Deployment("istio-ingress", "istio-ingressgateway")
	require.NotNil(t, w)
	assert.Equal(t, map[string]string{"istio": "ingressgateway", "app": "istio-ingressgateway"}, w.PodLabels)
	v, ok := it.Annotation(AnnotationState)
	assert.True(t, ok)
	assert.Equal(t, StateOld, v)
	assert.False(t, it.Materialized(), "neither the model nor a revshift.dev/ annotation parses the text again")

	var out bytes.Buffer
	require.NoError(t, it.WriteEntry(&out))
	assert.Equal(t, gatewayEntry, out.String(), "written back byte for byte")

	// Any other annotation, or the node, materializes the item.
	v, ok = it.Annotation("other")
	assert.True(t, ok)
	assert.Equal(t, "x", v)
	assert.True(t, it.Materialized())
	n := w.Node()
	assert.Same(t, it.Node(), n, "the object and the item share one node")
	assert.Equal(t, "matchLabels: {istio: ingressgateway}\n", yaml.NewRNode(w.SelectorNode()).MustString())

	// An edit shows in the output and in a rebuilt model.
	require.NoError(t, n.PipeE(yaml.SetLabel("rebuilt", "yes")))
	require.NoError(t, setPath(n, "ingressgateway-2", "spec", "template", "metadata", "labels", "istio"))
	m2, err := BuildItems([]*Item{it})
	require.NoError(t, err)
	assert.Equal(t, "ingressgateway-2", m2.Deployment("istio-ingress", "istio-ingressgateway").PodLabels["istio"])
	assert.Equal(t, "ingressgateway", w.PodLabels["istio"], "the first model is a snapshot")
	out.Reset()
	require.NoError(t, it.WriteEntry(&out))
	assert.Contains(t, out.String(), "rebuilt: 'yes'")
	assert.Contains(t, out.String(), "namespace: istio-ingress # kept as written")
}

func TestFreezeRoundTrip(t *testing.T) {
	n := yaml.MustParse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c # the copy\n  labels: {revshift.dev/copy-of: istio}\ndata:\n  mesh: |-\n    a: 1\n\n    b: 2\n")
	it, err := NewTextItem(n)
	require.NoError(t, err)
	assert.False(t, it.Materialized())
	v, ok := it.Label("revshift.dev/copy-of")
	assert.True(t, ok, "facts of a frozen item are read from its text")
	assert.Equal(t, "istio", v)
	assert.False(t, it.Materialized())
	var out bytes.Buffer
	require.NoError(t, it.WriteEntry(&out))
	var want bytes.Buffer
	require.NoError(t, EncodeNode(&want, n.YNode()))
	var entry bytes.Buffer
	require.NoError(t, IndentEntry(&entry, want.Bytes()))
	assert.Equal(t, entry.String(), out.String())
	assert.Equal(t, "a: 1\n\nb: 2", it.Node().GetDataMap()["mesh"], "parsed again on demand, blank lines of block scalars kept")
}

func TestIdentifyItem(t *testing.T) {
	it, err := ParseEntry([]byte("- apiVersion: v1\n  kind: ConfigMap\n  metadata: {namespace: x}\n"), 1)
	require.NoError(t, err, "an object the model cannot identify is Build's error, not the parser's")
	_, err = IdentifyItem(3, it)
	require.Error(t, err)
	assert.Equal(t, "items[3]: metadata.name: missing (ConfigMap)", err.Error())
	_, err = BuildItems([]*Item{NewItem(yaml.MustParse("kind: A\napiVersion: v1\nmetadata: {name: a}\n")), it})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "items[1]: metadata.name: missing (ConfigMap)", "the index is the position in the list built")
}

func setPath(n *yaml.RNode, value string, path ...string) error {
	return n.PipeE(yaml.LookupCreate(yaml.MappingNode, path[:len(path)-1]...), yaml.SetField(path[len(path)-1], yaml.NewStringRNode(value)))
}

// SetAnnotation writes a revshift.dev/ annotation into an item's text where
// kyaml would put it: the result parses to what kyaml's SetAnnotation makes
// of the node, and the item stays text when the layout allows.
func TestSetAnnotationText(t *testing.T) {
	for _, c := range []struct {
		name, entry string
		text        bool
	}{
		{"annotations then labels", "- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    annotations:\n      x: \"1\"\n      y: |\n        multi\n    labels: {a: b}\n  spec: {}\n", true},
		{"no annotations, spec after", "- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    namespace: n\n  spec:\n    k: v\n", true},
		{"metadata last, no newline", "- apiVersion: v1\n  kind: A\n  metadata:\n    name: a", true},
		{"annotations last in object", "- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    annotations:\n      x: y\n", true},
		{"wide indentation", "-   apiVersion: v1\n    kind: A\n    metadata:\n        name: a\n        annotations:\n            x: y\n    data: {}\n", true},
		{"flow metadata", "- apiVersion: v1\n  kind: A\n  metadata: {name: a}\n", false},
		{"flow annotations", "- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    annotations: {x: y}\n", false},
		{"comment above next key", "- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n  # the spec\n  spec: {}\n", false},
		{"already set", "- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    annotations:\n      revshift.dev/state: old\n", true},
		{"set to another value", "- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    annotations:\n      revshift.dev/state: new\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			it, err := ParseEntry([]byte(c.entry), 1)
			require.NoError(t, err)
			want, err := parseEntry([]byte(c.entry), 1)
			require.NoError(t, err)
			wn := yaml.NewRNode(want)
			for _, kv := range [][2]string{{AnnotationState, StateOld}, {"revshift.dev/other", "x"}} {
				require.NoError(t, it.SetAnnotation(kv[0], kv[1]))
				require.NoError(t, wn.PipeE(yaml.SetAnnotation(kv[0], kv[1])))
			}
			assert.Equal(t, c.text, !it.Materialized(), "kept as text")
			v, ok := it.Annotation(AnnotationState)
			assert.True(t, ok)
			assert.Equal(t, StateOld, v, "the facts follow")
			var got, exp bytes.Buffer
			require.NoError(t, EncodeNode(&got, it.Node().YNode()))
			require.NoError(t, EncodeNode(&exp, wn.YNode()))
			assert.Equal(t, exp.String(), got.String())
		})
	}
}

// Removing the annotations SetAnnotation wrote gives the text back as it was
// read, byte for byte; removing another edits the node.
func TestRemoveAnnotationUndoesText(t *testing.T) {
	entry := "- apiVersion: v1\n  kind: A\n  metadata:\n    name: a # as written\n  spec: {k: v}\n"
	it, err := ParseEntry([]byte(entry), 1)
	require.NoError(t, err)
	require.NoError(t, it.SetAnnotation(AnnotationState, StateOld))
	require.NoError(t, it.SetAnnotation("revshift.dev/other", "x"))
	require.NoError(t, it.RemoveAnnotation("revshift.dev/other"))
	assert.True(t, it.Materialized(), "one written annotation left: the node is edited")

	it, err = ParseEntry([]byte(entry), 1)
	require.NoError(t, err)
	require.NoError(t, it.SetAnnotation(AnnotationState, StateOld))
	assert.True(t, it.HasAnnotation(AnnotationState))
	require.NoError(t, it.RemoveAnnotation(AnnotationState))
	assert.False(t, it.Materialized())
	assert.False(t, it.HasAnnotation(AnnotationState), "the facts follow")
	var out bytes.Buffer
	require.NoError(t, it.WriteEntry(&out))
	assert.Equal(t, entry, out.String())

	// An annotation that came with the text is removed from the node, with
	// the map it leaves empty.
	it, err = ParseEntry([]byte("- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    annotations:\n      revshift.dev/state: old\n"), 1)
	require.NoError(t, err)
	require.NoError(t, it.RemoveAnnotation(AnnotationState))
	assert.Equal(t, "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n", it.Node().MustString())
}

// Whatever the entry, SetAnnotation's text edit reads back as kyaml's
// SetAnnotation of the node (same content), or the item is edited as a node.
func FuzzSetAnnotation(f *testing.F) {
	for _, s := range []string{
		"- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    annotations:\n      x: \"1\"\n    labels: {a: b}\n  spec: {}\n",
		"- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n  spec:\n    k: v\n",
		"- apiVersion: v1\n  kind: A\n  metadata:\n    name: a",
		"-   apiVersion: v1\n    kind: A\n    metadata:\n        name: a\n        annotations:\n            x: |\n              y\n    data: {}\n",
		"- kind: A\n  metadata:\n    name: a # c\n    namespace: n\n\n  # foot\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, entry []byte) {
		if len(entry) > 4096 {
			return
		}
		it, err := ParseEntry(entry, 1)
		if err != nil {
			return
		}
		want, err := parseEntry(entry, 1)
		require.NoError(t, err)
		wn := yaml.NewRNode(want)
		if err := wn.PipeE(yaml.SetAnnotation(AnnotationState, StateOld)); err != nil {
			return // kyaml cannot annotate it either (no metadata mapping)
		}
		require.NoError(t, it.SetAnnotation(AnnotationState, StateOld))
		if !it.Materialized() {
			_, err := ParseEntry(it.text, 1)
			require.NoError(t, err, "the edited text parses:\n%s", it.text)
		}
		assert.Equal(t, Plain(wn), Plain(it.Node()))
		require.NoError(t, it.RemoveAnnotation(AnnotationState))
		require.NoError(t, wn.PipeE(yaml.ClearAnnotation(AnnotationState)))
		if meta := wn.Field("metadata"); meta != nil {
			if a := meta.Value.Field("annotations"); a != nil && len(a.Value.YNode().Content) == 0 {
				require.NoError(t, meta.Value.PipeE(yaml.Clear("annotations")))
			}
		}
		assert.Equal(t, Plain(wn), Plain(it.Node()))
	})
}

// An annotation that came with the text, on a line of its own, is cut out
// of the text: the result reads back as kyaml's ClearAnnotation of the node,
// the rest of the entry stays as written, and the facts follow. Any other
// layout is edited as a node, with the same result.
func TestRemoveAnnotationLine(t *testing.T) {
	const prev = "internal.config.kubernetes.io/previousNames"
	head := "- apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    annotations:\n"
	tail := "    name: gw-sa-1-6-14 # as written\n    namespace: team-0000\n"
	for name, c := range map[string]struct {
		annotations string
		text        bool
	}{
		"kustomize's layout": {"      " + prev + ": gw-sa\n      config.kubernetes.io/index: '15'\n", true},
		"last of the map":    {"      config.kubernetes.io/index: '15'\n      " + prev + ": gw-sa\n", true},
		"single-quoted":      {"      " + prev + ": 'gw-sa,it''s'\n      a: b\n", true},
		"double-quoted":      {"      " + prev + ": \"gw-sa\\\" # x\" # comment\n      a: b\n", true},
		"line comment":       {"      " + prev + ": gw-sa # note\n      a: b\n", true},
		"the only one":       {"      " + prev + ": gw-sa\n", false},
		"plain over lines":   {"      " + prev + ": gw-sa\n        continued\n      a: b\n", false},
		"quoted over lines":  {"      " + prev + ": 'gw-sa\n        continued'\n      a: b\n", false},
		"blank line after":   {"      " + prev + ": gw-sa\n\n      a: b\n", false},
		"head comment":       {"      # why\n      " + prev + ": gw-sa\n      a: b\n", false},
		"literal":            {"      " + prev + ": |\n        gw-sa\n      a: b\n", false},
		"flow":               {"", false},
	} {
		t.Run(name, func(t *testing.T) {
			entry := head + c.annotations + tail
			if name == "flow" {
				entry = "- apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    annotations: {" + prev + ": gw-sa, a: b}\n" + tail
			}
			want, err := ParseEntry([]byte(entry), 1)
			require.NoError(t, err)
			require.NoError(t, want.Node().PipeE(yaml.ClearAnnotation(prev)))
			wantAnn := want.Node().GetAnnotations()

			it, err := ParseEntry([]byte(entry), 1)
			require.NoError(t, err)
			require.True(t, it.HasAnnotation(prev))
			require.NoError(t, it.RemoveAnnotation(prev))
			assert.Equal(t, !c.text, it.Materialized())
			assert.False(t, it.HasAnnotation(prev), "the facts follow")
			if !c.text {
				if len(wantAnn) == 0 {
					assert.Empty(t, it.Node().GetAnnotations(), "the emptied map is dropped")
				} else {
					assert.Equal(t, wantAnn, it.Node().GetAnnotations())
				}
				return
			}
			var out bytes.Buffer
			require.NoError(t, it.WriteEntry(&out))
			assert.Contains(t, out.String(), tail, "the rest stays as written")
			assert.NotContains(t, out.String(), prev)
			back, err := ParseEntry(out.Bytes(), 1)
			require.NoError(t, err)
			assert.Equal(t, want.Node().MustString(), back.Node().MustString(), "reads back as kyaml's edit")
			// SetAnnotation still writes where kyaml would.
			require.NoError(t, it.SetAnnotation(AnnotationState, StateOld))
			require.NoError(t, want.Node().PipeE(yaml.SetAnnotation(AnnotationState, StateOld)))
			assert.Equal(t, want.Node().MustString(), it.Node().MustString())
		})
	}
}

// prune-legacy's protection values are written into the text as well.
func TestSetAnnotationTextOptionList(t *testing.T) {
	entry := "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: istio-1-6-14 # as written\n    namespace: team-0000\n  data: {mesh: x}\n"
	it, err := ParseEntry([]byte(entry), 1)
	require.NoError(t, err)
	want := it.Node().Copy()
	it, err = ParseEntry([]byte(entry), 1)
	require.NoError(t, err)
	for k, v := range map[string]string{AnnotationSyncOptions: "Prune=false,ServerSideApply=true", "kustomize.toolkit.fluxcd.io/prune": "disabled", AnnotationSyncWave: "1"} {
		require.NoError(t, it.SetAnnotation(k, v))
		require.NoError(t, want.PipeE(yaml.SetAnnotation(k, v)))
	}
	assert.False(t, it.Materialized())
	v, _ := it.Annotation(AnnotationSyncOptions)
	assert.Equal(t, "Prune=false,ServerSideApply=true", v)
	assert.Contains(t, string(it.text), AnnotationSyncWave+": '1'", "a number is written as a string")
	var out bytes.Buffer
	require.NoError(t, it.WriteEntry(&out))
	assert.Contains(t, out.String(), "name: istio-1-6-14 # as written")
	assert.Equal(t, want.MustString(), it.Node().MustString())
}

// Whatever the entry, removing an annotation the facts hold (kustomize's
// previous names, a sync wave, ...) reads back as kyaml's ClearAnnotation of
// the node, the emptied map dropped; and an option list written as text
// reads back as kyaml's SetAnnotation.
func FuzzRemoveAnnotation(f *testing.F) {
	for _, s := range []string{
		"- apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    annotations:\n      internal.config.kubernetes.io/previousNames: gw-sa\n      internal.config.kubernetes.io/previousNamespaces: team-0000\n      kustomize.config.k8s.io/id: |\n        kind: ServiceAccount\n        name: gw-sa-1-6-14\n      config.kubernetes.io/index: '15'\n    name: gw-sa-1-6-14\n",
		"- apiVersion: v1\n  kind: A\n  metadata:\n    name: a\n    annotations:\n      argocd.argoproj.io/sync-wave: \"1\" # wave\n      revshift.dev/state: 'old'\n  spec: {}\n",
		"- apiVersion: v1\n  kind: A\n  metadata:\n    annotations: {argocd.argoproj.io/sync-wave: \"1\", a: b}\n    name: a\n",
		"- apiVersion: v1\n  kind: A\n  metadata:\n    annotations:\n      revshift.dev/state: old\n      x: 'a\n        b'\n    name: a\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, entry []byte) {
		if len(entry) > 4096 {
			return
		}
		probe, err := ParseEntry(entry, 1)
		if err != nil {
			return
		}
		var keys []string
		for k := range probe.factsOf().marks {
			if strings.HasPrefix(k, "a:") {
				keys = append(keys, k[2:])
			}
		}
		sort.Strings(keys)
		for _, key := range keys {
			it, err := ParseEntry(entry, 1)
			require.NoError(t, err)
			want, err := parseEntry(entry, 1)
			require.NoError(t, err)
			wn := yaml.NewRNode(want)
			if err := wn.PipeE(yaml.ClearAnnotation(key)); err != nil {
				continue
			}
			if meta := wn.Field("metadata"); meta != nil {
				if a := meta.Value.Field("annotations"); a != nil && len(a.Value.YNode().Content) == 0 {
					require.NoError(t, meta.Value.PipeE(yaml.Clear("annotations")))
				}
			}
			require.NoError(t, it.RemoveAnnotation(key))
			assert.False(t, it.HasAnnotation(key), key)
			if !it.Materialized() {
				_, err := ParseEntry(it.text, 1)
				require.NoError(t, err, "the edited text parses:\n%s", it.text)
			}
			assert.Equal(t, Plain(wn), Plain(it.Node()), "removing %s", key)
		}
		// An option list, as prune-legacy writes it.
		it, err := ParseEntry(entry, 1)
		require.NoError(t, err)
		want, err := parseEntry(entry, 1)
		require.NoError(t, err)
		wn := yaml.NewRNode(want)
		if err := wn.PipeE(yaml.SetAnnotation(AnnotationSyncOptions, "Prune=false,Validate=false")); err != nil {
			return
		}
		require.NoError(t, it.SetAnnotation(AnnotationSyncOptions, "Prune=false,Validate=false"))
		assert.Equal(t, Plain(wn), Plain(it.Node()))
	})
}
