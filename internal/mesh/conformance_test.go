package mesh_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Every real render (istioctl and helm; their inputs in iop/, values/,
// include/ and include-apps/ are skipped) builds into a model without
// error.
func TestConformanceEveryRenderBuilds(t *testing.T) {
	assert.Equal(t, 12, buildsEvery(t, krmtest.HelmDir(t)), "expected base, istiod and gateways of both versions, the revisioned variant, and the two tags")
	assert.GreaterOrEqual(t, buildsEvery(t, krmtest.SharedDir(t)), 10, "expected the seed and modern renders")
}

// buildsEvery builds every render under dir in a subtest; it returns how
// many there are.
func buildsEvery(t *testing.T, dir string) int {
	n := 0
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".yaml") || strings.Contains(p, "/iop/") || strings.Contains(p, "/values/") || strings.Contains(p, "/include") {
			return err
		}
		n++
		t.Run(strings.TrimPrefix(p, filepath.Dir(dir)+"/"), func(t *testing.T) {
			m, err := mesh.Build(krmtest.ReadYAMLFiles(t, p))
			require.NoError(t, err)
			assert.NotEmpty(t, m.Objects)
		})
		return nil
	})
	require.NoError(t, err)
	return n
}

func build(t *testing.T, files ...string) *mesh.Model {
	t.Helper()
	m, err := mesh.Build(krmtest.Render(t, files...))
	require.NoError(t, err)
	return m
}

func gateway(t *testing.T, m *mesh.Model, ns, name string) *mesh.Gateway {
	t.Helper()
	w := m.Deployment(ns, name)
	require.NotNil(t, w, "Deployment %s/%s", ns, name)
	g := w.Gateway()
	require.NotNil(t, g, "%s/%s is a gateway", ns, name)
	return g
}

func TestConformanceSeed1510(t *testing.T) {
	m := build(t, "1.5-to-1.6-seed/1.5.10/control-plane.yaml", "1.5-to-1.6-seed/1.5.10/gateways.yaml")
	svc := m.Service("default", "custom-gw")
	require.NotNil(t, svc)
	sel := svc.Selected()
	require.Len(t, sel, 1)
	assert.Equal(t, "custom-gw", sel[0].ID.Name)
	p, ok := svc.Port(80)
	require.True(t, ok)
	assert.Equal(t, mesh.IntOrString{Num: 80}, p.TargetPort)
	served, ok := sel[0].ServesPort(p.TargetPort)
	assert.True(t, ok)
	assert.Equal(t, int64(80), served)

	g := gateway(t, m, "default", "custom-gw")
	rev, _ := m.GatewayRevision(g)
	assert.Equal(t, mesh.DefaultRevision, rev)
	assert.Equal(t, "custom-gw", g.ServiceCluster)
	assert.Equal(t, map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}, svc.Selector)

	// The Istio Gateway resource default/custom-gw programs those pods.
	var names []string
	for _, ig := range sel[0].IstioGateways() {
		names = append(names, ig.ID.Namespace+"/"+ig.ID.Name)
	}
	assert.Contains(t, names, "default/custom-gw")

	assert.Equal(t, []string{mesh.DefaultRevision}, m.Revisions())
	assert.Contains(t, prodNames(m), "default/custom-gw")
	assert.Contains(t, prodNames(m), "istio-system/istio-ingressgateway")

	// The validating webhook istiod-istio-system calls Service istiod, which
	// selects the 1.5 istiod.
	var found bool
	for _, h := range m.Webhooks {
		if h.Config.ID.Name == "istiod-istio-system" {
			found = true
			require.NotNil(t, h.Service)
			assert.Equal(t, "istiod", h.Service.Name)
			s, pods := m.WebhookTarget(h)
			require.NotNil(t, s)
			require.NotEmpty(t, pods)
			assert.Equal(t, "istiod", pods[0].ID.Name)
		}
		if h.Config.ID.Name == "istio-sidecar-injector" {
			assert.Equal(t, "Fail", h.FailurePolicy)
			assert.True(t, h.NamespaceSelector.Matches(set{"istio-injection": "enabled"}))
		}
	}
	assert.True(t, found)

	// ClusterRole istiod-istio-system is bound by 1.5's ClusterRoleBinding.
	refs := m.ReferencesTo(mesh.ID{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "istiod-istio-system"})
	require.NotEmpty(t, refs)
	assert.Equal(t, "ClusterRoleBinding", refs[0].From.Kind)
}

func TestConformanceSeed1614(t *testing.T) {
	m := build(t, "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml")
	assert.Equal(t, []string{"1-6-14"}, m.Revisions())
	g := gateway(t, m, "default", "custom-gw")
	rev, src := m.GatewayRevision(g)
	assert.Equal(t, "1-6-14", rev)
	assert.Contains(t, src, "istio-1-6-14")
	assert.True(t, g.RunsAsRoot, "1.6.14 user gateways run as root")
	assert.True(t, m.ConfigMapMissing(g), "istio-1-6-14 is not in namespace default until copied")
	_, ok := g.ServesPort(mesh.IntOrString{Num: 8080})
	assert.True(t, ok)
	_, ok = g.ServesPort(mesh.IntOrString{Num: 80})
	assert.False(t, ok, "1.6.14 listens on 8080, not 80")

	// The non-revisioned default gateway is in the revision render, and
	// mounts the new revision's ConfigMap: applying it bounces.
	dg := gateway(t, m, "istio-system", "istio-ingressgateway")
	rev, _ = m.GatewayRevision(dg)
	assert.Equal(t, "1-6-14", rev)
	assert.False(t, m.ConfigMapMissing(dg))
}

func TestConformanceModern(t *testing.T) {
	old := build(t, "1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.29.6/gateways.yaml")
	g := gateway(t, old, "default", "custom-gw")
	rev, _ := old.GatewayRevision(g)
	assert.Equal(t, mesh.DefaultRevision, rev)
	h := old.HPAFor(g.Workload)
	require.NotNil(t, h)
	assert.Equal(t, int64(2), h.MinReplicas)
	assert.Equal(t, int64(5), h.MaxReplicas)
	assert.Equal(t, int64(2), old.MinReplicas(g.Workload))
	for _, wh := range old.Webhooks {
		if wh.Config.ID.Name == "istio-validator-istio-system" {
			require.NotNil(t, wh.Service)
			assert.Equal(t, "istiod", wh.Service.Name)
		}
	}

	neu := build(t, "1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml", "1.29-to-1.31-modern/1.31.0/gateways.rev-1-31-0.yaml")
	assert.Equal(t, []string{"1-31-0"}, neu.Revisions())
	ng := gateway(t, neu, "default", "custom-gw")
	rev, _ = neu.GatewayRevision(ng)
	assert.Equal(t, "1-31-0", rev)
	assert.False(t, ng.RunsAsRoot, "modern gateways run as 1337")
	pdbs := ng.PDBs()
	require.Len(t, pdbs, 1)
	// The 1.31 PDB's selector also matches the 1.29 pods.
	assert.True(t, pdbs[0].Selector.Matches(set(g.PodLabels)))
}

func prodNames(m *mesh.Model) []string {
	var out []string
	for _, s := range m.ProductionServices() {
		out = append(out, s.ID.Namespace+"/"+s.ID.Name)
	}
	return out
}

type set map[string]string

func (l set) Has(k string) bool              { _, ok := l[k]; return ok }
func (l set) Get(k string) string            { return l[k] }
func (l set) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

// The real Helm install: both gateways of the 1.29.6 gateway chart are
// injected by the default revision, one through the prod-stable tag; once
// the tag is moved (the 1.31 chart's revision-tags template), the tagged one
// would be injected by 1-31-0 and the other stays.
func TestConformanceHelmGatewayRevisions(t *testing.T) {
	running := []string{"1.29.6/base.yaml", "1.29.6/istiod.yaml", "1.29.6/gateways.yaml"}
	revisions := func(m *mesh.Model) map[string]string {
		out := map[string]string{}
		for _, g := range m.Gateways {
			require.True(t, g.Injected, g.ID.String())
			rev, how := m.GatewayRevision(g)
			out[g.ID.Name] = rev + " (" + how + ")"
		}
		return out
	}
	m, err := mesh.Build(krmtest.HelmRender(t, running...))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"ingress":        "default (injected by istio-sidecar-injector webhook object.sidecar-injector.istio.io)",
		"ingress-tagged": "default (injected by istio-revision-tag-prod-stable webhook rev.object.sidecar-injector.istio.io)",
	}, revisions(m))
	rev, _, ok := m.TagRevision("prod-stable")
	require.True(t, ok)
	assert.Equal(t, mesh.DefaultRevision, rev)

	// The tag moved: the 1.29.6 tag's webhook configuration and Service
	// replaced by the 1.31 chart's.
	var nodes []*yaml.RNode
	for _, n := range krmtest.HelmRender(t, running...) {
		if !strings.HasSuffix(n.GetName(), "-revision-tag-prod-stable") {
			nodes = append(nodes, n)
		}
	}
	nodes = append(nodes, krmtest.HelmRender(t, "1.31.0/istiod.rev-1-31-0.yaml", "tags/tag-prod-stable.rev-1-31-0.yaml")...)
	moved, err := mesh.Build(nodes)
	require.NoError(t, err)
	got := revisions(moved)
	assert.Equal(t, "default (injected by istio-sidecar-injector webhook object.sidecar-injector.istio.io)", got["ingress"])
	assert.Equal(t, "1-31-0 (injected by istio-revision-tag-prod-stable webhook rev.object.sidecar-injector.istio.io)", got["ingress-tagged"])
}
