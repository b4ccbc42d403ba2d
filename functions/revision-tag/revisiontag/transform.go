// Package revisiontag moves revision tags to a revision, offline: what
// `istioctl tag set <tag> --revision <rev> --overwrite` does to a cluster,
// done to the desired state instead (internal/revtag renders the objects).
//
// For each tag the input gets the tag's MutatingWebhookConfiguration
// istio-revision-tag-<tag> built from the revision's own injector (its
// rev.namespace and rev.object webhooks, with the tag in place of the
// revision), replacing the one of the old revision; the tag's Service
// istiod-revision-tag-<tag>, when the input has it (the istiod chart renders
// it with revisionTags), selects the revision's istiod pods.
//
// Moving a tag restarts nothing: pods created from then on in namespaces
// labelled istio.io/rev=<tag>, and pods labelled so, are injected by the
// new revision (dataplane-revision restarts the namespaces). A running
// gateway injected through the tag would move at its next pod restart, in
// place: give it a canary first (revision-gateway) and scale it to 0.
package revisiontag

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/revtag"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind.
const Kind = "RevisionTag"

// Spec is the functionConfig:
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: RevisionTag
//	metadata: {name: tags}
//	spec:
//	  revision: 1-31-0     # default: the one non-default revision whose istiod is in the input
//	  tags: [prod-stable]  # required; not "default" (webhook-fix sets the default tag)
type Spec struct {
	Revision string   `yaml:"revision,omitempty"`
	Tags     []string `yaml:"tags"`
}

// Transform moves every tag of the spec to the revision. See the package doc.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	var spec Spec
	m, err := krm.Load(items, config, Kind, &spec)
	if err != nil {
		return nil, err
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	rev, err := m.TargetRevision(spec.Revision)
	if err != nil {
		return nil, err
	}
	ns := m.IstiodsOf(rev)[0].ID.Namespace
	c, err := revtag.ReadCanonical(m, rev, ns)
	if err != nil {
		return nil, fmt.Errorf("cannot move a tag to revision %s: %v", rev, err)
	}
	for _, tag := range spec.Tags {
		if items, err = moveTag(m, items, c, tag, res); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func (s Spec) validate() error {
	if s.Revision != "" {
		if err := mesh.ValidRevision(s.Revision); err != nil {
			return fmt.Errorf("functionConfig spec.revision: %v", err)
		}
	}
	if len(s.Tags) == 0 {
		return fmt.Errorf("functionConfig spec.tags: name at least one revision tag to move")
	}
	for i, t := range s.Tags {
		if err := mesh.ValidRevision(t); err != nil {
			return fmt.Errorf("functionConfig spec.tags[%d]: %s", i, strings.Replace(err.Error(), "revision", "tag", 1))
		}
		if t == mesh.DefaultTag {
			return fmt.Errorf("functionConfig spec.tags[%d]: the default tag is set by webhook-fix, which also writes the default validator", i)
		}
	}
	return nil
}

// moveTag points one tag's webhook and Service at the revision.
func moveTag(m *mesh.Model, items []*mesh.Item, c *revtag.Canonical, tag string, res *krm.Results) ([]*mesh.Item, error) {
	from, _, had := m.TagRevision(tag)
	was := ""
	if had {
		was = fmt.Sprintf(" (it was on revision %s)", from)
	}
	why := fmt.Sprintf("revision tag %s on revision %s%s: namespaces labelled %s=%s, and pods labelled so, are injected by revision %s from now on (what `istioctl tag set %s --revision %s --overwrite` writes); nothing restarts until their pods are recreated", tag, c.Revision, was, mesh.LabelRev, tag, c.Revision, tag, c.Revision)
	items, err := revtag.Put(m, items, c.Webhook(tag), res, why)
	if err != nil {
		return nil, err
	}
	if err := repointService(m, c, tag, res); err != nil {
		return nil, err
	}
	warnGateways(m, c, tag, res)
	return items, nil
}

// repointService makes the tag's Service select the revision's istiod pods,
// as the revision's own Service istiod-<rev> does.
func repointService(m *mesh.Model, c *revtag.Canonical, tag string, res *krm.Results) error {
	s := m.Service(c.Namespace, revtag.ServiceName(tag))
	if s == nil {
		return nil
	}
	own := m.Service(c.Namespace, mesh.IstiodServiceName(c.Revision))
	if own == nil {
		return fmt.Errorf("%s: cannot point it at revision %s: Service %s/%s, whose selector it copies, is not in the input", s.ID, c.Revision, c.Namespace, mesh.IstiodServiceName(c.Revision))
	}
	sel := own.Node().Field("spec").Value.Field("selector")
	if sel == nil {
		return fmt.Errorf("%s: spec.selector is missing", own.ID)
	}
	n := s.Node()
	before, err := n.Pipe(yaml.Lookup("spec", "selector"))
	if err != nil {
		return fmt.Errorf("%s: spec.selector: %v", s.ID, err)
	}
	if before != nil && mesh.SameObject(before, sel.Value) && n.GetLabels()[mesh.LabelRev] == c.Revision {
		return nil
	}
	if err := n.PipeE(yaml.Lookup("spec"), yaml.SetField("selector", yaml.NewRNode(yaml.CopyYNode(sel.Value.YNode())))); err != nil {
		return fmt.Errorf("%s: spec.selector: %v", s.ID, err)
	}
	if err := n.PipeE(yaml.SetLabel(mesh.LabelRev, c.Revision)); err != nil {
		return fmt.Errorf("%s: metadata.labels: %v", s.ID, err)
	}
	res.Infof(s.Object, "%s selects the pods of istiod %s, as %s does (revision-tags-svc.yaml)", s.ID, c.Revision, own.ID)
	return nil
}

// warnGateways names the running injected gateways the tag's webhook
// injects: their next pod restart moves them to the revision in place
// (verify rule RS019 judges the step).
func warnGateways(m *mesh.Model, c *revtag.Canonical, tag string, res *krm.Results) {
	id := revtag.WebhookID(tag, c.Namespace)
	for _, g := range m.Gateways {
		h := m.InjectorOf(g.Workload)
		if !g.Injected || h == nil || h.Config.ID != id || m.MinReplicas(g.Workload) == 0 {
			continue
		}
		res.Warnf(g.Object, "%s is injected through tag %s and still runs: every pod it restarts or adds from now on is injected by revision %s, in place, without a canary; give it a canary of revision %s (revision-gateway) and scale it to 0 before this step", g.ID, tag, c.Revision, c.Revision)
	}
}
