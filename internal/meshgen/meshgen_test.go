package meshgen_test

import (
	"testing"

	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/meshgen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGeneratedMeshIsAMesh(t *testing.T) {
	for _, n := range []int{600, 1000} {
		nodes := krmtest.ParseYAML(t, []byte(meshgen.YAML(meshgen.Options{Objects: n, Revision: "1-6-14", GatewayConfigMap: true})))
		assert.InDelta(t, n, len(nodes), 13, "about the requested size")
		m, err := mesh.Build(nodes)
		require.NoError(t, err)
		namespaces := len(m.Namespaces) - 1 // istio-system runs no user gateway
		assert.Len(t, m.Gateways, namespaces, "one gateway per namespace")
		assert.Len(t, m.ProductionServices(), namespaces)
		assert.Equal(t, []string{"1-6-14"}, m.Revisions())
		for _, g := range m.Gateways {
			rev, _ := m.GatewayRevision(g)
			assert.Equal(t, "1-6-14", rev)
			assert.Len(t, m.PDBsSelecting(g.Workload), 1)
			assert.NotNil(t, m.HPAFor(g.Workload))
		}
	}
}

func TestUpgradeSuffixedGateways(t *testing.T) {
	u := meshgen.NewUpgrade(200, "1-6-14")
	nodes := krmtest.ParseYAML(t, []byte(u.TargetGatewaysSuffixed))
	m, err := mesh.Build(nodes)
	require.NoError(t, err)
	require.NotEmpty(t, m.Gateways)
	for _, g := range m.Gateways {
		assert.Equal(t, "gw-1-6-14", g.ID.Name)
		assert.Equal(t, "gw-service-account-1-6-14", g.ServiceAccount)
		require.NotNil(t, m.HPAFor(g.Workload), "the HPA's target follows the suffix")
	}
	for _, b := range m.Bindings {
		assert.Equal(t, "gw-sds-1-6-14", b.RoleRef.Name)
		assert.Equal(t, "gw-service-account-1-6-14", b.Subjects[0].Name)
	}
	assert.NotContains(t, u.TargetGatewaysSuffixed, "name: gw\n")
}
