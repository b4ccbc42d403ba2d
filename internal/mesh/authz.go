package mesh

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/labels"
)

// This file evaluates RBAC as the Kubernetes authorizer does
// (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go, RulesAllow,
// over pkg/registry/rbac/validation/rule.go VisitRulesFor): what a
// ServiceAccount may do in a state, given its bindings and their roles.

// ServiceAccountRef names a ServiceAccount.
type ServiceAccountRef struct {
	Namespace, Name string
}

func (s ServiceAccountRef) String() string { return s.Namespace + "/" + s.Name }

// ID is the ServiceAccount's identity.
func (s ServiceAccountRef) ID() ID {
	return ID{Kind: "ServiceAccount", Namespace: s.Namespace, Name: s.Name}
}

// ServiceAccountOf is the ServiceAccount a workload's pods run as: its
// serviceAccountName, "default" when unset (the ServiceAccount admission
// plugin, plugin/pkg/admission/serviceaccount/admission.go).
func ServiceAccountOf(w *Workload) ServiceAccountRef {
	name := w.ServiceAccount
	if name == "" {
		name = "default"
	}
	return ServiceAccountRef{Namespace: w.ID.Namespace, Name: name}
}

// Grant is one atomic permission a ServiceAccount holds: one verb on one
// group/resource (and one resource name, "" for every name) in one
// namespace ("" for every namespace and cluster-scoped resources: a
// ClusterRoleBinding), or one verb on a non-resource URL. Binding and Role
// say where it comes from.
type Grant struct {
	Group, Resource, Verb, Name, URL string
	Namespace                        string
	Binding, Role                    ID
}

func (g Grant) perm() permission {
	return permission{group: g.Group, resource: g.Resource, verb: g.Verb, name: g.Name, url: g.URL}
}

// String renders a grant as group/resource verb, e.g. "core/secrets get
// (name istio-ca-secret) in namespace istio-system".
func (g Grant) String() string {
	if g.URL != "" {
		return g.URL + " " + g.Verb
	}
	group := g.Group
	if group == "" {
		group = "core"
	}
	s := group + "/" + g.Resource + " " + g.Verb
	if g.Name != "" {
		s += " (name " + g.Name + ")"
	}
	if g.Namespace != "" {
		s += " in namespace " + g.Namespace
	}
	return s
}

// scopedRule is a rule a binding grants, in the binding's scope: ns "" for
// a ClusterRoleBinding, the RoleBinding's namespace otherwise.
type scopedRule struct {
	rule    *PolicyRule
	ns      string
	binding ID
	role    ID
}

// allows is RulesAllow's visitor for one rule: a RoleBinding's rules apply
// only to requests in its namespace, so never to non-resource URLs
// (pkg/registry/rbac/validation/rule.go VisitRulesFor).
func (r scopedRule) allows(g Grant) bool {
	if r.ns != "" && (g.URL != "" || g.Namespace != r.ns) {
		return false
	}
	return r.rule.allows(g.perm())
}

// Permissions are what one ServiceAccount may do in one model.
type Permissions struct {
	SA    ServiceAccountRef
	rules []scopedRule
	// grants are the atomic grants, deduplicated, built on first use.
	grants []Grant
	once   sync.Once
	// sum hashes the rules' scopes and hashes, in order (sameRules).
	sum uint64
}

// Allows reports whether the permissions allow the grant (its scope, group,
// resource, verb and name; where it came from does not matter).
func (p *Permissions) Allows(g Grant) bool {
	for _, r := range p.rules {
		if r.allows(g) {
			return true
		}
	}
	return false
}

// Grants returns the atomic grants, first binding first, each once.
func (p *Permissions) Grants() []Grant {
	p.once.Do(p.enumerate)
	return p.grants
}

func (p *Permissions) enumerate() {
	type key struct {
		p  permission
		ns string
	}
	seen := map[key]bool{}
	for _, r := range p.rules {
		for _, x := range r.rule.permissions() {
			if r.ns != "" && x.url != "" {
				continue // a RoleBinding grants no non-resource URL
			}
			k := key{x, r.ns}
			if seen[k] {
				continue
			}
			seen[k] = true
			p.grants = append(p.grants, Grant{Group: x.group, Resource: x.resource, Verb: x.verb, Name: x.name, URL: x.url,
				Namespace: r.ns, Binding: r.binding, Role: r.role})
		}
	}
}

// LostIn returns the grants of p that next does not allow, in order.
func (p *Permissions) LostIn(next *Permissions) []Grant {
	if p.sameRules(next) {
		return nil // most steps leave RBAC alone
	}
	var out []Grant
	for _, g := range p.Grants() {
		if !next.Allows(g) {
			out = append(out, g)
		}
	}
	return out
}

// sameRules reports whether next holds the same rules in the same scopes,
// in the same order (by their hashes), so that it allows what p allows.
func (p *Permissions) sameRules(next *Permissions) bool {
	return len(p.rules) == len(next.rules) && p.sum == next.sum
}

const fnvPrime = 1099511628211

// authzIndex is what a model's authorizer builds once: bindings by the
// subjects a ServiceAccount matches, and each ServiceAccount's permissions
// as they are asked for.
type authzIndex struct {
	once    sync.Once
	bySA    map[ServiceAccountRef][]*Binding
	byGroup map[string][]*Binding
	mu      sync.Mutex
	perms   map[ServiceAccountRef]*Permissions
	sumOnce sync.Once
	sum     uint64
}

// RBACSum is a hash of everything in the model that grants permissions:
// every binding (identity, roleRef, subjects) and every role (identity,
// rules, labels, aggregation), whatever their order. Two models with the
// same sum grant every ServiceAccount the same permissions (but for a
// 64-bit hash collision), so a verifier comparing states need not ask.
func (m *Model) RBACSum() uint64 {
	x := &m.authz
	x.sumOnce.Do(func() {
		for _, b := range m.Bindings {
			h := fnv.New64a()
			for _, s := range []string{b.ID.Kind, b.ID.Namespace, b.ID.Name, b.RoleRef.Kind, b.RoleRef.Namespace, b.RoleRef.Name} {
				h.Write([]byte(s))
				h.Write([]byte{0})
			}
			for _, sub := range b.Subjects {
				for _, s := range []string{sub.Kind, sub.Namespace, sub.Name} {
					h.Write([]byte(s))
					h.Write([]byte{0})
				}
			}
			x.sum += h.Sum64()
		}
		for _, r := range m.Roles {
			x.sum += r.sum()
		}
	})
	return x.sum
}

// Group names a ServiceAccount's token carries
// (k8s.io/apiserver/pkg/authentication/serviceaccount/util.go
// MakeGroupNames, plus system:authenticated added by the authenticator,
// k8s.io/apiserver/pkg/authentication/group/authenticated_group_adder.go).
const (
	groupAllServiceAccounts = "system:serviceaccounts"
	groupAuthenticated      = "system:authenticated"
	userServiceAccount      = "system:serviceaccount:"
)

func (x *authzIndex) build(m *Model) {
	x.bySA = map[ServiceAccountRef][]*Binding{}
	x.byGroup = map[string][]*Binding{}
	x.perms = map[ServiceAccountRef]*Permissions{}
	for _, b := range m.Bindings {
		for _, s := range b.Subjects {
			switch s.Kind {
			case "ServiceAccount":
				// parseBinding defaulted a RoleBinding subject's namespace
				// to the binding's; one still without a namespace matches
				// nobody (rule.go appliesToUser).
				if s.Namespace != "" {
					k := ServiceAccountRef{s.Namespace, s.Name}
					x.bySA[k] = append(x.bySA[k], b)
				}
			case "User":
				// serviceaccount.MatchesUsername: system:serviceaccount:<ns>:<name>.
				if rest, ok := strings.CutPrefix(s.Name, userServiceAccount); ok {
					if ns, name, ok := strings.Cut(rest, ":"); ok && ns != "" && name != "" && !strings.Contains(name, ":") {
						k := ServiceAccountRef{ns, name}
						x.bySA[k] = append(x.bySA[k], b)
					}
				}
			case "Group":
				x.byGroup[s.Name] = append(x.byGroup[s.Name], b)
			}
		}
	}
}

// bindingsFor returns the bindings with a subject that applies to the
// ServiceAccount, each once, in input order.
func (x *authzIndex) bindingsFor(sa ServiceAccountRef) []*Binding {
	var out []*Binding
	out = append(out, x.bySA[sa]...)
	for _, g := range []string{groupAllServiceAccounts, groupAllServiceAccounts + ":" + sa.Namespace, groupAuthenticated} {
		out = append(out, x.byGroup[g]...)
	}
	slices.SortFunc(out, func(a, b *Binding) int { return a.Index - b.Index })
	return slices.Compact(out)
}

// Grants returns what the ServiceAccount may do in this model, computed on
// first use and kept (the model is read-only).
func (m *Model) Grants(sa ServiceAccountRef) *Permissions {
	x := &m.authz
	x.once.Do(func() { x.build(m) })
	x.mu.Lock()
	defer x.mu.Unlock()
	if p := x.perms[sa]; p != nil {
		return p
	}
	p := &Permissions{SA: sa}
	for _, b := range x.bindingsFor(sa) {
		ns := ""
		if b.ID.Kind == "RoleBinding" {
			ns = b.ID.Namespace
		}
		rules := m.RoleRulesOf(b.RoleRef)
		nsSum := fnv.New64a()
		nsSum.Write([]byte(ns))
		for i := range rules {
			p.rules = append(p.rules, scopedRule{rule: &rules[i], ns: ns, binding: b.ID, role: b.RoleRef})
			p.sum = (p.sum^nsSum.Sum64())*fnvPrime ^ rules[i].sum
			p.sum *= fnvPrime
		}
	}
	x.perms[sa] = p
	return p
}

// Allows reports whether the ServiceAccount holds the grant in this model.
func (m *Model) Allows(sa ServiceAccountRef, g Grant) bool { return m.Grants(sa).Allows(g) }

// Role returns the Role or ClusterRole with the identity, or nil.
func (m *Model) Role(id ID) *Role { return m.roleOf[id] }

// RoleRulesOf returns the effective rules of a role: nil when the model
// has no such role (a binding to a missing role grants nothing,
// pkg/registry/rbac/validation/rule.go VisitRulesFor reports the error and
// goes on); for an aggregated ClusterRole, the rules of every other
// ClusterRole its selectors match, as the aggregation controller writes
// them (pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go
// syncClusterRole).
func (m *Model) RoleRulesOf(id ID) []PolicyRule {
	r := m.roleOf[id]
	if r == nil {
		return nil
	}
	if !r.Aggregated {
		return r.Rules
	}
	return m.aggregate(r, map[*Role]bool{})
}

func (m *Model) aggregate(r *Role, visiting map[*Role]bool) []PolicyRule {
	visiting[r] = true
	defer delete(visiting, r)
	var out []PolicyRule
	for _, sel := range r.Aggregation {
		for _, c := range m.Roles {
			if c == r || c.ID.Kind != "ClusterRole" || visiting[c] || !sel.Matches(labels.Set(c.Labels)) {
				continue
			}
			rules := c.Rules
			if c.Aggregated {
				rules = m.aggregate(c, visiting)
			}
			for _, rule := range rules {
				if !RulesAllow(out, rule) {
					out = append(out, rule)
				}
			}
		}
	}
	return out
}

// Describe renders where a grant comes from: "ClusterRoleBinding b (ClusterRole r)".
func (g Grant) Describe() string {
	return fmt.Sprintf("%s %s (%s %s)", g.Binding.Kind, g.Binding.Name, g.Role.Kind, g.Role.Name)
}
