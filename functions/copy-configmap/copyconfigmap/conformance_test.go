package copyconfigmap

import (
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// On the seed's 1.6.14 revision renders (control plane + the unchanged
// gateway input rendered with -r 1-6-14), exactly one ConfigMap is added:
// default/istio-1-6-14, with the source's data.mesh.
func TestConformanceSeed(t *testing.T) {
	items := krmtest.Render(t, "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml")
	before := len(items)
	src := krmtest.Find(items, "ConfigMap", "istio-system", "istio-1-6-14")
	require.NotNil(t, src)
	srcMesh := src.GetDataMap()["mesh"]
	require.NotEmpty(t, srcMesh)

	// A second run on its output adds nothing.
	out := krmtest.RunTwice(t, krm.Processor(Transform), items, nil)
	require.Len(t, out.Items, before+1)
	cp := krmtest.Find(out.Items, "ConfigMap", "default", "istio-1-6-14")
	require.NotNil(t, cp)
	assert.Equal(t, srcMesh, cp.GetDataMap()["mesh"])
	assert.Equal(t, "istio-system/istio-1-6-14", cp.GetAnnotations()[AnnotationCopiedFrom])
	assert.Equal(t, "istio-1-6-14", cp.GetLabels()[LabelCopyOf])
}

// The modern pair: the 1.31 gateway outside istio-system mounts istio-1-31-0.
func TestConformanceModern(t *testing.T) {
	items := krmtest.Render(t, "1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml", "1.29-to-1.31-modern/1.31.0/gateways.rev-1-31-0.yaml")
	out := krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, items, nil))
	require.True(t, out.OK, "%v", out.Results)
	require.Len(t, out.Items, len(items)+1)
	assert.NotNil(t, krmtest.Find(out.Items, "ConfigMap", "default", "istio-1-31-0"))
}

// Objects the function does not own come out byte-identical, comments and
// field order included.
func TestConformancePassthrough(t *testing.T) {
	input := krmtest.ResourceList(t, krmtest.Render(t, "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml"), nil)
	// What the function receives, as kustomize would send it.
	rl, err := krm.Parse(input)
	require.NoError(t, err)
	items := make([]*yaml.RNode, len(rl.Items))
	for i, it := range rl.Items {
		items[i] = it.MoveToResourceNode()
	}
	want := make([]string, len(items))
	for i, n := range items {
		want[i] = n.MustString()
	}
	out := krmtest.Run(t, krm.Processor(Transform), input)
	require.True(t, out.OK)
	for i := range want {
		got, err := out.Items[i].String()
		require.NoError(t, err)
		if got != want[i] {
			t.Errorf("item %d (%s %s) changed:\n%s", i, out.Items[i].GetKind(), out.Items[i].GetName(), firstDiff(want[i], got))
		}
	}
}

func firstDiff(a, b string) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			lo := max(0, i-80)
			return "want ..." + a[lo:min(len(a), i+80)] + "\n got ..." + b[lo:min(len(b), i+80)]
		}
	}
	return "lengths differ"
}
