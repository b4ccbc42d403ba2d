package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/revshift/revshift/functions/dataplane-revision/dataplanerevision"
	"github.com/revshift/revshift/functions/revision-tag/revisiontag"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/step"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// checkTags checks --tag against the running renders: each names a
// revision tag whose webhook the running state has, other than the default
// tag (the webhook-continuity step sets that one, with its validator). A
// running tag that the target renders too (the istiod chart's revisionTags)
// is moved as if named. The running tags left out are noted: the prune
// deletes them with the old revision.
func (p *Plan) checkTags(running, target *mesh.Model) error {
	have, rendered := tagWebhooks(running), tagWebhooks(target)
	asked := map[string]bool{}
	tags := append([]string(nil), p.Opts.Tags...)
	for tag, name := range rendered {
		if _, ok := have[tag]; ok && !slices.Contains(tags, tag) {
			tags = append(tags, tag)
			p.Notes = append(p.Notes, fmt.Sprintf("revision tag %s is moved to %s in a step of its own, as --tag %s would: --to renders its webhook configuration %s", tag, p.Revision, tag, name))
		}
	}
	for _, tag := range tags {
		if err := mesh.ValidRevision(tag); err != nil {
			return fmt.Errorf("--tag: %s", strings.Replace(err.Error(), "revision", "tag", 1))
		}
		if tag == mesh.DefaultTag {
			return fmt.Errorf("--tag default: the webhook-continuity step sets the default tag (and its validator) on revision %s; --tag moves the other tags", p.Revision)
		}
		rev, _, ok := running.TagRevision(tag)
		if !ok {
			return fmt.Errorf("--tag %s: no injector webhook of the running renders answers %s=%s (the tag's MutatingWebhookConfiguration, istio-revision-tag-%s, is not in --from)", tag, mesh.LabelRev, tag, tag)
		}
		if rev == p.Revision {
			return fmt.Errorf("--tag %s: the tag is already on revision %s", tag, rev)
		}
		if !asked[tag] {
			asked[tag] = true
			p.Tags = append(p.Tags, tag)
		}
	}
	var left []string
	for tag, name := range have {
		if !asked[tag] {
			left = append(left, fmt.Sprintf("revision tag %s (%s) is not moved: the prune deletes it with the old revision, and pods or namespaces labelled %s=%s are no longer injected; pass --tag %s to move it to %s", tag, name, mesh.LabelRev, tag, tag, p.Revision))
		}
	}
	sort.Strings(left)
	p.Notes = append(p.Notes, left...)
	return nil
}

// tagWebhooks maps each revision tag but the default one to the name of its
// MutatingWebhookConfiguration.
func tagWebhooks(m *mesh.Model) map[string]string {
	out := map[string]string{}
	for _, o := range m.WebhookConfigs() {
		if _, tag := mesh.ConfigRevision(o); tag != "" && tag != mesh.DefaultTag && o.ID.Kind == "MutatingWebhookConfiguration" {
			out[tag] = o.ID.Name
		}
	}
	return out
}

// moveTags is the step that moves the --tag tags (revision-tag), once the
// gateways on them run as canaries and their old Deployments are at 0.
func (l *layout) moveTags(res []string) {
	rev, tags := l.rev, strings.Join(l.p.Tags, ", ")
	l.add(Step{
		Slug:      "move-tags",
		Title:     "move revision tags",
		Resources: res,
		Changes:   fmt.Sprintf("Moves revision tags %s to revision %s, as `istioctl tag set <tag> --revision %s --overwrite` would: each tag's MutatingWebhookConfiguration `istio-revision-tag-<tag>` calls istiod-%s, and its Service `istiod-revision-tag-<tag>` selects it. Nothing restarts; pods created from now on with the tag (namespaces or pods labelled `istio.io/rev=<tag>`) are injected by %s. The gateways on a tag already run as canaries of %s, their old Deployments at 0, so none moves in place (rule RS019).", tags, rev, rev, rev, rev, rev),
		Watch:     fmt.Sprintf("`kubectl get mutatingwebhookconfiguration istio-revision-tag-<tag> -o jsonpath='{.webhooks[*].clientConfig.service.name}'` prints istiod-%s for each of %s.", rev, tags),
		Rollback:  "Apply the previous step: the tags point at the old revision again (pods created since keep the new revision until they restart).",
	}, step.Call{Kind: revisiontag.Kind, Spec: revisiontag.Spec{Revision: rev, Tags: l.p.Tags}})
}

// dataplane is S5: the namespaces on a moved tag keep their label and
// restart; the others are relabelled to the revision.
func (l *layout) dataplane(res []string) {
	rev := l.rev
	changes := fmt.Sprintf("Relabels the namespaces labelled for injection to `istio.io/rev=%s` (removing `istio-injection`, which would keep the old injector) and restarts their workloads onto the new injector; workloads pinned by their own `istio.io/rev` label are relabelled (or, on a moved tag, restarted).", rev)
	calls := []step.Call{{Kind: dataplanerevision.Kind, Spec: dataplanerevision.Spec{Revision: rev}}}
	if len(l.p.Tags) > 0 {
		changes = fmt.Sprintf("Restarts the workloads of the namespaces labelled with a moved tag (%s), which keep their label, onto revision %s; relabels the other namespaces labelled for injection to `istio.io/rev=%s` (removing `istio-injection`, which would keep the old injector) and restarts their workloads; workloads pinned by their own `istio.io/rev` label are relabelled (or, on a moved tag, restarted).", strings.Join(l.p.Tags, ", "), rev, rev)
		calls[0].Spec = dataplanerevision.Spec{Revision: rev, NamespaceSelector: *selector(mesh.LabelRev, "NotIn", l.p.Tags...)}
		for _, tag := range l.p.Tags {
			calls = append(calls, step.Call{Kind: dataplanerevision.Kind, Spec: dataplanerevision.Spec{Revision: rev, Tag: tag, NamespaceSelector: *selector(mesh.LabelRev, "In", tag)}})
		}
	}
	l.add(Step{
		Slug:      "dataplane",
		Title:     "data plane (S5)",
		Resources: res,
		Changes:   changes,
		Watch:     fmt.Sprintf("Workloads roll with `istio-proxy` of revision %s (`istioctl proxy-status`).", rev),
		Rollback:  "Apply the previous step: the labels come back and the workloads roll back onto the old injector.",
	}, calls...)
}

// selector is a label selector with one requirement, as a node.
func selector(key, op string, values ...string) *yaml.Node {
	vals := &yaml.Node{Kind: yaml.SequenceNode}
	for _, v := range values {
		vals.Content = append(vals.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: v})
	}
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: v} }
	req := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("key"), str(key), str("operator"), str(op), str("values"), vals}}
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("matchExpressions"), {Kind: yaml.SequenceNode, Content: []*yaml.Node{req}}}}
}
