package mesh

import (
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// WithDependsOn writes what DependsOn reads, once each, after what is there.
func TestWithDependsOn(t *testing.T) {
	cm := ID{Kind: "ConfigMap", Namespace: "default", Name: "istio-1-6-14"}
	role := ID{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "r"}
	v, changed := WithDependsOn("apps/namespaces/default/Deployment/gw, apps/namespaces/default/Deployment/gw", cm, role, cm)
	if !changed || v != "apps/namespaces/default/Deployment/gw,/namespaces/default/ConfigMap/istio-1-6-14,rbac.authorization.k8s.io/ClusterRole/r" {
		t.Fatalf("got %q, %v", v, changed)
	}
	if _, changed := WithDependsOn(v, role); changed {
		t.Fatalf("%s is there already", role)
	}
	o, err := Identify(0, yaml.MustParse("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  annotations:\n    config.kubernetes.io/depends-on: "+v+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DependsOn(o)
	if err != nil {
		t.Fatal(err)
	}
	want := []ID{{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "gw"}, cm, role}
	if len(got) != len(want) {
		t.Fatalf("DependsOn: got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("DependsOn: got %v, want %v", got, want)
		}
	}
}
