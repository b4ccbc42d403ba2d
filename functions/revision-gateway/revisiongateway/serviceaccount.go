package revisiongateway

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
)

// serviceAccount checks that the canary's ServiceAccount and its bindings
// follow it. It returns the identities the canary depends on and the RBAC
// objects that belong to it (not materialized: only an ordering annotation
// edits them).
func serviceAccount(m *mesh.Model, o, n *mesh.Workload, res *krm.Results) ([]mesh.ID, []*mesh.Object) {
	if n.ServiceAccount == "" {
		res.Warnf(n.Object, "canary %s sets no serviceAccountName: it runs as the namespace's default ServiceAccount", n.ID)
		return nil, nil
	}
	saID := mesh.ID{Kind: "ServiceAccount", Namespace: n.ID.Namespace, Name: n.ServiceAccount}
	sa, ok := m.Get(saID)
	if !ok {
		res.Errorf(n.Object, "spec.template.spec.serviceAccountName %s: no such ServiceAccount in the input, so the canary's pods cannot be created; render the new gateway's ServiceAccount with it (in the carried render, revision-gateway renames both)", n.ServiceAccount)
		return nil, nil
	}
	deps := []mesh.ID{saID}
	var objs []*mesh.Object
	shared := n.ServiceAccount == o.ServiceAccount
	if !shared {
		objs = append(objs, sa)
	}
	bound := func(id mesh.ID) []mesh.ID {
		var out []mesh.ID
		for _, r := range m.ReferencesTo(id) {
			if r.Why == "subject" {
				out = append(out, r.From)
			}
		}
		return out
	}
	bs := bound(saID)
	var desc []string
	for _, b := range bs {
		if b.Kind != "RoleBinding" {
			continue
		}
		bo, _ := m.Get(b)
		if !shared {
			objs = append(objs, bo)
		}
		deps = append(deps, b)
		d := "RoleBinding " + b.Name
		for _, r := range m.References(bo) {
			if r.Why == "roleRef" {
				d += " (" + r.To.Kind + " " + r.To.Name + ")"
				if ro, ok := m.Get(r.To); ok && r.To.Namespace == n.ID.Namespace && !shared {
					objs = append(objs, ro)
				}
			}
		}
		desc = append(desc, d)
	}
	if shared {
		res.Warnf(n.Object, "canary %s shares ServiceAccount %s with %s: the prune step must keep it", n.ID, n.ServiceAccount, o.ID)
	} else if old := bound(mesh.ID{Kind: "ServiceAccount", Namespace: o.ID.Namespace, Name: o.ServiceAccount}); len(old) > 0 && len(bs) == 0 {
		res.Warnf(n.Object, "ServiceAccount %s of %s is bound by %s, but ServiceAccount %s of the canary by nothing", o.ServiceAccount, o.ID, idList(old), n.ServiceAccount)
	}
	msg := fmt.Sprintf("canary %s runs as ServiceAccount %s", n.ID, n.ServiceAccount)
	if len(desc) > 0 {
		msg += ", bound by " + strings.Join(desc, ", ")
	}
	res.Infof(sa, "%s", msg)
	return deps, objs
}
