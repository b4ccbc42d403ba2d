package mesh

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const authzFixture = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
- {apiGroups: [''], resources: [pods, pods/*], verbs: [get, list]}
- {apiGroups: [''], resources: [secrets], resourceNames: [istio-ca-secret], verbs: [get]}
- {nonResourceURLs: [/metrics], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: all}
rules:
- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: aggregate}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {aggregate-to-gw: "true"}}]
rules:
- {apiGroups: [''], resources: [nodes], verbs: [delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: part, labels: {aggregate-to-gw: "true"}}
rules:
- {apiGroups: [networking.istio.io], resources: [gateways], verbs: [watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: local, namespace: gw}
rules:
- {apiGroups: [''], resources: [configmaps], verbs: [update]}
`

func binding(kind, name, ns, roleKind, role, subjects string) string {
	meta := "{name: " + name + "}"
	if ns != "" {
		meta = "{name: " + name + ", namespace: " + ns + "}"
	}
	return "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "\nmetadata: " + meta +
		"\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: " + roleKind + ", name: " + role + "}\nsubjects: " + subjects + "\n"
}

func TestGrants(t *testing.T) {
	sa := ServiceAccountRef{Namespace: "gw", Name: "gw-sa"}
	podsGet := Grant{Resource: "pods", Verb: "get"}
	for _, c := range []struct {
		name     string
		bindings string
		allowed  []Grant
		denied   []Grant
	}{
		{"ClusterRoleBinding grants cluster-wide, subresources by resource/*, resourceNames narrow, URLs",
			binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"),
			[]Grant{podsGet, {Resource: "pods", Verb: "list", Namespace: "other"}, {Resource: "pods/log", Verb: "get"},
				{Resource: "secrets", Verb: "get", Name: "istio-ca-secret"}, {URL: "/metrics", Verb: "get"}},
			[]Grant{{Resource: "pods", Verb: "delete"}, {Resource: "secrets", Verb: "get"}, {Resource: "secrets", Verb: "get", Name: "other"},
				{URL: "/healthz", Verb: "get"}, {Group: "apps", Resource: "pods", Verb: "get"}}},
		{"RoleBinding to a ClusterRole is scoped to its namespace, without URLs",
			binding("RoleBinding", "b", "gw", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa}]"),
			[]Grant{{Resource: "pods", Verb: "get", Namespace: "gw"}},
			[]Grant{podsGet, {Resource: "pods", Verb: "get", Namespace: "other"}, {URL: "/metrics", Verb: "get"}}},
		{"RoleBinding to a Role of its namespace",
			binding("RoleBinding", "b", "gw", "Role", "local", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"),
			[]Grant{{Resource: "configmaps", Verb: "update", Namespace: "gw"}},
			[]Grant{{Resource: "configmaps", Verb: "update"}}},
		{"RoleBinding elsewhere does not apply", binding("RoleBinding", "b", "other", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa}]"),
			nil, []Grant{{Resource: "pods", Verb: "get", Namespace: "gw"}, {Resource: "pods", Verb: "get", Namespace: "other"}}},
		{"wildcards", binding("ClusterRoleBinding", "b", "", "ClusterRole", "all", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"),
			[]Grant{{Group: "apps", Resource: "deployments/scale", Verb: "patch", Name: "x"}, {Group: "*", Resource: "*", Verb: "*"}},
			[]Grant{{URL: "/metrics", Verb: "get"}}},
		{"group system:serviceaccounts:<ns>", binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: Group, name: 'system:serviceaccounts:gw'}]"),
			[]Grant{podsGet}, nil},
		{"group system:serviceaccounts", binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: Group, name: 'system:serviceaccounts'}]"),
			[]Grant{podsGet}, nil},
		{"group system:authenticated", binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: Group, name: 'system:authenticated'}]"),
			[]Grant{podsGet}, nil},
		{"group of another namespace", binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: Group, name: 'system:serviceaccounts:other'}]"),
			nil, []Grant{podsGet}},
		{"user system:serviceaccount:<ns>:<name>", binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: User, name: 'system:serviceaccount:gw:gw-sa'}]"),
			[]Grant{podsGet}, nil},
		{"another ServiceAccount", binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa, namespace: other}]"),
			nil, []Grant{podsGet}},
		{"ClusterRoleBinding subject without namespace matches nobody", binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa}]"),
			nil, []Grant{podsGet}},
		{"aggregation: the union of the matched roles, not the written rules",
			binding("ClusterRoleBinding", "b", "", "ClusterRole", "aggregate", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"),
			[]Grant{{Group: "networking.istio.io", Resource: "gateways", Verb: "watch"}},
			[]Grant{{Resource: "nodes", Verb: "delete"}}},
		{"a missing role grants nothing", binding("ClusterRoleBinding", "b", "", "ClusterRole", "gone", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"),
			nil, []Grant{podsGet, {Group: "*", Resource: "*", Verb: "*"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := build(t, authzFixture+c.bindings)
			for _, g := range c.allowed {
				assert.True(t, m.Allows(sa, g), "allowed: %s", g)
			}
			for _, g := range c.denied {
				assert.False(t, m.Allows(sa, g), "denied: %s", g)
			}
		})
	}
}

func TestPermissionsLostIn(t *testing.T) {
	sa := ServiceAccountRef{Namespace: "gw", Name: "gw-sa"}
	old := build(t, authzFixture+binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"))
	// Six atomic grants: pods and pods/* by get and list, the named
	// secret, /metrics.
	assert.Len(t, old.Grants(sa).Grants(), 6)
	for _, c := range []struct {
		name, bindings string
		lost           []string
	}{
		{"same binding", binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"), nil},
		{"equivalent binding under another name", binding("ClusterRoleBinding", "b2", "", "ClusterRole", "reader", "[{kind: Group, name: 'system:serviceaccounts:gw'}]"), nil},
		{"a wildcard keeps resources, not URLs", binding("ClusterRoleBinding", "b", "", "ClusterRole", "all", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"), []string{"/metrics get"}},
		{"narrowed to a namespace", binding("RoleBinding", "b", "gw", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa}]"),
			[]string{"core/pods get", "core/pods list", "core/pods/* get", "core/pods/* list", "core/secrets get (name istio-ca-secret)", "/metrics get"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			next := build(t, authzFixture+c.bindings)
			var got []string
			for _, g := range old.Grants(sa).LostIn(next.Grants(sa)) {
				got = append(got, g.String())
				assert.Equal(t, "ClusterRoleBinding b (ClusterRole reader)", g.Describe())
			}
			assert.Equal(t, c.lost, got)
		})
	}
}

func TestRBACSum(t *testing.T) {
	b := binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]")
	base := build(t, authzFixture+b).RBACSum()
	reordered := build(t, b+"---\n"+authzFixture).RBACSum()
	assert.Equal(t, base, reordered, "order does not matter")
	for name, s := range map[string]string{
		"subject":       authzFixture + binding("ClusterRoleBinding", "b", "", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa, namespace: other}]"),
		"roleRef":       authzFixture + binding("ClusterRoleBinding", "b", "", "ClusterRole", "all", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"),
		"binding scope": authzFixture + binding("RoleBinding", "b", "gw", "ClusterRole", "reader", "[{kind: ServiceAccount, name: gw-sa, namespace: gw}]"),
		"rule":          strings.Replace(authzFixture, "verbs: [get, list]", "verbs: [get]", 1) + b,
		"labels":        strings.Replace(authzFixture, "aggregate-to-gw: \"true\"}", "aggregate-to-gw: \"false\"}", 1) + b,
	} {
		assert.NotEqual(t, base, build(t, s).RBACSum(), name)
	}
}
