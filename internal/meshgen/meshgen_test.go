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
			assert.Len(t, g.PDBs(), 1)
			assert.NotNil(t, m.HPAFor(g.Workload))
		}
	}
}
