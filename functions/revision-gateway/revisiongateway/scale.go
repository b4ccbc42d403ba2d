package revisiongateway

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

type scaleResult struct {
	created *yaml.RNode
	node    *yaml.RNode
}

// fixScale: the canary's HPA follows it with bounds no lower than the
// running gateway's; without HPAs, replicas equal the running gateway's.
func fixScale(m *mesh.Model, o, n *mesh.Workload, res *krm.Results) (scaleResult, error) {
	canaryH, oldH := hpasOf(m, o, n)
	b := bounds{min: o.DesiredReplicas()}
	b.from = fmt.Sprintf("%s's replicas %d", o.ID, b.min)
	if oldH != nil {
		b = bounds{min: oldH.MinReplicas, max: oldH.MaxReplicas, from: fmt.Sprintf("%s of %s: %d..%d", oldH.ID, o.ID, oldH.MinReplicas, oldH.MaxReplicas)}
	}
	switch {
	case canaryH != nil:
		return scaleResult{node: canaryH.Node()}, followHPA(canaryH, n, b, res)
	case oldH != nil:
		c, err := copyHPA(oldH, n, res)
		if err != nil {
			return scaleResult{}, err
		}
		return scaleResult{created: c, node: c}, nil
	}
	return scaleResult{}, matchReplicas(o, n, res)
}

// hpasOf finds the HPAs of the canary n (by name, or else the first that
// targets it) and of the running gateway o (the first that targets it).
func hpasOf(m *mesh.Model, o, n *mesh.Workload) (canaryH, oldH *mesh.HPA) {
	for _, h := range m.HPAs {
		if h.ID.Namespace != n.ID.Namespace || (h.TargetKind != "" && h.TargetKind != "Deployment") {
			continue
		}
		switch {
		case h.ID.Name == n.ID.Name || (h.TargetName == n.ID.Name && canaryH == nil):
			canaryH = h
		case h.TargetName == o.ID.Name && oldH == nil:
			oldH = h
		}
	}
	if oldH != nil && oldH == canaryH {
		oldH = nil
	}
	return canaryH, oldH
}

// bounds are the replicas the canary must not scale below: the running
// gateway's HPA bounds, or its replicas (max 0).
type bounds struct {
	min, max int64
	from     string
}

// followHPA points the canary's own HPA at it and raises its bounds to b.
func followHPA(h *mesh.HPA, n *mesh.Workload, b bounds, res *krm.Results) error {
	var changes []string
	if h.TargetName != n.ID.Name {
		if err := setString(h.Node(), []string{"spec", "scaleTargetRef"}, "name", n.ID.Name); err != nil {
			return err
		}
		changes = append(changes, fmt.Sprintf("scaleTargetRef.name %s (was %s)", n.ID.Name, h.TargetName))
	}
	minR, maxR := h.MinReplicas, h.MaxReplicas
	if minR < b.min {
		changes = append(changes, fmt.Sprintf("minReplicas %d (was %d)", b.min, minR))
		minR = b.min
		if err := setInt(h.Node(), []string{"spec"}, "minReplicas", minR); err != nil {
			return err
		}
	}
	maxWant := max(b.max, minR)
	if maxR < maxWant {
		changes = append(changes, fmt.Sprintf("maxReplicas %d (was %d)", maxWant, maxR))
		maxR = maxWant
		if err := setInt(h.Node(), []string{"spec"}, "maxReplicas", maxR); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("%s scales canary %s between %d and %d, not below %s", h.ID, n.ID, minR, maxR, b.from)
	if len(changes) > 0 {
		msg += "; set " + strings.Join(changes, ", ")
	}
	res.Infof(h.Object, "%s", msg)
	return nil
}

// copyHPA gives the canary a copy of the running gateway's HPA.
func copyHPA(oldH *mesh.HPA, n *mesh.Workload, res *krm.Results) (*yaml.RNode, error) {
	c := oldH.Node().Copy()
	if err := c.PipeE(yaml.Clear("status")); err != nil {
		return nil, err
	}
	if err := c.PipeE(yaml.SetField("metadata", yaml.NewMapRNode(nil))); err != nil {
		return nil, err
	}
	if err := c.SetName(n.ID.Name); err != nil {
		return nil, err
	}
	if err := c.SetNamespace(n.ID.Namespace); err != nil {
		return nil, err
	}
	if l := oldH.Node().GetLabels(); len(l) > 0 {
		if err := c.SetLabels(l); err != nil {
			return nil, err
		}
	}
	if err := setString(c, []string{"spec", "scaleTargetRef"}, "name", n.ID.Name); err != nil {
		return nil, err
	}
	res.Infof(&mesh.Object{APIVersion: oldH.APIVersion, ID: mesh.ID{Group: oldH.ID.Group, Kind: oldH.ID.Kind, Namespace: n.ID.Namespace, Name: n.ID.Name}}, "created HPA %s/%s for canary %s as a copy of %s (%d..%d): the new render has none", n.ID.Namespace, n.ID.Name, n.ID, oldH.ID, oldH.MinReplicas, oldH.MaxReplicas)
	return c, nil
}

// matchReplicas gives the canary, when no HPA scales either, the running
// gateway's replicas.
func matchReplicas(o, n *mesh.Workload, res *krm.Results) error {
	want := o.DesiredReplicas()
	switch {
	case want == 0:
		res.Warnf(n.Object, "running gateway %s has 0 replicas and no HPA: the canary keeps its own replicas (%d)", o.ID, n.DesiredReplicas())
	case n.DesiredReplicas() != want || n.Replicas == nil && o.Replicas != nil:
		if err := setInt(n.Node(), []string{"spec"}, "replicas", want); err != nil {
			return err
		}
		res.Infof(n.Object, "replicas %d (was %d): the same as %s", want, n.DesiredReplicas(), o.ID)
	}
	return nil
}
