package canarycontrolplane

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// crd emits a CRD both renders define when the new definition is the newer
// one and serves every version the running one serves.
func (c *canary) crd(o, old *mesh.Object) (bool, error) {
	nv, err := mesh.CRDVersions(o)
	if err != nil {
		return false, &mesh.ObjectError{ID: o.ID, Err: err}
	}
	ov, err := mesh.CRDVersions(old)
	if err != nil {
		return false, fmt.Errorf("running render: %v", &mesh.ObjectError{ID: old.ID, Err: err})
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: identical to the running definition", o.ID)
		return false, nil
	}
	if c.runningNewer {
		c.res.Infof(o, "held back %s: the running definition is the newer one (%s); it stays", o.ID, c.versions)
		return false, nil
	}
	if dropped := mesh.DroppedVersions(ov, nv); len(dropped) > 0 {
		c.res.Errorf(o, "%s: the new definition stops serving %s, which the running definition serves (running serves %s, new serves %s); objects in those versions and the running istiod's watches would break. Keep the version served until every revision that reads it is gone", o.ID, strings.Join(dropped, ", "), list(mesh.ServedVersions(ov)), list(mesh.ServedVersions(nv)))
		return false, nil
	}
	c.res.Infof(o, "replaces the running definition of %s (%s; served versions %s -> %s)", o.ID, c.versions, list(mesh.ServedVersions(ov)), list(mesh.ServedVersions(nv)))
	return true, nil
}

// role emits a Role or ClusterRole both renders hold as the union of their
// rules.
func (c *canary) role(o, old *mesh.Object) (bool, error) {
	nr, err := mesh.RoleRules(o)
	if err != nil {
		return false, &mesh.ObjectError{ID: o.ID, Err: err}
	}
	or, err := mesh.RoleRules(old)
	if err != nil {
		return false, fmt.Errorf("running render: %v", &mesh.ObjectError{ID: old.ID, Err: err})
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: identical to the running object", o.ID)
		return false, nil
	}
	lost := mesh.RulesLost(or, nr)
	if len(lost) == 0 {
		c.res.Infof(o, "replaces the running %s: the new rules grant everything the running ones do", o.ID)
		return true, nil
	}
	seq := lookupSeq(o.Node(), "rules")
	if seq == nil {
		seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if err := o.Node().PipeE(yaml.SetField("rules", yaml.NewRNode(seq))); err != nil {
			return false, err
		}
		seq = lookupSeq(o.Node(), "rules")
	}
	var desc []string
	for _, r := range lost {
		seq.Content = append(seq.Content, yaml.CopyYNode(r.Node))
		desc = append(desc, r.String())
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: the union of both renders' rules is the running object itself, applying it changes nothing", o.ID)
		return false, nil
	}
	c.res.Infof(o, "%s is shared by both revisions: emitted the union of its rules, keeping %d rule(s) of the running render that the new render drops (%s) so that %s keep(s) them while both istiods run", o.ID, len(lost), strings.Join(desc, "; "), c.boundTo(old.ID))
	return true, nil
}

// boundTo names the subjects the running render binds to a role.
func (c *canary) boundTo(role mesh.ID) string {
	var out []string
	for _, b := range c.running.BindingsTo(role) {
		for _, s := range b.Subjects {
			who := s.Kind + " " + s.Name
			if s.Namespace != "" {
				who = s.Kind + " " + s.Namespace + "/" + s.Name
			}
			out = append(out, who+" ("+b.ID.Kind+" "+b.ID.Name+")")
		}
	}
	if len(out) == 0 {
		return "whatever the running revision binds to it"
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// binding emits a binding both renders hold, with the union of their
// subjects, when both bind the same role.
func (c *canary) binding(o, old *mesh.Object) (bool, error) {
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: identical to the running object", o.ID)
		return false, nil
	}
	nb, ob := c.newModel.BindingOf(o.ID), c.running.BindingOf(old.ID)
	if nb == nil || ob == nil {
		return false, fmt.Errorf("%s: not a parsed binding", o.ID)
	}
	if nb.RoleRef != ob.RoleRef {
		c.res.Warnf(o, "held back %s: its roleRef (%s) differs from the running binding's (%s) and roleRef cannot be changed in place; it is applied when the old revision is pruned. Check that revision %s gets its permissions from another binding meanwhile", o.ID, nb.RoleRef, ob.RoleRef, c.rev)
		return false, nil
	}
	have := map[mesh.Subject]bool{}
	for _, s := range nb.Subjects {
		have[s] = true
	}
	oldSubjects := lookupSeq(old.Node(), "subjects")
	var added []string
	for i, s := range ob.Subjects {
		if have[s] || oldSubjects == nil || i >= len(oldSubjects.Content) {
			continue
		}
		seq := lookupSeq(o.Node(), "subjects")
		if seq == nil {
			if err := o.Node().PipeE(yaml.SetField("subjects", yaml.NewRNode(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}))); err != nil {
				return false, err
			}
			seq = lookupSeq(o.Node(), "subjects")
		}
		seq.Content = append(seq.Content, yaml.CopyYNode(oldSubjects.Content[i]))
		have[s] = true
		added = append(added, s.Kind+" "+s.Namespace+"/"+s.Name)
	}
	if len(added) == 0 {
		c.res.Infof(o, "replaces the running %s: it keeps every subject of the running binding", o.ID)
		return true, nil
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: the union of both renders' subjects is the running object itself, applying it changes nothing", o.ID)
		return false, nil
	}
	c.res.Infof(o, "%s is shared by both revisions: emitted the union of its subjects, keeping %s of the running render so the running revision keeps %s", o.ID, strings.Join(added, ", "), nb.RoleRef)
	return true, nil
}

func lookupSeq(n *yaml.RNode, field string) *yaml.Node {
	f := n.Field(field)
	if f == nil || f.Value == nil || f.Value.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	return f.Value.YNode()
}
