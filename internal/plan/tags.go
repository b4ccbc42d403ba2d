package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
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
