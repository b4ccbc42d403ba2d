package revisiongateway

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
)

// expand emits the objects of the carried canary renders
// (mesh.AnnotationCanaryRender) as canaries: each object under its canary
// name (mesh.CanaryName), annotated mesh.AnnotationCanaryOf with the name it
// was rendered under, and each of its references to another object of the
// same render retargeted to that object's canary name.
//
// The references are the model's (mesh.References) of the render on its
// own, so a reference to anything the render does not hold (a control-plane
// ServiceAccount, the istio-<rev> ConfigMap, istiod's Service) is never
// touched, and no object outside the render is ever edited: the renaming
// needs no kustomize nameSuffix, whose final pass rewrites the running
// render's references too (kubernetes-sigs/kustomize#5856).
//
// It returns the items with the canaries added, and the pairs the renders
// imply: each rendered gateway Deployment replaces the running Deployment
// of the same namespace and name. A canary already in the items (an
// earlier run) is not emitted again, which keeps the function idempotent.
func expand(items []*mesh.Item, spec Spec, res *krm.Results) ([]*mesh.Item, []mesh.PairRequest, error) {
	carriers := items[:0:0]
	for _, it := range items {
		if !mesh.IsCarrier(it, mesh.AnnotationCanaryRender) {
			continue
		}
		o, err := mesh.IdentifyItem(0, it)
		if err != nil {
			return nil, nil, err
		}
		if spec.Render == "" || o.ID.Name == spec.Render {
			carriers = append(carriers, it)
		}
	}
	if len(carriers) == 0 {
		if spec.Render != "" {
			return nil, nil, fmt.Errorf("functionConfig spec.render: no ConfigMap %s annotated %s in the input", spec.Render, mesh.AnnotationCanaryRender)
		}
		return items, nil, nil
	}
	if spec.Revision == "" {
		return nil, nil, fmt.Errorf("functionConfig spec.revision: required with a carried canary render (%s): the canaries are named <name>-<revision>", mesh.AnnotationCanaryRender)
	}
	objs, _, err := mesh.Carried(carriers, mesh.AnnotationCanaryRender)
	if err != nil {
		return nil, nil, err
	}
	render, err := mesh.BuildItems(objs)
	if err != nil {
		return nil, nil, fmt.Errorf("canary render: %w", err)
	}
	have := map[mesh.ID]*mesh.Object{}
	for i, it := range items {
		if o, err := mesh.IdentifyItem(i, it); err == nil {
			have[o.ID] = o
		}
	}
	var added []string
	for _, o := range render.Objects {
		id := canaryID(o.ID, spec.Revision)
		if prev, ok := have[id]; ok {
			if of, _ := prev.CanaryOf(); of != o.ID {
				return nil, nil, fmt.Errorf("%s: the canary name of %s is taken by an object that is not its canary (no %s: %s)", id, o.ID, mesh.AnnotationCanaryOf, o.ID.Name)
			}
			continue
		}
		if err := makeCanary(render, o, spec.Revision); err != nil {
			return nil, nil, err
		}
		items = append(items, o.Item())
		added = append(added, id.Kind+" "+id.Name)
	}
	if len(added) > 0 {
		res.Infof(nil, "added the canary render's objects under their canary names, their references within the render following them: %s", strings.Join(added, ", "))
	}
	var pairs []mesh.PairRequest
	for _, g := range render.Gateways {
		if _, running := have[g.ID]; !running {
			res.Infof(g.Object, "rendered gateway %s has no running Deployment of the same namespace and name: its canary %s replaces nothing", g.ID, mesh.CanaryName(g.ID.Name, spec.Revision))
			continue
		}
		pairs = append(pairs, mesh.PairRequest{Namespace: g.ID.Namespace, Old: g.ID.Name, New: mesh.CanaryName(g.ID.Name, spec.Revision)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].Namespace != pairs[j].Namespace {
			return pairs[i].Namespace < pairs[j].Namespace
		}
		return pairs[i].Old < pairs[j].Old
	})
	return items, pairs, nil
}

func canaryID(id mesh.ID, rev string) mesh.ID {
	id.Name = mesh.CanaryName(id.Name, rev)
	return id
}

// makeCanary renames one rendered object and retargets its references to
// the render's other objects.
func makeCanary(render *mesh.Model, o *mesh.Object, rev string) error {
	for _, r := range render.References(o) {
		if !render.Has(r.To) {
			continue
		}
		field, err := retarget(o, r, mesh.CanaryName(r.To.Name, rev))
		if err != nil {
			return &mesh.ObjectError{ID: o.ID, Err: err}
		}
		if field == "" {
			return &mesh.ObjectError{ID: o.ID, Err: fmt.Errorf("its %s reference to %s could not be retargeted", r.Why, r.To)}
		}
	}
	n := o.Node()
	if err := n.SetName(mesh.CanaryName(o.ID.Name, rev)); err != nil {
		return err
	}
	return o.Item().SetAnnotation(mesh.AnnotationCanaryOf, o.ID.Name)
}
