package canarycontrolplane

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// decide reports whether a new-render object is emitted, editing it when
// it is a union.
func (c *canary) decide(o *mesh.Object) (bool, error) {
	id := o.ID
	if mesh.IsWebhookConfig(id) {
		return c.webhookConfig(o)
	}
	if g := c.gatewayPart[id]; g != nil {
		grev, _ := c.newModel.GatewayRevision(g)
		if id.Group == "" && id.Kind == "Service" && c.running.Has(id) {
			c.res.Infof(o, "held back %s: the production Service of gateway %s; the running Service stays (its address is what clients reach) and will select the gateway's canary of revision %s", id, g.ID, grev)
			return false, nil
		}
		c.res.Infof(o, "held back %s: part of gateway %s, which would restart the running gateway of the same name onto revision %s at once; revision-gateway migrates it as a canary of its own, under canary names, and the running gateway keeps its own", id, g.ID, grev)
		return false, nil
	}
	old, collides := c.running.Get(id)
	if !collides {
		return true, nil
	}
	switch {
	case mesh.IsCRD(id):
		return c.crd(o, old)
	case mesh.IsRole(id):
		return c.role(o, old)
	case mesh.IsBinding(id):
		return c.binding(o, old)
	}
	if mesh.SameObject(o.Node(), old.Node()) {
		c.res.Infof(o, "held back %s: identical to the running object, applying it changes nothing", id)
		return false, nil
	}
	diff := strings.Join(diffPaths(o.Node(), old.Node()), ", ")
	if w := c.newModel.Workload(id); w != nil {
		if g := w.Gateway(); g != nil {
			grev, src := c.newModel.GatewayRevision(g)
			c.res.Infof(o, "held back %s: it would replace the running gateway of the same name, restarting its pods onto revision %s at once (%s; differs in %s); the gateway is migrated later as its own step (revision-gateway), never by a bounce", id, grev, src, diff)
			return false, nil
		}
	}
	c.res.Infof(o, "held back %s: it is not revisioned and would rewrite the running object of the same name (differs in %s); it is applied when the old revision is pruned", id, diff)
	return false, nil
}

// webhookConfig emits a webhook configuration only when every webhook in it
// calls an istiod of the new revision.
func (c *canary) webhookConfig(o *mesh.Object) (bool, error) {
	if _, tag := mesh.ConfigRevision(o); tag != "" && c.running.Has(o.ID) {
		// A running tag's webhook: moving it re-injects whatever runs on
		// the tag at its next pod restart (verify RS019).
		c.res.Infof(o, "held back %s: it moves revision tag %s, through which running pods are injected; a tag moves in a step of its own once the gateways on it run as canaries (revshift plan --tag %s, the revision-tag function), else when the old revision is pruned", o.ID, tag, tag)
		return false, nil
	}
	hooks := c.merged.WebhooksOf(o.ID)
	var other []string
	for _, h := range hooks {
		if h.Service == nil {
			other = append(other, fmt.Sprintf("%s calls URL %s", h.Name, h.URL))
			continue
		}
		r, ok := c.merged.WebhookRevision(h)
		if !ok {
			return false, fmt.Errorf("%s: webhook %s calls Service %s/%s, which resolves to no revision: it is in neither render, or it selects no istiod", o.ID, h.Name, h.Service.Namespace, h.Service.Name)
		}
		if r != c.rev {
			other = append(other, fmt.Sprintf("%s calls Service %s/%s (revision %s)", h.Name, h.Service.Namespace, h.Service.Name, r))
		}
	}
	if len(other) == 0 {
		return true, nil
	}
	what := "a new"
	if c.running.Has(o.ID) {
		what = "the running"
	}
	c.res.Infof(o, "held back %s: it is not the new revision's (%s); applying it would change %s webhook configuration while the old istiod runs. webhook-fix (S6) points the webhooks at revision %s before the old revision is removed", o.ID, strings.Join(other, "; "), what, c.rev)
	return false, nil
}

// diffPaths lists up to five field paths where two objects differ
// (mesh.Differences), cut at the first list and at four levels, for the
// reviewer.
func diffPaths(a, b *yaml.RNode) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range mesh.Differences(mesh.Plain(a), mesh.Plain(b)) {
		path := d.Path
		for i, p := range path {
			if strings.HasPrefix(p, "[") || i == 4 {
				path = path[:i]
				break
			}
		}
		p := strings.Join(path, ".")
		if seen[p] {
			continue
		}
		if len(out) == 5 {
			break
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}
