package mesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanaryOf(t *testing.T) {
	m := build(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: custom-gw-1-6-14, namespace: default, annotations: {revshift.dev/canary-of: custom-gw}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: custom-gw, namespace: default}
`)
	of, ok := m.Objects[0].CanaryOf()
	require.True(t, ok)
	assert.Equal(t, ID{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "custom-gw"}, of)
	_, ok = m.Objects[1].CanaryOf()
	assert.False(t, ok, "a name alone makes no canary")
	assert.Equal(t, map[ID][]*Object{of: {m.Objects[0]}}, m.Canaries())
}

func TestDifferences(t *testing.T) {
	m := build(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: r2
  annotations: {argocd.argoproj.io/sync-options: Prune=false, config.kubernetes.io/index: "3"}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
- {apiGroups: [extensions], resources: [ingresses], verbs: [get]}
`)
	a, b := Plain(m.Objects[0].Node()), Plain(m.Objects[1].Node())
	var got []string
	for _, d := range Differences(a, b) {
		got = append(got, d.String())
	}
	assert.Equal(t, []string{
		"metadata.annotations.argocd.argoproj.io/sync-options", // absent on one side: each field differs
		"metadata.name",
		"rules[0].verbs[1]",
		"rules[1].apiGroups[0]", "rules[1].resources[0]", "rules[1].verbs[0]",
	}, got)
	d := Differences(a, b)[2]
	assert.Nil(t, d.A)
	assert.Equal(t, "list", d.B)
	assert.True(t, d.Under("rules"))
	assert.False(t, d.Under("metadata"))
	assert.Empty(t, Differences(a, a))
}
