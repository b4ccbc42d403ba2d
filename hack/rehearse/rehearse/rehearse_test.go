package rehearse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func states(t *testing.T, docs ...string) []*State {
	t.Helper()
	var out []*State
	for i, d := range docs {
		st, err := parseState("0"+string(rune('0'+i))+"-step", "", []byte(d))
		require.NoError(t, err)
		out = append(out, st)
	}
	return out
}

const (
	crd = `apiVersion: apiextensions.k8s.io/v1beta1
kind: CustomResourceDefinition
metadata: {name: gateways.networking.istio.io}
spec: {group: networking.istio.io, names: {kind: Gateway, plural: gateways}}
`
	pdbV1beta1 = `apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: gw, namespace: istio-system}
spec: {minAvailable: 1}
`
	hpaV2 = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: gw, namespace: istio-system}
spec:
  minReplicas: 2
  maxReplicas: 5
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: gw}
`
)

// The newest Kubernetes that serves every API: 1.21 for v1beta1 CRDs
// (removed in 1.22), 1.24 for policy/v1beta1 alone, 1.34 for current APIs.
func TestChooseVersion(t *testing.T) {
	for _, c := range []struct {
		docs []string
		want string
	}{
		{[]string{crd + "---\n" + pdbV1beta1}, "1.21.14"},
		{[]string{pdbV1beta1}, "1.24.17"},
		{[]string{hpaV2}, "1.34.3"},
	} {
		got, err := chooseVersion("", states(t, c.docs...))
		require.NoError(t, err)
		require.Equal(t, c.want, got, c.docs)
	}
	got, err := chooseVersion("1.24", states(t, crd))
	require.NoError(t, err)
	require.Equal(t, "1.24.17", got)
	_, err = chooseVersion("1.99", nil)
	require.ErrorContains(t, err, `--kubernetes "1.99"`)
}

// An API the server does not serve is named with the version that removed
// it; a kind whose CRD the step brings is not.
func TestUnservedAPIs(t *testing.T) {
	st := states(t, crd+"---\n"+pdbV1beta1+`---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: gw, namespace: default}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: default}
`)[0]
	got := unservedAPIs(st.Objects, func(schema.GroupVersionKind) bool { return false }, 34)
	var lines []string
	for id, msg := range got {
		lines = append(lines, id.String()+": "+msg)
	}
	require.Len(t, got, 3, strings.Join(lines, "\n"))
	require.Contains(t, strings.Join(lines, "\n"), "PodDisruptionBudget.policy/istio-system/gw: policy/v1beta1 PodDisruptionBudget is not served by Kubernetes 1.34: it was removed in 1.25 (rehearse on Kubernetes 1.24 or older, --kubernetes 1.24)")
	require.Contains(t, strings.Join(lines, "\n"), "CustomResourceDefinition.apiextensions.k8s.io/gateways.networking.istio.io: apiextensions.k8s.io/v1beta1 CustomResourceDefinition is not served by Kubernetes 1.34: it was removed in 1.22 (rehearse on Kubernetes 1.21 or older, --kubernetes 1.21)")
	require.Contains(t, strings.Join(lines, "\n"), "Widget.example.com/default/w: example.com/v1 Widget is not served by this API server (Kubernetes 1.34) and no CustomResourceDefinition in the step defines it")
}

// Sync waves: lowest first, 0 when absent, negative waves before it.
func TestSyncWaves(t *testing.T) {
	st := states(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: x, annotations: {argocd.argoproj.io/sync-wave: "2"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: x}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: x, annotations: {argocd.argoproj.io/sync-wave: "-1"}}
`)[0]
	var names [][]string
	for _, w := range syncWaves(st.Objects) {
		var n []string
		for _, o := range w {
			n = append(n, o.GetName())
		}
		names = append(names, n)
	}
	require.Equal(t, [][]string{{"c"}, {"b"}, {"a"}}, names)
}

// What a step removed is pruned, by group, kind, namespace and name (a new
// API version is an update), except what the applier is told to keep.
func TestRemovedObjects(t *testing.T) {
	st := states(t, `apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata: {name: gw, namespace: istio-system}
spec:
  maxReplicas: 5
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: gw}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: gone, namespace: istio-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kept, namespace: istio-system, annotations: {kustomize.toolkit.fluxcd.io/prune: disabled, argocd.argoproj.io/sync-options: Prune=false}}
`, hpaV2)
	names := func(how Applier) []string {
		var out []string
		for _, o := range removedObjects(st[0], st[1], how) {
			out = append(out, o.GetName())
		}
		return out
	}
	require.Equal(t, []string{"gone"}, names(Flux))
	require.Equal(t, []string{"gone"}, names(ArgoCD))
	require.Equal(t, []string{"gone", "kept"}, names(Kubectl))
}

// A build that still holds revshift's Step ran without its functions.
func TestParseStateRefusesUnrunStep(t *testing.T) {
	_, err := parseState("03-canary-gateways", "", []byte(`apiVersion: revshift.dev/v1alpha1
kind: Step
metadata: {name: canary-gateways}
`))
	require.ErrorContains(t, err, "kustomize ran without --enable-exec or revshift is not on PATH")
}

// HPA minimums of the running state, as int64 from the API machinery's
// JSON decoding.
func TestHPAMinimums(t *testing.T) {
	got := hpaMinimums(states(t, hpaV2)[0].Objects)
	require.Len(t, got, 1)
	require.Equal(t, int64(2), got[0].MinReadyReplicas)
	require.Equal(t, "gw", got[0].Name)
}
