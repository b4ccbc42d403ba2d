package mesh

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// PolicyRule is one entry of a Role's or ClusterRole's rules.
type PolicyRule struct {
	APIGroups       []string
	Resources       []string
	Verbs           []string
	ResourceNames   []string
	NonResourceURLs []string
	// Node is the rule as written, so that it can be copied unchanged.
	Node *yaml.Node
	// sum is a hash of the rule's lists, written when it is parsed: the
	// verifier compares the rules of a ServiceAccount state after state.
	sum uint64
}

// ruleSum hashes a rule's lists (FNV-1a, each entry and list terminated).
func ruleSum(r *PolicyRule) uint64 {
	h := fnv.New64a()
	for _, l := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
		for _, s := range l {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return h.Sum64()
}

// String renders a rule compactly for messages, e.g.
// "extensions/ingresses [get list watch]".
func (r PolicyRule) String() string {
	var b strings.Builder
	if len(r.NonResourceURLs) > 0 {
		b.WriteString(strings.Join(r.NonResourceURLs, ","))
	} else {
		groups := make([]string, len(r.APIGroups))
		for i, g := range r.APIGroups {
			if g == "" {
				g = "core"
			}
			groups[i] = g
		}
		b.WriteString(strings.Join(groups, ","))
		b.WriteString("/")
		b.WriteString(strings.Join(r.Resources, ","))
		if len(r.ResourceNames) > 0 {
			b.WriteString("(" + strings.Join(r.ResourceNames, ",") + ")")
		}
	}
	b.WriteString(" [" + strings.Join(r.Verbs, " ") + "]")
	return b.String()
}

// IsRole reports whether an identity is an RBAC Role or ClusterRole.
func IsRole(id ID) bool {
	return id.Group == "rbac.authorization.k8s.io" && (id.Kind == "Role" || id.Kind == "ClusterRole")
}

// Role is a Role or ClusterRole as the model indexes it.
type Role struct {
	*Object
	// Rules are the rules as written, without their nodes (the model's
	// facts outlive the tree they were read from; RoleRules reads them
	// with nodes, for copying).
	Rules []PolicyRule
	// Labels are a ClusterRole's labels, which aggregation selectors match.
	Labels map[string]string
	// Aggregation are a ClusterRole's aggregationRule.clusterRoleSelectors;
	// Aggregated is true when it has an aggregationRule.
	Aggregation []labels.Selector
	Aggregated  bool
}

// sum hashes a role for Model.RBACSum.
func (r *Role) sum() uint64 {
	h := fnv.New64a()
	for _, s := range []string{r.ID.Kind, r.ID.Namespace, r.ID.Name} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var b [8]byte
	for _, rule := range r.Rules {
		binary.LittleEndian.PutUint64(b[:], rule.sum)
		h.Write(b[:])
	}
	keys := make([]string, 0, len(r.Labels))
	for k := range r.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h.Write([]byte(k + "=" + r.Labels[k] + "\x00"))
	}
	if r.Aggregated {
		h.Write([]byte{1})
	}
	for _, sel := range r.Aggregation {
		h.Write([]byte(sel.String() + "\x00"))
	}
	return h.Sum64()
}

func parseRole(o *Object, y *yaml.Node) (*Role, error) {
	rs, err := parseRules(lookup(y, "rules"))
	if err != nil {
		return nil, err
	}
	for i := range rs {
		rs[i].Node = nil
	}
	r := &Role{Object: o, Rules: rs}
	if o.ID.Kind != "ClusterRole" {
		return r, nil
	}
	if r.Labels, err = stringMap(lookup(y, "metadata", "labels"), "metadata.labels"); err != nil {
		return nil, err
	}
	agg := lookup(y, "aggregationRule")
	if absent(agg) {
		return r, nil
	}
	r.Aggregated = true
	for i, s := range seq(lookup(agg, "clusterRoleSelectors")) {
		sel, err := parseLabelSelector(s, fmt.Sprintf("aggregationRule.clusterRoleSelectors[%d]", i))
		if err != nil {
			return nil, err
		}
		r.Aggregation = append(r.Aggregation, sel)
	}
	return r, nil
}

// IsBinding reports whether an identity is an RBAC RoleBinding or
// ClusterRoleBinding.
func IsBinding(id ID) bool {
	return id.Group == "rbac.authorization.k8s.io" && (id.Kind == "RoleBinding" || id.Kind == "ClusterRoleBinding")
}

// RoleRules parses the rules of a Role or ClusterRole from its node (as a
// function may have edited it), each rule keeping its node. A rule that is
// not a mapping, or a list field that is not a list of strings, is an error
// naming the field.
func RoleRules(o *Object) ([]PolicyRule, error) {
	return parseRules(lookup(o.Node().YNode(), "rules"))
}

// parseRules reads a rules list: the one parser of RoleRules and of the
// model's Role records.
func parseRules(n *yaml.Node) ([]PolicyRule, error) {
	if absent(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("rules: expected a list")
	}
	var out []PolicyRule
	for i, r := range n.Content {
		field := fmt.Sprintf("rules[%d]", i)
		if r.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: expected a rule", field)
		}
		pr := PolicyRule{Node: r}
		for _, f := range []struct {
			key string
			dst *[]string
		}{{"apiGroups", &pr.APIGroups}, {"resources", &pr.Resources}, {"verbs", &pr.Verbs}, {"resourceNames", &pr.ResourceNames}, {"nonResourceURLs", &pr.NonResourceURLs}} {
			v := lookup(r, f.key)
			if absent(v) {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("%s.%s: expected a list of strings", field, f.key)
			}
			for j, s := range v.Content {
				if s.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("%s.%s[%d]: expected a string", field, f.key, j)
				}
				*f.dst = append(*f.dst, s.Value)
			}
		}
		pr.sum = ruleSum(&pr)
		out = append(out, pr)
	}
	return out, nil
}

// permission is one atomic grant: what a rule allows on one group, one
// resource, one verb and one resource name (or one non-resource URL).
type permission struct {
	group, resource, verb, name, url string
}

func (r PolicyRule) permissions() []permission {
	var out []permission
	if len(r.NonResourceURLs) > 0 {
		for _, u := range r.NonResourceURLs {
			for _, v := range r.Verbs {
				out = append(out, permission{url: u, verb: v})
			}
		}
		return out
	}
	names := r.ResourceNames
	if len(names) == 0 {
		names = []string{""} // every name
	}
	for _, g := range r.APIGroups {
		for _, res := range r.Resources {
			for _, v := range r.Verbs {
				for _, n := range names {
					out = append(out, permission{group: g, resource: res, verb: v, name: n})
				}
			}
		}
	}
	return out
}

// allows applies the RBAC authorizer's matching rules
// (k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac, RuleAllows): "*"
// matches every group, resource or verb; "resource/*" every subresource;
// an empty resourceNames list every name; a non-resource URL ending in "*"
// is a prefix.
func (r PolicyRule) allows(p permission) bool {
	if !matches(r.Verbs, p.verb) {
		return false
	}
	if p.url != "" {
		for _, u := range r.NonResourceURLs {
			if u == "*" || u == p.url || (strings.HasSuffix(u, "*") && strings.HasPrefix(p.url, strings.TrimSuffix(u, "*"))) {
				return true
			}
		}
		return false
	}
	if len(r.NonResourceURLs) > 0 && len(r.Resources) == 0 {
		return false
	}
	if !matches(r.APIGroups, p.group) {
		return false
	}
	resOK := false
	for _, res := range r.Resources {
		if res == "*" || res == p.resource {
			resOK = true
			break
		}
		if base, ok := strings.CutSuffix(res, "/*"); ok {
			if b, _, sub := strings.Cut(p.resource, "/"); sub && b == base {
				resOK = true
				break
			}
		}
	}
	if !resOK {
		return false
	}
	if len(r.ResourceNames) == 0 {
		return true
	}
	return p.name != "" && slices.Contains(r.ResourceNames, p.name)
}

func matches(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

// RulesAllow reports whether the rules together grant everything rule r
// grants.
func RulesAllow(rules []PolicyRule, r PolicyRule) bool {
	for _, p := range r.permissions() {
		ok := false
		for _, have := range rules {
			if have.allows(p) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// RulesLost returns the rules of old that next does not fully grant, in
// order: appending them to next gives a role that grants at least what old
// granted (the union).
func RulesLost(old, next []PolicyRule) []PolicyRule {
	var out []PolicyRule
	for _, r := range old {
		if !RulesAllow(next, r) {
			out = append(out, r)
		}
	}
	return out
}

// BindingsTo returns the RoleBindings and ClusterRoleBindings whose roleRef
// is the role, in input order.
func (m *Model) BindingsTo(role ID) []*Binding {
	var out []*Binding
	for _, r := range m.ReferencesTo(role) {
		if b := m.bindingOf[r.From]; b != nil && r.Why == "roleRef" {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b *Binding) int { return a.Index - b.Index })
	return out
}

// BindingOf returns the RoleBinding or ClusterRoleBinding with the identity.
func (m *Model) BindingOf(id ID) *Binding { return m.bindingOf[id] }
