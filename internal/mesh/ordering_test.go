package mesh

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOrderingAnnotations(t *testing.T) {
	obj := func(ann string) *Object {
		m := build(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: default\n  annotations: "+ann+"\n")
		return m.Objects[0]
	}
	for _, c := range []struct {
		ann     string
		wave    int
		waveErr string
		last    bool
		deps    []ID
		depsErr string
	}{
		{ann: "{}"},
		{ann: `{argocd.argoproj.io/sync-wave: "-2"}`, wave: -2},
		{ann: `{argocd.argoproj.io/sync-wave: " 3 "}`, wave: 3},
		{ann: `{argocd.argoproj.io/sync-wave: "first"}`, waveErr: `ConfigMap/default/x: metadata.annotations[argocd.argoproj.io/sync-wave]: expected an integer, got "first"`},
		{ann: `{argocd.argoproj.io/sync-options: "Validate=false, PruneLast=true"}`, last: true},
		{ann: `{argocd.argoproj.io/sync-options: "Prune=false"}`},
		{ann: `{config.kubernetes.io/depends-on: "apps/namespaces/default/Deployment/gw-new, /namespaces/default/ConfigMap/istio-1-6-14, rbac.authorization.k8s.io/ClusterRole/r"}`, deps: []ID{
			{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "gw-new"},
			{Kind: "ConfigMap", Namespace: "default", Name: "istio-1-6-14"},
			{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "r"},
		}},
		{ann: `{config.kubernetes.io/depends-on: "Deployment/gw"}`, depsErr: `"Deployment/gw" is not <group>/namespaces/<namespace>/<kind>/<name>`},
	} {
		o := obj(c.ann)
		w, err := SyncWave(o)
		if c.waveErr != "" {
			require.EqualError(t, err, c.waveErr)
		} else {
			require.NoError(t, err)
			require.Equal(t, c.wave, w, c.ann)
		}
		require.Equal(t, c.last, PruneLast(o), c.ann)
		deps, err := DependsOn(o)
		if c.depsErr != "" {
			require.ErrorContains(t, err, c.depsErr)
		} else {
			require.NoError(t, err)
			require.Equal(t, c.deps, deps, c.ann)
		}
	}
}
