package mesh

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"
)

const selectionFixture = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: old, namespace: default}
spec:
  selector: {matchLabels: {app: gw}}
  template:
    metadata: {labels: {app: gw, istio: ingressgateway}}
    spec: {containers: [{name: istio-proxy, args: [proxy, router]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: new, namespace: default}
spec:
  selector: {matchLabels: {app: gw, rev: b}}
  template:
    metadata: {labels: {app: gw, istio: ingressgateway, rev: b}}
    spec: {containers: [{name: istio-proxy, args: [proxy, router]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: elsewhere, namespace: other}
spec:
  selector: {matchLabels: {app: gw}}
  template:
    metadata: {labels: {app: gw, istio: ingressgateway}}
    spec: {containers: [{name: istio-proxy, args: [proxy, router]}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: all, namespace: default}
spec: {selector: {matchLabels: {app: gw}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: new-only, namespace: default}
spec: {selector: {matchExpressions: [{key: rev, operator: In, values: [b]}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: not-b, namespace: default}
spec: {selector: {matchExpressions: [{key: rev, operator: NotIn, values: [b]}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: none, namespace: default}
spec: {selector: {matchLabels: {app: nothing}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: gw-not-b, namespace: default}
spec: {selector: {matchLabels: {app: gw}, matchExpressions: [{key: rev, operator: NotIn, values: [b]}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: b-or-c, namespace: default}
spec: {selector: {matchLabels: {app: gw}, matchExpressions: [{key: rev, operator: In, values: [c, b]}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: c-or-d, namespace: default}
spec: {selector: {matchExpressions: [{key: rev, operator: In, values: [c, d]}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: has-rev, namespace: default}
spec: {selector: {matchLabels: {app: gw}, matchExpressions: [{key: rev, operator: Exists}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: not-zz, namespace: default}
spec: {selector: {matchExpressions: [{key: rev, operator: NotIn, values: [zz, yy]}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: no-rev, namespace: default}
spec: {selector: {matchLabels: {istio: ingressgateway}, matchExpressions: [{key: rev, operator: DoesNotExist}]}}
---
apiVersion: v1
kind: Service
metadata: {name: gw, namespace: default}
spec: {selector: {app: gw}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: gw-b, namespace: default}
spec: {selector: {app: gw, rev: b}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: gw-c, namespace: default}
spec: {selector: {app: gw, rev: c}, ports: [{port: 80}]}
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: both, namespace: default}
spec: {selector: {istio: ingressgateway}}
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: b-only, namespace: other}
spec: {selector: {istio: ingressgateway, rev: b}}
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: empty, namespace: default}
spec: {}
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw-and-b, namespace: default}
spec: {selector: {app: gw, rev: b}}
`

func selNames(ws []*Workload) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ID.Namespace+"/"+w.ID.Name)
	}
	return out
}

// The relations (Service.Selected and Workload.Services, PDB.Selected and
// Workload.PDBs, Workload.IstioGateways) equal scans of every candidate
// through its selector on every object, in both directions.
func TestIndexedSelectionMatchesScans(t *testing.T) {
	m := build(t, selectionFixture)
	checkSelectionsAgainstScans(t, m)
	byName := map[string][]string{}
	for _, p := range m.PDBs {
		byName[p.ID.Name] = selNames(p.Selected())
		require.Equal(t, selNames(p.Selected()), selNames(m.WorkloadsSelectedBy(p.ID.Namespace, p.Selector)), p.ID.String())
	}
	require.Equal(t, map[string][]string{
		"all":      {"default/old", "default/new"},
		"new-only": {"default/new"},
		"not-b":    {"default/old"},
		"none":     nil,
		"gw-not-b": {"default/old"},
		"b-or-c":   {"default/new"},
		"c-or-d":   nil,
		"has-rev":  {"default/new"},
		"not-zz":   {"default/old", "default/new"},
		"no-rev":   {"default/old"},
	}, byName)
	svcSel := map[string][]string{}
	for _, s := range m.Services {
		svcSel[s.ID.Name] = selNames(s.Selected())
	}
	require.Equal(t, map[string][]string{"gw": {"default/old", "default/new"}, "gw-b": {"default/new"}, "gw-c": nil}, svcSel)
	require.Equal(t, []string{"default/both"}, gwNames(m.Deployment("other", "elsewhere").IstioGateways()), "a Gateway selector applies across namespaces")
	require.Len(t, m.Deployment("default", "new").IstioGateways(), 3)
	require.Nil(t, m.WorkloadsSelectedBy("default", labels.Nothing()))
	require.Nil(t, m.WorkloadsSelectedBy("default", nil))
	require.Len(t, m.WorkloadsSelectedBy("default", labels.Everything()), 2)
	// A caller's append does not write into the model's relations.
	w := m.Deployment("default", "new")
	before := gwNames(w.IstioGateways())
	_ = append(w.IstioGateways(), m.IstioGateways[0])
	_ = append(w.PDBs(), m.PDBs[0])
	require.Equal(t, before, gwNames(w.IstioGateways()))
	checkSelectionsAgainstScans(t, m)
}

// gatewaysSelectingScan names, in input order, the Gateway resources whose
// selector is not empty and, as labels.SelectorFromSet, matches the
// workload's pod labels: every Gateway resource of the model is tried.
func gatewaysSelectingScan(m *Model, w *Workload) []string {
	var out []string
	for _, g := range m.IstioGateways {
		if len(g.Selector) > 0 && labels.SelectorFromSet(g.Selector).Matches(labels.Set(w.PodLabels)) {
			out = append(out, g.ID.Namespace+"/"+g.ID.Name)
		}
	}
	return out
}

func gwNames(gs []*IstioGateway) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.ID.Namespace+"/"+g.ID.Name)
	}
	return out
}

func TestAddressService(t *testing.T) {
	for _, c := range []struct {
		addr, from string
		want       ID
		ok         bool
	}{
		{"istiod.istio-system.svc:15012", "default", ID{Kind: "Service", Namespace: "istio-system", Name: "istiod"}, true},
		{"istiod-1-6-14.istio-system.svc.cluster.local:15012", "default", ID{Kind: "Service", Namespace: "istio-system", Name: "istiod-1-6-14"}, true},
		{"istio-pilot.istio-system:15012", "default", ID{Kind: "Service", Namespace: "istio-system", Name: "istio-pilot"}, true},
		{"istiod:15012", "istio-system", ID{Kind: "Service", Namespace: "istio-system", Name: "istiod"}, true},
		{"pilot.example.com:15012", "default", ID{}, false},
	} {
		got, ok := AddressService(c.addr, c.from)
		require.Equal(t, c.ok, ok, c.addr)
		require.Equal(t, c.want, got, c.addr)
	}
}

// Gateway resources that share app=ingressgateway but each select their own
// istio label are filed under their own pair, not under the pair that sorts
// first: a workload meets only its own.
func TestIstioGatewaysFiledUnderTheRarestPair(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&b, "apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: g%d, namespace: ns%d}\nspec:\n  selector: {app: ingressgateway, istio: gw%d}\n---\n", i, i, i)
		fmt.Fprintf(&b, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gw%d, namespace: ns%d}\nspec:\n  selector: {matchLabels: {app: gw%d}}\n  template:\n    metadata: {labels: {app: ingressgateway, istio: gw%d}}\n---\n", i, i, i, i)
	}
	m := build(t, b.String())
	filed := 0
	for pair, gs := range m.fileIstioGateways() {
		if len(gs) == 0 {
			continue
		}
		filed++
		assert.Len(t, gs, 1, pair)
		assert.NotEqual(t, m.pairID[labelPair{"app", "ingressgateway"}], int32(pair))
	}
	assert.Equal(t, 5, filed)
	for _, w := range m.Workloads {
		got := w.IstioGateways()
		require.Len(t, got, 1)
		assert.Equal(t, "g"+strings.TrimPrefix(w.ID.Name, "gw"), got[0].ID.Name)
		assert.Equal(t, gatewaysSelectingScan(m, w), gwNames(got))
	}
}

// IstioGateway.Selects answers as labels.SelectorFromSet(selector).Matches
// does, for every combination of these selectors and pod labels (empty
// values, missing keys, extra labels, an empty selector that Selects treats
// as no match).
func TestIstioGatewaySelectsMatchesSelectorFromSet(t *testing.T) {
	sets := []map[string]string{
		nil,
		{"istio": "ingressgateway"},
		{"istio": ""},
		{"istio": "ingressgateway", "app": "gw"},
		{"app": "gw"},
		{"istio": "ingressgateway", "app": "gw", "istio.io/rev": "1-6-14"},
	}
	for i, sel := range sets {
		g := &IstioGateway{Selector: sel}
		for j, pod := range sets {
			w := &Workload{PodLabels: pod}
			want := len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(pod))
			assert.Equal(t, want, g.Selects(w), "selector %d %v, pod labels %d %v", i, sel, j, pod)
		}
	}
}

// Pair and namespace numbers belong to one model. A record answers for its
// own model; a model asked about a selector from another model
// (WorkloadsSelectedBy, SelectsGateway, GatewaysProgrammedBy) answers from
// the selector's labels, and a selector whose namespace has no workload, or
// whose pair no pod carries, selects nothing.
func TestSelectionAcrossModels(t *testing.T) {
	m := build(t, selectionFixture)
	// other numbers its pairs in another order: the rev=b Deployment first,
	// plus a Service in an empty namespace and an HPA.
	other := build(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: x, namespace: default}
spec:
  selector: {matchLabels: {rev: b}}
  template:
    metadata: {labels: {rev: b, zone: z, istio: ingressgateway}}
---
apiVersion: v1
kind: Service
metadata: {name: gw-b, namespace: default}
spec: {selector: {app: gw, rev: b}}
---
apiVersion: v1
kind: Service
metadata: {name: gw, namespace: empty}
spec: {selector: {app: gw}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: new, namespace: default}
spec:
  selector: {matchLabels: {app: gw, rev: b}}
  template:
    metadata: {labels: {app: gw, istio: ingressgateway, rev: b}}
    spec: {containers: [{name: istio-proxy, args: [proxy, router]}]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: new, namespace: default}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: new}, minReplicas: 3, maxReplicas: 5}
`)
	require.NotEqual(t, m.pairID[labelPair{"rev", "b"}], other.pairID[labelPair{"rev", "b"}], "the fixture must number pairs differently")
	checkSelectionsAgainstScans(t, other)
	selectedIn := func(in *Model, s *Service) []string {
		return selNames(in.WorkloadsSelectedBy(s.ID.Namespace, s.SelectorLabels()))
	}
	require.Equal(t, []string{"default/new"}, selectedIn(m, other.Service("default", "gw-b")))
	require.Nil(t, selectedIn(other, other.Service("empty", "gw")), "a namespace without workloads")
	require.Nil(t, selectedIn(other, m.Service("default", "gw-c")), "rev=c is on no pod of other")
	require.Equal(t, []string{"default/new"}, selectedIn(other, m.Service("default", "gw-b")))
	require.Equal(t, selNames(other.Service("default", "gw-b").Selected()), selectedIn(other, m.Service("default", "gw-b")))
	require.True(t, other.SelectsGateway(m.Service("default", "gw-b")))
	require.False(t, other.SelectsGateway(m.Service("default", "gw-c")))
	require.True(t, m.SelectsGateway(other.Service("default", "gw-b")))

	// Gateway resources of m against other's gateways.
	for _, ig := range m.IstioGateways {
		var want []string
		for _, g := range other.Gateways {
			if len(ig.Selector) > 0 && labels.SelectorFromSet(ig.Selector).Matches(labels.Set(g.PodLabels)) {
				want = append(want, g.ID.Namespace+"/"+g.ID.Name)
			}
		}
		var got []string
		for _, g := range other.GatewaysProgrammedBy(ig) {
			got = append(got, g.ID.Namespace+"/"+g.ID.Name)
		}
		require.Equal(t, want, got, ig.ID.String())
		for _, w := range other.Workloads {
			want := len(ig.Selector) > 0 && labels.SelectorFromSet(ig.Selector).Matches(labels.Set(w.PodLabels))
			require.Equal(t, want, ig.Selects(w), "%s selects %s", ig.ID, w.ID)
		}
	}
	// PDB new-only of m (rev In (b)) asked of other by its selector.
	require.Equal(t, []string{"default/x", "default/new"}, selNames(other.WorkloadsSelectedBy("default", m.PDBs[1].Selector)))

	// HPA and role of a workload of another model.
	newM, newO := m.Deployment("default", "new"), other.Deployment("default", "new")
	require.Equal(t, int64(3), other.MinReplicas(newM), "by identity")
	require.Equal(t, int64(3), other.MinReplicas(newO))
	require.Nil(t, m.HPAFor(newO))
	require.Same(t, m.Gateways[1], newM.Gateway(), "a workload's role is in its own model")
	require.Same(t, other.Gateways[0], newO.Gateway())
	require.Nil(t, other.Deployment("default", "x").Gateway())
}
