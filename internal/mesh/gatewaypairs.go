package mesh

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Gateway pairs: which running gateway a revisioned (canary) gateway
// replaces, and whether it can.

// GatewayPair is a running gateway and the revisioned gateway that replaces
// it.
type GatewayPair struct {
	Old, New                 *Gateway
	OldRevision, NewRevision string
	// Suffix is what the new render's object names carry ("-1-6-14" for a
	// canary named <name>-<rev>); "" when the names tell nothing (an
	// explicit pair of unrelated names).
	Suffix string
}

// PairRequest names a pair explicitly (Deployments in one namespace).
type PairRequest struct {
	Namespace, Old, New string
}

// PairError is a pairing failure about one object.
type PairError struct {
	Object *Object
	Msg    string
}

func (e *PairError) Error() string { return e.Object.ID.String() + ": " + e.Msg }

// baseName strips a gateway's own revision from its name ("custom-gw-1-6-14"
// of revision 1-6-14 -> "custom-gw"). A gateway of the default revision, or
// one whose name does not end in its revision, is its own base.
func baseName(name, rev string) string {
	if rev == "" || rev == DefaultRevision {
		return name
	}
	return strings.TrimSuffix(name, "-"+rev)
}

// PairGateways pairs running gateways with their replacements.
//
// With explicit requests, exactly those pairs are made (each name must be a
// gateway Deployment in the input). Otherwise gateways are grouped by
// namespace and base name (the name without a trailing -<own revision>): in
// each group the gateways whose name ends in their revision are canaries,
// the others are running. A group with one of each is a pair. A canary
// alone is unpairable; two canaries, or two running gateways for one canary,
// are ambiguous; all are errors naming the gateways. With revision set, only
// gateways of that revision are canaries, and every other member of their
// group is a candidate to replace (so hop N+1 can replace custom-gw-<rev N>).
//
// The new gateway's revision is read by GatewayRevision.
func (m *Model) PairGateways(explicit []PairRequest, revision string) ([]GatewayPair, []*PairError) {
	if len(explicit) > 0 {
		return m.explicitPairs(explicit)
	}
	type member struct {
		g   *Gateway
		rev string
	}
	groups := map[string][]member{}
	var keys []string
	for _, g := range m.Gateways {
		rev := m.RevisionOfGateway(g)
		k := g.ID.Namespace + "/" + baseName(g.ID.Name, rev)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], member{g, rev})
	}
	sort.Strings(keys)
	var pairs []GatewayPair
	var errs []*PairError
	names := func(ms []member) string {
		var s []string
		for _, x := range ms {
			s = append(s, fmt.Sprintf("%s (revision %s)", x.g.ID, x.rev))
		}
		return strings.Join(s, ", ")
	}
	for _, k := range keys {
		ms := groups[k]
		base := k[strings.Index(k, "/")+1:]
		var canaries, running []member
		for _, x := range ms {
			isCanary := x.g.ID.Name != base
			if revision != "" {
				isCanary = x.rev == revision
			}
			if isCanary {
				canaries = append(canaries, x)
			} else {
				running = append(running, x)
			}
		}
		switch {
		case len(canaries) == 0:
			continue
		case len(canaries) > 1:
			errs = append(errs, &PairError{Object: canaries[0].g.Object, Msg: fmt.Sprintf("ambiguous pairing: %s could each replace the gateway named %s; set spec.revision to the new revision or list spec.pairs", names(canaries), base)})
		case len(running) == 0:
			c := canaries[0]
			errs = append(errs, &PairError{Object: c.g.Object, Msg: fmt.Sprintf("unpairable gateway: it runs revision %s but no running gateway Deployment %s/%s (or %s/%s-<revision>) is in the input to pair it with; render the running gateways too, or list spec.pairs", c.rev, c.g.ID.Namespace, base, c.g.ID.Namespace, base)})
		case len(running) > 1:
			c := canaries[0]
			errs = append(errs, &PairError{Object: c.g.Object, Msg: fmt.Sprintf("ambiguous pairing: %s could replace any of %s; list spec.pairs", c.g.ID, names(running))})
		case running[0].rev == canaries[0].rev:
			c, r := canaries[0], running[0]
			errs = append(errs, &PairError{Object: c.g.Object, Msg: fmt.Sprintf("gateway runs revision %s, the same as %s: nothing to replace; list spec.pairs or set spec.revision", c.rev, r.g.ID)})
		default:
			pairs = append(pairs, m.pair(running[0].g, canaries[0].g))
		}
	}
	return pairs, errs
}

func (m *Model) pair(old, nw *Gateway) GatewayPair {
	p := GatewayPair{Old: old, New: nw}
	p.OldRevision = m.RevisionOfGateway(old)
	p.NewRevision = m.RevisionOfGateway(nw)
	switch {
	case p.NewRevision != DefaultRevision && strings.HasSuffix(nw.ID.Name, "-"+p.NewRevision):
		p.Suffix = "-" + p.NewRevision
	case strings.HasPrefix(nw.ID.Name, old.ID.Name) && len(nw.ID.Name) > len(old.ID.Name):
		p.Suffix = nw.ID.Name[len(old.ID.Name):]
	}
	return p
}

func (m *Model) explicitPairs(reqs []PairRequest) ([]GatewayPair, []*PairError) {
	var pairs []GatewayPair
	var errs []*PairError
	used := map[*Gateway]int{}
	for i, r := range reqs {
		var gs [2]*Gateway
		ok := true
		for j, name := range []string{r.Old, r.New} {
			id := ID{Group: "apps", Kind: "Deployment", Namespace: r.Namespace, Name: name}
			w := m.Workload(id)
			switch {
			case w == nil:
				errs = append(errs, &PairError{Object: &Object{APIVersion: "apps/v1", ID: id}, Msg: fmt.Sprintf("spec.pairs[%d]: no Deployment %s/%s in the input", i, r.Namespace, name)})
				ok = false
			case w.Gateway() == nil:
				errs = append(errs, &PairError{Object: w.Object, Msg: fmt.Sprintf("spec.pairs[%d]: not a gateway (no container runs `proxy router` or an injected gateway proxy)", i)})
				ok = false
			default:
				gs[j] = w.Gateway()
			}
		}
		if !ok {
			continue
		}
		if gs[0] == gs[1] {
			errs = append(errs, &PairError{Object: gs[0].Object, Msg: fmt.Sprintf("spec.pairs[%d]: old and new are the same Deployment", i)})
			continue
		}
		dup := false
		for _, g := range gs {
			if prev, seen := used[g]; seen {
				errs = append(errs, &PairError{Object: g.Object, Msg: fmt.Sprintf("spec.pairs[%d]: already paired by spec.pairs[%d]", i, prev)})
				dup = true
			}
		}
		if dup {
			continue
		}
		used[gs[0]], used[gs[1]] = i, i
		pairs = append(pairs, m.pair(gs[0], gs[1]))
	}
	return pairs, errs
}

// ReplacementGaps answers "can repl take over old's traffic now": it lists,
// in a stable order, every reason it cannot (empty when it can). repl must
// be selected by every Service that selects old (invariant 1) and serve
// each of their targetPorts (2), with no two of its Services mapping a port
// differently (3); every Istio Gateway resource that programs old must
// program repl (4); and repl's guaranteed capacity (MinReplicas) must be no
// lower than old's (1).
func (m *Model) ReplacementGaps(old, repl *Workload) []string {
	var out []string
	if got, want := m.MinReplicas(repl), m.MinReplicas(old); got < want || got == 0 {
		out = append(out, fmt.Sprintf("%s guarantees %d replicas, %s guarantees %d", repl.ID, got, old.ID, want))
	}
	svcs := slices.Clone(old.Services())
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].ID.Less(svcs[j].ID) })
	for _, s := range svcs {
		if !slices.Contains(repl.Services(), s) {
			out = append(out, fmt.Sprintf("%s selects %s but not %s", s.ID, old.ID, repl.ID))
			continue
		}
		for _, p := range UnservedTargetPorts(s, repl) {
			out = append(out, fmt.Sprintf("%s does not serve targetPort %s of %s (port %d)", repl.ID, p.TargetPort, s.ID, p.Port))
		}
	}
	gws := slices.Clone(old.IstioGateways())
	sort.Slice(gws, func(i, j int) bool { return gws[i].ID.Less(gws[j].ID) })
	for _, g := range gws {
		if !slices.Contains(repl.IstioGateways(), g) {
			out = append(out, fmt.Sprintf("%s programs %s but not %s", g.ID, old.ID, repl.ID))
		}
	}
	for _, c := range m.PortConflicts(repl) {
		out = append(out, fmt.Sprintf("two Services select %s: %s", repl.ID, c))
	}
	return out
}

// GatewayParts are a gateway's Deployment and the objects that go with it:
// its ServiceAccount, the PDBs that select its pods, its HPA, and the
// RoleBindings of its ServiceAccount in its namespace with their Roles. Its
// Services are not: they are the production Services. A gateway's canary
// is made of these parts, and a render's copy of them is what would restart
// the running gateway in place.
func (m *Model) GatewayParts(g *Gateway) []*Object {
	out := []*Object{g.Object}
	ns := g.ID.Namespace
	if o, ok := m.Get(ID{Kind: "ServiceAccount", Namespace: ns, Name: g.ServiceAccount}); ok && g.ServiceAccount != "" {
		out = append(out, o)
	}
	for _, pdb := range g.PDBs() {
		out = append(out, pdb.Object)
	}
	if h := m.HPAFor(g.Workload); h != nil {
		out = append(out, h.Object)
	}
	if g.ServiceAccount == "" {
		return out
	}
	for _, r := range m.ReferencesTo(ID{Kind: "ServiceAccount", Namespace: ns, Name: g.ServiceAccount}) {
		b := m.BindingOf(r.From)
		if r.Why != "subject" || b == nil || b.ID.Kind != "RoleBinding" || b.ID.Namespace != ns || slices.Contains(out, b.Object) {
			continue
		}
		out = append(out, b.Object)
		if role, ok := m.Get(b.RoleRef); ok {
			out = append(out, role)
		}
	}
	return out
}
