package verify

import (
	"bytes"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	seed15CP  = "1.5-to-1.6-seed/1.5.10/control-plane.yaml"
	seed15GW  = "1.5-to-1.6-seed/1.5.10/gateways.yaml"
	seed16CP  = "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml"
	seed16GW  = "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml"
	seedHand  = "1.5-to-1.6-seed/1.6.14/gateways-seed-overlays.rev-1-6-14.yaml"
	seedRev   = "1-6-14"
	seedCMRev = "istio-1-6-14"
)

// identity returns a node's identity (the test fails on a bad node).
func identity(t testing.TB, n *yaml.RNode) mesh.ID {
	t.Helper()
	o, err := mesh.Identify(0, n)
	require.NoError(t, err)
	return o.ID
}

// union concatenates node lists, copying each node; an object whose
// identity is already present is dropped (the first one wins), as a test
// that lays a revision render over the running one must do for the names
// the two renders share.
func union(t testing.TB, lists ...[]*yaml.RNode) []*yaml.RNode {
	t.Helper()
	seen := map[mesh.ID]bool{}
	var out []*yaml.RNode
	for _, l := range lists {
		for _, n := range l {
			id := identity(t, n)
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, n.Copy())
		}
	}
	return out
}

// without returns copies of the nodes whose identity is not in drop.
func without(t testing.TB, nodes []*yaml.RNode, drop []*yaml.RNode) []*yaml.RNode {
	t.Helper()
	gone := map[mesh.ID]bool{}
	for _, n := range drop {
		gone[identity(t, n)] = true
	}
	var out []*yaml.RNode
	for _, n := range nodes {
		if !gone[identity(t, n)] {
			out = append(out, n.Copy())
		}
	}
	return out
}

func model(t testing.TB, nodes []*yaml.RNode) *mesh.Model {
	t.Helper()
	m, err := mesh.Build(nodes)
	require.NoError(t, err)
	return m
}

// edit applies f to a copy of the node with the given identity.
func edit(t testing.TB, nodes []*yaml.RNode, kind, ns, name string, f func(*yaml.RNode)) []*yaml.RNode {
	t.Helper()
	out := make([]*yaml.RNode, len(nodes))
	found := false
	for i, n := range nodes {
		out[i] = n.Copy()
		if id := identity(t, n); id.Kind == kind && id.Namespace == ns && id.Name == name {
			f(out[i])
			found = true
		}
	}
	require.True(t, found, "%s %s/%s not found", kind, ns, name)
	return out
}

func setReplicas(t testing.TB, n int) func(*yaml.RNode) {
	return func(r *yaml.RNode) {
		require.NoError(t, r.PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("replicas", yaml.NewScalarRNode(itoa(n)))))
		r.Field("spec").Value.Field("replicas").Value.YNode().Tag = yaml.NodeTagInt
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	if neg {
		s = "-" + s
	}
	return s
}

// configMapCopy copies istio-system/<name> into namespace ns, as step S2
// (copy-configmap) does.
func configMapCopy(t testing.TB, nodes []*yaml.RNode, name, ns string) *yaml.RNode {
	t.Helper()
	for _, n := range nodes {
		if id := identity(t, n); id.Kind == "ConfigMap" && id.Namespace == "istio-system" && id.Name == name {
			c := n.Copy()
			require.NoError(t, c.SetNamespace(ns))
			return c
		}
	}
	t.Fatalf("ConfigMap istio-system/%s not found", name)
	return nil
}

// findingsOf returns the findings of one rule at one step that the
// sequence caused (not those the running state already had).
func findingsOf(r *Report, step, rule string) []Finding {
	var out []Finding
	for _, f := range r.Findings() {
		if f.Step == step && f.Rule == rule && !f.Preexisting {
			out = append(out, f)
		}
	}
	return out
}

func names(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		for _, id := range f.Objects {
			out = append(out, id.String())
		}
	}
	return out
}

func table(t testing.TB, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, r.WriteTable(&buf, false))
	return buf.String()
}

// TestConformanceSeedRunningStateHolds: the running 1.5.10 install (control
// plane and user gateway, as rendered) breaks no state rule, so every
// finding in the sequences below is caused by a step.
func TestConformanceSeedRunningStateHolds(t *testing.T) {
	s0 := model(t, union(t, krmtest.Render(t, seed15CP), krmtest.Render(t, seed15GW)))
	fs := CheckState(s0)
	// The one finding is a fact of the render: 1.5.10's gateway PDB selects
	// release: istio, which the gateway's pod template does not carry, so
	// the running gateway has no effective disruption budget.
	require.Len(t, fs, 1, "findings on the running 1.5.10 state:\n%v", fs)
	require.Equal(t, "RS009", fs[0].Rule)
	require.Equal(t, "PodDisruptionBudget.policy/default/custom-gw", fs[0].Objects[0].String())
}

// TestConformanceSeedHandOverlay feeds the seed's own hand overlay as the
// canary gateway step after the 1.5.10 renders and the 1.6.14 control plane,
// then shifts by scaling the old gateway to 0. verify must fail on the
// production Service left without running pods, the second LoadBalancer
// Service and the PDB that selects no pod.
func TestConformanceSeedHandOverlay(t *testing.T) {
	cp15, gw15 := krmtest.Render(t, seed15CP), krmtest.Render(t, seed15GW)
	cp16, hand := krmtest.Render(t, seed16CP), krmtest.Render(t, seedHand)

	s0 := union(t, cp15, gw15)
	// S1: the revision's control plane; the objects whose names 1.5 also
	// renders (istio-ingressgateway, CRDs, ClusterRoles, the validating
	// webhook) are dropped, as the canary control-plane step must.
	s1 := union(t, s0, cp16)
	s2 := append(union(t, s1), configMapCopy(t, cp16, seedCMRev, "default"))
	s3 := union(t, s2, hand)
	s4 := edit(t, s3, "Deployment", "default", "custom-gw", setReplicas(t, 0))

	rep, err := checkSequence([]State{
		{Name: "00-running", Model: model(t, s0)},
		{Name: "01-canary-control-plane", Model: model(t, s1)},
		{Name: "02-gateway-config", Model: model(t, s2)},
		{Name: "03-canary-gateways", Model: model(t, s3)},
		{Name: "04-shift", Model: model(t, s4)},
	}, DefaultOrdering)
	require.NoError(t, err)
	out := table(t, rep)
	t.Log("\n" + out)
	require.False(t, rep.OK())
	for _, st := range rep.Steps[:3] {
		for _, f := range st.Findings {
			require.True(t, f.Preexisting, "step %s should hold but for the running state's own findings:\n%s", st.Name, out)
		}
	}

	// The shift leaves the production Service with no running pods: the
	// overlay's pods carry istio: custom-gw, the Service selects
	// istio: ingressgateway.
	ep := findingsOf(rep, "04-shift", "RS001")
	require.Len(t, ep, 1, out)
	require.Equal(t, "Service/default/custom-gw", ep[0].Objects[0].String())
	require.Contains(t, ep[0].Message, "selects no running pods")
	require.Contains(t, ep[0].Message, "Deployment.apps/default/custom-gw (0 replicas)")
	require.Equal(t, "04-shift", ep[0].Step)
	require.NotEmpty(t, findingsOf(rep, "04-shift", "RS002"), "capacity below S0's:\n%s", out)

	// The overlay's own LoadBalancer Service: a second external entry point.
	lb := findingsOf(rep, "03-canary-gateways", "RS018")
	require.Len(t, lb, 1, out)
	require.Equal(t, "Service/default/custom-gw-1-6-14", lb[0].Objects[0].String())
	require.Equal(t, "02-gateway-config", lb[0].From)
	require.Contains(t, lb[0].Message, "LoadBalancer")
	require.Contains(t, lb[0].Message, "clients keep calling Service/default/custom-gw")

	// Its PDB selects istio: custom-gw-1-6-14, which the overlaid pods do not
	// carry.
	pdb := findingsOf(rep, "03-canary-gateways", "RS009")
	require.Len(t, pdb, 1, out)
	require.Equal(t, "PodDisruptionBudget.policy/default/custom-gw-1-6-14", pdb[0].Objects[0].String())

	require.Equal(t, Error, pdb[0].Severity)
}

// TestConformanceSeedNaivePrune deletes the whole 1.5.10 render (as
// `kubectl delete -f` would) from the state that also holds the 1.6.14
// revision render: verify must name Namespace istio-system, the CRDs and
// ClusterRole istiod-istio-system.
func TestConformanceSeedNaivePrune(t *testing.T) {
	cp15, gw15 := krmtest.Render(t, seed15CP), krmtest.Render(t, seed15GW)
	cp16 := krmtest.Render(t, seed16CP)
	both := union(t, cp15, gw15, cp16)
	pruned := without(t, both, append(append([]*yaml.RNode{}, cp15...), gw15...))

	rep, err := checkSequence([]State{
		{Name: "06-webhook-continuity", Model: model(t, both)},
		{Name: "07-prune", Model: model(t, pruned)},
	}, DefaultOrdering)
	require.NoError(t, err)
	out := table(t, rep)
	t.Log("\n" + out)
	require.False(t, rep.OK())

	keep := names(findingsOf(rep, "07-prune", "RS015"))
	require.Contains(t, keep, "Namespace/istio-system", out)
	require.Contains(t, keep, "CustomResourceDefinition.apiextensions.k8s.io/gateways.networking.istio.io", out)
	crds := 0
	for _, n := range keep {
		if strings.HasPrefix(n, "CustomResourceDefinition.") {
			crds++
		}
	}
	require.Equal(t, 25, crds, out)

	refs := findingsOf(rep, "07-prune", "RS016")
	var role *Finding
	for i, f := range refs {
		if f.Objects[0].String() == "ClusterRole.rbac.authorization.k8s.io/istiod-istio-system" {
			role = &refs[i]
		}
	}
	require.NotNil(t, role, out)
	require.Equal(t, Error, role.Severity)
	require.Contains(t, role.Message, "ClusterRoleBinding.rbac.authorization.k8s.io/istiod-pilot-istio-system (roleRef)")
}

// TestConformanceRunningStatesHold: the running states of both pairs, as
// rendered, break no state rule the plan could be blamed for. The modern
// pair's breaks none. The seed pair's breaks only RS009: istioctl 1.5.10
// gives custom-gw's PDB a release=istio label in its selector that the
// gateway's pods do not carry, so it selects no pod before any step runs.
func TestConformanceRunningStatesHold(t *testing.T) {
	for _, c := range []struct {
		files []string
		want  []string // rule and object of each finding
	}{
		{[]string{seed15CP, seed15GW}, []string{"RS009 PodDisruptionBudget.policy/default/custom-gw"}},
		{[]string{"1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.29.6/gateways.yaml"}, nil},
	} {
		m := model(t, union(t, krmtest.Render(t, c.files[0]), krmtest.Render(t, c.files[1])))
		var got []string
		for _, f := range CheckState(m) {
			got = append(got, f.Rule+" "+f.Objects[0].String())
		}
		require.Equal(t, c.want, got, "%v", c.files)
	}
}

// TestConformanceSeedRevisionRenderAsIs applies the 1.6.14 revision render of
// the control plane as it is over the running 1.5.10 install: its
// non-revisioned istio-ingressgateway replaces the running one in place.
func TestConformanceSeedRevisionRenderAsIs(t *testing.T) {
	cp15, gw15, cp16 := krmtest.Render(t, seed15CP), krmtest.Render(t, seed15GW), krmtest.Render(t, seed16CP)
	s0 := union(t, cp15, gw15)
	s1 := union(t, cp16, cp15, gw15) // the revision render wins on shared names
	f := checkStep(model(t, s0), model(t, s1), nil, DefaultOrdering)
	var inPlace []string
	for _, x := range f {
		if x.Rule == "RS019" {
			inPlace = append(inPlace, x.Objects[0].String())
		}
	}
	require.Equal(t, []string{"Deployment.apps/istio-system/istio-ingressgateway"}, inPlace, "%v", f)
	for _, x := range f {
		t.Log(x)
	}
}
