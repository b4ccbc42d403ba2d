package plan

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/functions/canary-control-plane/canarycontrolplane"
	"github.com/revshift/revshift/functions/copy-configmap/copyconfigmap"
	"github.com/revshift/revshift/functions/dataplane-revision/dataplanerevision"
	"github.com/revshift/revshift/functions/prune-legacy/prunelegacy"
	"github.com/revshift/revshift/functions/revision-gateway/revisiongateway"
	"github.com/revshift/revshift/functions/webhook-fix/webhookfix"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/step"
)

// steps lays out the states. Each step's function list is the previous
// one's plus its own (see the package doc).
func (p *Plan) steps(running *mesh.Model) {
	l := &layout{p: p, rev: p.Revision}
	if len(p.Include) > 0 {
		l.include = []string{"include"}
	}
	p.Steps = append(p.Steps, p.runningStep(l.include))
	rev := p.Revision
	l.add(Step{
		Slug:      "canary-control-plane",
		Title:     "canary control plane (S1)",
		Resources: l.resources(),
		Changes:   fmt.Sprintf("Installs revision %s next to the running control plane: istiod-%s, its Service, its ConfigMaps and injector, the CRDs (the newer definition), and shared roles as the union of both revisions' rules. Objects of the target render that would rewrite a running one (the default gateway, its Service and PDB, the non-revisioned webhooks) are held back; canary-control-plane's results name each one.", rev, rev),
		Watch:     fmt.Sprintf("`kubectl -n istio-system rollout status deploy/istiod-%s`; the running istiod and gateways must not restart.", rev),
		Rollback:  "Revert the commit (or apply the previous step): the new revision's objects are removed; the CRDs keep the newer definition, which serves every version the running one served.",
	}, step.Call{Kind: canarycontrolplane.Kind, Spec: canarycontrolplane.Spec{Revision: rev, IncludeRunning: true}})
	if len(p.GatewayNamespaces) > 0 {
		l.add(Step{
			Slug:      "gateway-config",
			Title:     "gateway config (S2)",
			Resources: l.resources(),
			Changes:   fmt.Sprintf("Copies ConfigMap istio-system/%s into %s, where the canary gateways will run. A revisioned gateway mounts it optionally: without it the proxy silently connects to the OLD istiod.", mesh.MeshConfigMapName(rev), strings.Join(p.GatewayNamespaces, ", ")),
			Watch:     fmt.Sprintf("`kubectl get configmap %s -n <namespace>` in each of %s.", mesh.MeshConfigMapName(rev), strings.Join(p.GatewayNamespaces, ", ")),
			Rollback:  "Apply the previous step: the copies are removed.",
		}, step.Call{Kind: copyconfigmap.Kind, Spec: copyconfigmap.Spec{Revisions: []string{rev}, TargetNamespaces: p.GatewayNamespaces}})
	}
	gwRes := l.resources()
	if len(p.UserPairs) > 0 {
		gwRes = l.resources(TargetGatewaysCarrier)
		l.userGateways(gwRes)
	}
	if len(p.DefaultPairs) > 0 {
		gwRes = append(append([]string(nil), gwRes[:len(gwRes)-len(l.include)]...), DefaultGatewayCarrier)
		gwRes = append(gwRes, l.include...)
		l.defaultGateways(gwRes)
	}
	l.retire(gwRes, p.injectedDataPlane(running))
}

// layout adds the steps after S0, each running the functions of the one
// before it and its own.
type layout struct {
	p       *Plan
	rev     string
	include []string
	fns     []step.Call
}

// add appends step s, with the functions so far and calls.
func (l *layout) add(s Step, calls ...step.Call) {
	l.fns = append(l.fns, calls...)
	s.Functions = append([]step.Call(nil), l.fns...)
	s.Carrier = true
	l.p.Steps = append(l.p.Steps, s)
}

// resources are the inputs of a step after S0: the target, extra, and the
// user's objects.
func (l *layout) resources(extra ...string) []string {
	return append(append([]string{"target"}, extra...), l.include...)
}

// runningStep is S0: the running renders, as they are (for a rollback,
// with the new revision's CRDs kept).
func (p *Plan) runningStep(include []string) Step {
	s := Step{
		Slug:      "running",
		Title:     "the running state (S0)",
		Resources: append([]string{"running"}, include...),
		Changes:   "Nothing: the renders of the running control plane and gateways, as they are. This is the baseline every later state is checked against (capacity, production Services).",
		Watch:     "Nothing to apply: this is what the cluster runs.",
		Rollback:  "-",
	}
	if p.Opts.Rollback && len(p.NewCRDs) > 0 {
		s.Title = "the running state, with the new revision's CRDs kept"
		s.Changes = fmt.Sprintf("Back to the renders of the running control plane and gateways, except that the %d CustomResourceDefinitions the new revision added stay: deleting a CRD deletes every resource of its kind.", len(p.NewCRDs))
		s.Watch = "The running istiod and gateways serve; the new revision's objects are gone."
	}
	return s
}

// userGateways are S3 and S4: the user gateways' canaries, then the shift
// to them.
func (l *layout) userGateways(res []string) {
	ps := l.p.UserPairs
	l.migrate(res, ps, TargetGatewaysCarrier, Step{Slug: "canary-gateways", Title: "canary gateways (S3)",
		Changes:  fmt.Sprintf("Adds a gateway of revision %s next to each running one (%s), whose pods the production Services and Istio Gateway resources select (labels derived from their selectors), with a selector, PDB and HPA of its own, every production targetPort declared, and a drain on shutdown. The target render's own Services are removed: no second external address, no ambiguous listener port.", l.rev, pairList(ps)),
		Watch:    "Each canary has as many Ready pods as the gateway it stands in for (the gate below; a canary without spec.replicas starts at 1, and its HPA raises it only on its next sync), and they receive traffic through the production Service: `kubectl get endpoints` lists both pod sets; error rates unchanged.",
		Rollback: "Apply the previous step: the canary gateways are removed; the running ones never stopped serving.",
	}, Step{Slug: "shift", Title: "shift (S4)",
		Changes:  fmt.Sprintf("Scales the running gateways (%s) to 0 and removes their HPAs: the canaries now carry all the traffic. The production Services are not changed.", oldList(ps)),
		Watch:    "Before applying: the previous step's gate holds (each canary has as many Ready pods as the gateway it stands in for). After: the old pods drain (preStop) and the endpoints list only the canaries.",
		Rollback: "Apply the previous step: the running gateways scale back up next to the canaries.",
	})
}

// defaultGateways migrate the gateways rendered with the control plane, as
// the user gateways are.
func (l *layout) defaultGateways(res []string) {
	ps := l.p.DefaultPairs
	l.migrate(res, ps, DefaultGatewayCarrier, Step{Slug: "default-gateway-canary", Title: "default gateway canary",
		Changes:  fmt.Sprintf("Migrates the gateways rendered with the control plane (%s), which the target render would restart in place, like the user gateways: as canaries of revision %s selected by their production Services.", oldList(ps), l.rev),
		Watch:    "The default gateway's canary has as many Ready pods as the running default gateway (the gate below), behind its Service.",
		Rollback: "Apply the previous step.",
	}, Step{Slug: "default-gateway-shift", Title: "default gateway shift",
		Changes:  fmt.Sprintf("Scales the running gateways rendered with the control plane (%s) to 0. They dial the running istiod through Service istiod, so this comes before the webhook-continuity step repoints that Service.", oldList(ps)),
		Watch:    "The endpoints of the default gateway's Service list only the canary.",
		Rollback: "Apply the previous step.",
	})
}

// migrate adds the canary step of the pairs (their render carried in
// render) and the shift to the canaries.
func (l *layout) migrate(res []string, ps []revisiongateway.Pair, render string, canary, shift Step) {
	canary.Resources, shift.Resources = res, res
	l.add(canary, l.gatewayCall(revisiongateway.ModeCanary, render, ps))
	l.add(shift, l.gatewayCall(revisiongateway.ModeShift, "", ps))
}

// gatewayCall is revision-gateway in mode on pairs; render names the
// carrier of the canaries' render (mode canary).
func (l *layout) gatewayCall(mode, render string, pairs []revisiongateway.Pair) step.Call {
	return step.Call{Kind: revisiongateway.Kind, Spec: revisiongateway.Spec{Mode: mode, Revision: l.rev, Render: render, Pairs: pairs}}
}

// retire are S5 to S7: the data plane (when the input has one to move),
// webhook continuity, and the prune of the old revision.
func (l *layout) retire(res []string, dataplane bool) {
	rev := l.rev
	if len(l.p.Tags) > 0 {
		l.moveTags(res)
	}
	if dataplane {
		l.dataplane(res)
	}
	l.add(Step{
		Slug:      "webhook-continuity",
		Title:     "webhook continuity (S6)",
		Resources: res,
		Changes:   fmt.Sprintf("Makes every admission webhook reach an istiod of revision %s (legacy: the `istiod` Service selects the new istiod; modern: the default revision tag), so that removing the old istiod does not reject every write of an Istio resource (istio/istio#28880).", rev),
		Watch:     "`kubectl get endpoints -n istio-system istiod` lists the new istiod; creating an Istio resource still validates.",
		Rollback:  "Apply the previous step.",
	}, step.Call{Kind: webhookfix.Kind, Spec: webhookfix.Spec{Revision: rev}})
	l.add(Step{
		Slug:      "prune",
		Title:     "prune (S7)",
		Resources: res,
		Changes:   "Removes the objects only the old revision used (its istiod, its Services, its webhooks, the old gateways). CRDs, Namespaces, production Services and everything the new revision still uses are kept, with Argo CD and Flux prune protection; prune-legacy's results give the reason for each.",
		Watch:     "Before applying: nothing still talks to the old istiod (`istioctl proxy-status`). After: the old revision's pods are gone, webhooks answer.",
		Rollback:  "Apply the previous step: the old revision's objects are recreated.",
	}, step.Call{Kind: prunelegacy.Kind, Spec: prunelegacy.Spec{Mode: prunelegacy.ModeDesiredState}})
}

// injectedDataPlane reports whether the running render or an include
// holds a data plane for the data-plane step to move
// (dataplanerevision.HasDataPlane).
func (p *Plan) injectedDataPlane(running *mesh.Model) bool {
	if dataplanerevision.HasDataPlane(running) {
		return true
	}
	for _, f := range p.Include {
		if dataplanerevision.HasDataPlane(f.Model) {
			return true
		}
	}
	return false
}

func pairList(ps []revisiongateway.Pair) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Namespace+"/"+p.Old+" -> "+p.New)
	}
	return strings.Join(out, ", ")
}

func oldList(ps []revisiongateway.Pair) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Namespace+"/"+p.Old)
	}
	return strings.Join(out, ", ")
}
