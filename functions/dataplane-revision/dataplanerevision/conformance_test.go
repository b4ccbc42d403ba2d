package dataplanerevision

import (
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The real renders carry a single Namespace: istio-system in the 1.5.10
// control plane, labelled istio-injection=disabled. The modern renders carry
// none (istioctl stopped rendering the namespace). So on the renders alone
// the function has nothing to do, and says so.
func TestConformanceRendersAlone(t *testing.T) {
	for _, files := range [][]string{
		{"1.5-to-1.6-seed/1.5.10/control-plane.yaml", "1.5-to-1.6-seed/1.5.10/gateways.yaml"},
		{"1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml"},
		{"1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.29.6/gateways.yaml"},
		{"1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml", "1.29-to-1.31-modern/1.31.0/gateways.rev-1-31-0.yaml"},
	} {
		t.Run(files[0], func(t *testing.T) {
			items := krmtest.Render(t, files...)
			var nss []string
			for _, n := range items {
				if n.GetKind() == "Namespace" {
					nss = append(nss, n.GetName()+" "+n.GetLabels()[mesh.LabelInjection])
				}
			}
			if files[0] == "1.5-to-1.6-seed/1.5.10/control-plane.yaml" {
				assert.Equal(t, []string{"istio-system disabled"}, nss)
			} else {
				assert.Empty(t, nss)
			}
			input := krmtest.ResourceList(t, items, nil)
			want := received(t, input)
			out := krmtest.Run(t, krm.Processor(Transform), input)
			require.True(t, out.OK, "%v", out.Results)
			require.Len(t, out.Items, len(want))
			for i := range want {
				assert.Equal(t, want[i], out.Items[i].MustString())
			}
			require.Len(t, out.Results, 1)
			assert.Contains(t, out.Results[0].Message, "nothing to do")
		})
	}
}

// received is each item as the function receives it, serialized (a
// document's leading comment is not part of an item).
func received(t *testing.T, input []byte) []string {
	rl, err := krm.Parse(input)
	require.NoError(t, err)
	out := make([]string, len(rl.Items))
	for i, it := range rl.Items {
		out[i] = it.MoveToResourceNode().MustString()
	}
	return out
}

// userObjects are what a user's repository adds to the renders: injected
// namespaces (one of them the namespace of the seed's user gateway) and
// their workloads.
func userObjects(t *testing.T, nsLabels map[string]string) []*yaml.RNode {
	var b strings.Builder
	for ns, l := range nsLabels {
		k, v, _ := strings.Cut(l, "=")
		b.WriteString("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n  labels:\n    " + k + ": " + v + "\n---\n")
		b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: " + ns +
			"\nspec:\n  selector:\n    matchLabels: {app: app}\n  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n      - {name: app, image: example/app:1}\n---\n")
	}
	return krmtest.ParseYAML(t, []byte(b.String()))
}

// union is the old render plus every object of the new one it lacks: the
// old objects win, as in the canary states (the new render's non-revisioned
// objects must not replace the running ones).
func union(old, added []*yaml.RNode) []*yaml.RNode {
	key := func(n *yaml.RNode) string {
		return mesh.GroupOf(n.GetApiVersion()) + "/" + n.GetKind() + "/" + n.GetNamespace() + "/" + n.GetName()
	}
	seen := map[string]bool{}
	for _, n := range old {
		seen[key(n)] = true
	}
	out := append([]*yaml.RNode{}, old...)
	for _, n := range added {
		if !seen[key(n)] {
			out = append(out, n)
		}
	}
	return out
}

type conformanceCase struct {
	renders  [2][]string
	nsLabels map[string]string
	rev      string
	oldRev   string
	gateway  [2]string // namespace/name of a rendered gateway in a relabelled namespace, if any
}

func runConformance(t *testing.T, c conformanceCase) {
	renders := union(krmtest.Render(t, c.renders[0]...), krmtest.Render(t, c.renders[1]...))
	items := append(renders, userObjects(t, c.nsLabels)...)

	// The precedence this function exists for, on the real injectors: a
	// namespace that keeps istio-injection next to the new istio.io/rev is
	// still served by the old revision only.
	m, err := mesh.Build(items)
	require.NoError(t, err)
	revsOf := func(l map[string]string) []string {
		var out []string
		for _, h := range m.InjectorsForNamespace(l) {
			r, _ := m.WebhookRevision(h)
			out = append(out, r)
		}
		return out
	}
	assert.Equal(t, []string{c.oldRev}, revsOf(map[string]string{mesh.LabelInjection: "enabled", mesh.LabelRev: c.rev}))
	assert.Equal(t, []string{c.rev}, revsOf(map[string]string{mesh.LabelRev: c.rev}))

	input := krmtest.ResourceList(t, items, nil)
	want := received(t, input)[:len(renders)]
	out := krmtest.RunTwice(t, krm.Processor(Transform), items, nil)
	require.Len(t, out.Items, len(items))

	// Every rendered object passes through unchanged, gateways included.
	for i := range renders {
		assert.Equal(t, want[i], out.Items[i].MustString(), "rendered %s %s/%s changed", out.Items[i].GetKind(), out.Items[i].GetNamespace(), out.Items[i].GetName())
	}
	for ns := range c.nsLabels {
		n := krmtest.Find(out.Items, "Namespace", "", ns)
		require.NotNil(t, n)
		assert.Equal(t, map[string]string{mesh.LabelRev: c.rev}, n.GetLabels(), ns)
		d := krmtest.Find(out.Items, "Deployment", ns, "app")
		a, err := d.Pipe(yaml.Lookup("spec", "template", "metadata", "annotations", AnnotationRestartedFor))
		require.NoError(t, err)
		require.NotNil(t, a, ns)
		assert.Equal(t, c.rev, a.YNode().Value)
	}
	// No warning: the real injector of the revision serves every relabelled
	// namespace, and no other one does.
	msgs := map[string][]string{}
	for _, r := range out.Results {
		assert.NotEqual(t, fn.Warning, r.Severity, r.Message)
		name := ""
		if r.ResourceRef != nil {
			name = r.ResourceRef.Kind + "/" + r.ResourceRef.Namespace + "/" + r.ResourceRef.Name
		}
		msgs[name] = append(msgs[name], r.Message)
	}
	assert.Contains(t, msgs[""][0], "target revision "+c.rev+" (inferred")
	for ns := range c.nsLabels {
		require.Len(t, msgs["Namespace//"+ns], 1)
		assert.Contains(t, msgs["Namespace//"+ns][0], "istio-sidecar-injector-"+c.rev)
		assert.Len(t, msgs["Deployment/"+ns+"/app"], 1)
	}
	if c.gateway[0] != "" {
		g := msgs["Deployment/"+c.gateway[0]+"/"+c.gateway[1]]
		require.Len(t, g, 1)
		assert.Contains(t, g[0], "is a gateway")
	}
}

// The seed: 1.5.10 running, 1.6.14 installed as revision 1-6-14. The user
// gateway custom-gw runs in default, which is injected: it is reported and
// left to revision-gateway.
func TestConformanceSeed(t *testing.T) {
	runConformance(t, conformanceCase{
		renders: [2][]string{
			{"1.5-to-1.6-seed/1.5.10/control-plane.yaml", "1.5-to-1.6-seed/1.5.10/gateways.yaml"},
			{"1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml"},
		},
		nsLabels: map[string]string{"default": "istio-injection=enabled", "shop": "istio-injection=enabled"},
		rev:      "1-6-14",
		oldRev:   mesh.DefaultRevision,
		gateway:  [2]string{"default", "custom-gw"},
	})
}

// The modern pair: 1.29.6 default install, 1.31.0 as revision 1-31-0;
// namespaces on the legacy label and on istio.io/rev=default.
func TestConformanceModern(t *testing.T) {
	runConformance(t, conformanceCase{
		renders: [2][]string{
			{"1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.29.6/gateways.yaml"},
			{"1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml"},
		},
		nsLabels: map[string]string{"default": "istio-injection=enabled", "search": "istio.io/rev=default"},
		rev:      "1-31-0",
		oldRev:   mesh.DefaultRevision,
		gateway:  [2]string{"default", "custom-gw"},
	})
}
