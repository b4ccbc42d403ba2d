package mesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rules(t *testing.T, s string) []PolicyRule {
	t.Helper()
	m := build(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules:\n"+s)
	o, ok := m.Get(ID{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "r"})
	require.True(t, ok)
	rs, err := RoleRules(o)
	require.NoError(t, err)
	return rs
}

func TestRulesLost(t *testing.T) {
	for _, c := range []struct {
		name      string
		old, next string
		lost      []string
	}{
		{"identical", "- {apiGroups: [extensions], resources: [ingresses], verbs: [get, list]}\n",
			"- {apiGroups: [extensions], resources: [ingresses], verbs: [get, list]}\n", nil},
		{"group moved (1.5 -> 1.6 ingresses)", "- {apiGroups: [extensions], resources: [ingresses], verbs: [get, list, watch]}\n- {apiGroups: [extensions], resources: [ingresses/status], verbs: ['*']}\n",
			"- {apiGroups: [networking.k8s.io], resources: [ingresses, ingressclasses], verbs: [get, list, watch]}\n",
			[]string{"extensions/ingresses [get list watch]", "extensions/ingresses/status [*]"}},
		{"split across two new rules", "- {apiGroups: [''], resources: [pods, services], verbs: [get, list]}\n",
			"- {apiGroups: [''], resources: [pods], verbs: [get, list]}\n- {apiGroups: [''], resources: [services], verbs: [list, get]}\n", nil},
		{"one verb missing", "- {apiGroups: [''], resources: [secrets], verbs: [get, delete]}\n",
			"- {apiGroups: [''], resources: [secrets], verbs: [get]}\n", []string{"core/secrets [get delete]"}},
		{"wildcards grant", "- {apiGroups: [networking.istio.io], resources: [gateways, gateways/status], verbs: [create]}\n",
			"- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n", nil},
		{"subresource wildcard", "- {apiGroups: [''], resources: [pods/log], verbs: [get]}\n",
			"- {apiGroups: [''], resources: [pods/*], verbs: [get]}\n", nil},
		{"resourceNames narrow", "- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve]}\n",
			"- {apiGroups: [certificates.k8s.io], resources: [signers], resourceNames: [kubernetes.io/legacy-unknown], verbs: [approve]}\n",
			[]string{"certificates.k8s.io/signers [approve]"}},
		{"resourceNames kept by a wider rule", "- {apiGroups: [''], resources: [configmaps], resourceNames: [istio], verbs: [get]}\n",
			"- {apiGroups: [''], resources: [configmaps], verbs: [get, list]}\n", nil},
		{"non-resource URL prefix", "- {nonResourceURLs: [/metrics], verbs: [get]}\n", "- {nonResourceURLs: ['/met*'], verbs: [get]}\n", nil},
		{"non-resource URL lost", "- {nonResourceURLs: [/metrics], verbs: [get]}\n", "- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n", []string{"/metrics [get]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, r := range RulesLost(rules(t, c.old), rules(t, c.next)) {
				got = append(got, r.String())
			}
			assert.Equal(t, c.lost, got)
		})
	}
}

func TestRoleRulesErrors(t *testing.T) {
	// The model reads a role's rules with the parser RoleRules uses: Build
	// reports a malformed one, naming the object and the field, and
	// RoleRules reports it on a node a function edited.
	for _, c := range []struct{ rules, want string }{
		{"rules: {a: b}", "rules: expected a list"},
		{"rules: [x]", "rules[0]: expected a rule"},
		{"rules: [{verbs: get}]", "rules[0].verbs: expected a list of strings"},
		{"rules: [{verbs: [[get]]}]", "rules[0].verbs[0]: expected a string"},
	} {
		nodes := parse(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: x}\n"+c.rules+"\n")
		_, err := Build(nodes)
		assert.EqualError(t, err, "Role.rbac.authorization.k8s.io/x/r: "+c.want)
		m := build(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: x}\n")
		m.Objects[0].Node().YNode().Content = append(m.Objects[0].Node().YNode().Content, nodes[0].Field("rules").Key.YNode(), nodes[0].Field("rules").Value.YNode())
		_, err = RoleRules(m.Objects[0])
		assert.EqualError(t, err, c.want)
	}
}

func TestBindingsTo(t *testing.T) {
	m := build(t, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: istiod-istio-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b2}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: istiod-istio-system}
subjects: [{kind: ServiceAccount, name: istiod-service-account, namespace: istio-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: istiod-istio-system}
subjects: [{kind: ServiceAccount, name: istio-pilot-service-account, namespace: istio-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b3, namespace: istio-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: istiod-istio-system}
`)
	bs := m.BindingsTo(ID{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "istiod-istio-system"})
	require.Len(t, bs, 2)
	assert.Equal(t, "b2", bs[0].ID.Name, "input order")
	assert.Equal(t, "b1", bs[1].ID.Name)
	assert.True(t, IsRole(ID{Group: "rbac.authorization.k8s.io", Kind: "Role"}))
	assert.False(t, IsRole(ID{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}))
}
