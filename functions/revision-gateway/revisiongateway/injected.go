package revisiongateway

import (
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
)

// pinInjected makes an injected canary run spec.revision. Its render may ask
// for a revision tag (the gateway chart with revision=prod-stable), which
// the injectors of this state resolve to the tag's current, old revision:
// the canary would then be the old revision under a new name, and moving the
// tag later would re-inject it in place. The canary's pods get
// istio.io/rev=<revision> instead (canary sets the label from NewRevision),
// so the new revision's own injector serves them whatever the tag says.
func pinInjected(pairs []mesh.GatewayPair, revision string, res *krm.Results) {
	if revision == "" {
		return
	}
	for i := range pairs {
		p := &pairs[i]
		if !p.New.Injected || p.NewRevision == revision {
			continue
		}
		res.Infof(p.New.Object, "%s is injected and its pods ask for %s=%s, which this state's injectors resolve to revision %s: pinned to revision %s, so that the new revision's own injector serves it and moving a tag never re-injects it", p.New.ID, mesh.LabelRev, p.New.PodLabels[mesh.LabelRev], p.NewRevision, revision)
		p.NewRevision = revision
	}
}
