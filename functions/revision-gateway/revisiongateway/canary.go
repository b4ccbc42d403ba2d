package revisiongateway

import (
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// work is one pair being turned into a canary.
type work struct {
	mesh.GatewayPair
	oldID, newID mesh.ID
	// prod are the production Services (they select the old pods and are
	// not from the new render); renderSvcs are the new render's own.
	prod       []mesh.ID
	renderSvcs []mesh.ID
	renderGws  []mesh.ID
	// disc is a pod label the canary carries and the old pods do not.
	discKey, discValue string
	failed             bool
}

// canary is mode canary (S3). It edits in three passes, rebuilding the
// model between them so that every selection question is asked of the
// objects as they are by then.
func canary(items []*mesh.Item, pairs []mesh.GatewayPair, spec Spec, res *krm.Results) ([]*mesh.Item, error) {
	m, err := mesh.BuildItems(items)
	if err != nil {
		return nil, err
	}
	ws := make([]*work, len(pairs))
	for i, p := range pairs {
		w := &work{GatewayPair: p, oldID: p.Old.ID, newID: p.New.ID}
		ws[i] = w
		if err := joinProduction(m, w, res); err != nil {
			return nil, err
		}
	}
	// Pass 2: a selector of its own.
	if m, err = mesh.BuildItems(items); err != nil {
		return nil, err
	}
	for _, w := range ws {
		if !w.failed {
			if err := ownSelector(m, w, res); err != nil {
				return nil, err
			}
		}
	}
	if m, err = mesh.BuildItems(items); err != nil {
		return nil, err
	}
	for _, w := range ws {
		if w.failed {
			continue
		}
		o, n := w.workloads(m)
		if n.SelectsPodsOf(o) || !n.SelectsPodsOf(n) {
			res.Errorf(n.Object, "spec.selector %s of canary %s must select its own pods and not those of %s; give it a selector of its own", flow(n.SelectorNode()), n.ID, o.ID)
			w.failed = true
		}
	}
	// Pass 3: everything that depends on the final labels.
	var removed = map[mesh.ID]bool{}
	var added []*yaml.RNode
	for _, w := range ws {
		if w.failed {
			continue
		}
		a, err := finish(m, w, spec, removed, res)
		if err != nil {
			return nil, err
		}
		added = append(added, a...)
	}
	if res.Failed() {
		return items, nil
	}
	out := make([]*mesh.Item, 0, len(items)+len(added))
	for _, it := range items {
		o, err := mesh.IdentifyItem(0, it)
		if err == nil && removed[o.ID] {
			continue
		}
		out = append(out, it)
	}
	for _, n := range added {
		out = append(out, mesh.NewItem(n))
	}
	return out, nil
}

func ids[T interface{ comparable }](xs []T, id func(T) mesh.ID) []mesh.ID {
	out := make([]mesh.ID, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func idList(xs []mesh.ID) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}

// workloads are the pair's running gateway and canary in m: each pass
// rebuilds the model, so the pair is kept by identity.
func (w *work) workloads(m *mesh.Model) (o, n *mesh.Workload) {
	return m.Workload(w.oldID), m.Workload(w.newID)
}

// fromRender reports whether an object is the new render's copy of
// something: revision-gateway made it from a carried canary render
// (mesh.AnnotationCanaryOf), or, in an input the user renamed by hand, its
// name carries the pair's suffix.
func (w *work) fromRender(o *mesh.Object) bool {
	if _, ok := o.CanaryOf(); ok {
		return true
	}
	return w.Suffix != "" && strings.HasSuffix(o.ID.Name, w.Suffix)
}
