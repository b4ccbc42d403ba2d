package mesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCRDVersions(t *testing.T) {
	for _, c := range []struct {
		name, spec string
		served     []string
		err        string
	}{
		{"v1beta1 single version", "spec: {group: g, version: v1alpha2}", []string{"v1alpha2"}, ""},
		{"v1beta1 versions", "spec: {version: v1alpha3, versions: [{name: v1alpha3, served: true, storage: true}, {name: v1beta1, served: true, storage: false}]}", []string{"v1alpha3", "v1beta1"}, ""},
		{"v1 with unserved", "spec: {versions: [{name: v1, served: true, storage: true}, {name: v1alpha1, served: false, storage: false}]}", []string{"v1"}, ""},
		{"served defaults to true", "spec: {versions: [{name: v1}]}", []string{"v1"}, ""},
		{"no versions", "spec: {group: g}", nil, "spec.versions: missing (and no spec.version)"},
		{"bad served", "spec: {versions: [{name: v1, served: yes please}]}", nil, "spec.versions[0].served: expected true or false"},
		{"unnamed", "spec: {versions: [{served: true}]}", nil, "spec.versions[0].name: missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := build(t, "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.g}\n"+c.spec+"\n")
			require.True(t, IsCRD(m.Objects[0].ID))
			vs, err := CRDVersions(m.Objects[0])
			if c.err != "" {
				assert.EqualError(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.served, ServedVersions(vs))
		})
	}
}

func TestDroppedVersions(t *testing.T) {
	old := []CRDVersion{{Name: "v1alpha3", Served: true}, {Name: "v1beta1", Served: true}, {Name: "v1", Served: false}}
	assert.Empty(t, DroppedVersions(old, []CRDVersion{{Name: "v1alpha3", Served: true}, {Name: "v1beta1", Served: true}, {Name: "v1", Served: true}}))
	assert.Equal(t, []string{"v1alpha3"}, DroppedVersions(old, []CRDVersion{{Name: "v1alpha3", Served: false}, {Name: "v1beta1", Served: true}}))
	assert.Equal(t, []string{"v1beta1"}, DroppedVersions(old, []CRDVersion{{Name: "v1alpha3", Served: true}}))
}

func TestVersions(t *testing.T) {
	for s, want := range map[string]string{"1.6.14": "1.6.14", "1.31.0-rc.1": "1.31.0", "1.6": "1.6.0"} {
		v, ok := ParseVersion(s)
		require.True(t, ok, s)
		assert.Equal(t, want, v.String())
	}
	for _, s := range []string{"latest", "1", "1.x.0", "1.2.3.4", ""} {
		_, ok := ParseVersion(s)
		assert.False(t, ok, s)
	}
	a, _ := ParseVersion("1.5.10")
	b, _ := ParseVersion("1.6.2")
	assert.Equal(t, -1, a.Compare(b))
	assert.Equal(t, 1, b.Compare(a))
	assert.Equal(t, 0, a.Compare(a))

	m := build(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-1-6-14, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec:
      containers: [{name: discovery, image: "docker.io/istio/pilot:1.6.14", args: [discovery]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istiod0}}
  template:
    metadata: {labels: {app: istiod0}}
    spec:
      containers: [{name: discovery, image: "registry:5000/pilot@sha256:abc", args: [discovery]}]
`)
	require.Len(t, m.Istiods, 2)
	v, ok := IstiodVersion(m.Istiods[0])
	assert.True(t, ok)
	assert.Equal(t, "1.6.14", v.String())
	_, ok = IstiodVersion(m.Istiods[1])
	assert.False(t, ok, "a digest or a registry port is not a version")
}
