package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

// checkTags checks --tag against the running renders: each names a
// revision tag whose webhook the running state has, other than the default
// tag (the webhook-continuity step sets that one, with its validator). The
// running tags that --tag leaves out are noted: the prune deletes them with
// the old revision.
func (p *Plan) checkTags(running *mesh.Model) error {
	have := map[string]string{} // tag -> webhook configuration
	for _, o := range running.WebhookConfigs() {
		if _, tag := mesh.ConfigRevision(o); tag != "" && tag != mesh.DefaultTag && o.ID.Kind == "MutatingWebhookConfiguration" {
			have[tag] = o.ID.Name
		}
	}
	asked := map[string]bool{}
	for _, tag := range p.Opts.Tags {
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
