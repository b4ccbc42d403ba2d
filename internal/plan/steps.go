package plan

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

// steps lays out the states. Each step's function list is the previous
// one's plus its own (see the package doc).
func (p *Plan) steps(running *mesh.Model) {
	rev := p.Revision
	include := []string{}
	if len(p.Include) > 0 {
		include = []string{"include"}
	}
	res := func(extra ...string) []string {
		return append(append([]string{"target"}, extra...), include...)
	}
	p.Steps = append(p.Steps, Step{
		Slug:      "running",
		Title:     "the running state (S0)",
		Resources: append([]string{"running"}, include...),
		Changes:   "Nothing: the renders of the running control plane and gateways, as they are. This is the baseline every later state is checked against (capacity, production Services).",
		Watch:     "Nothing to apply: this is what the cluster runs.",
		Rollback:  "-",
	})
	if p.Opts.Rollback && len(p.NewCRDs) > 0 {
		p.Steps[0].Title = "the running state, with the new revision's CRDs kept"
		p.Steps[0].Changes = fmt.Sprintf("Back to the renders of the running control plane and gateways, except that the %d CustomResourceDefinitions the new revision added stay: deleting a CRD deletes every resource of its kind.", len(p.NewCRDs))
		p.Steps[0].Watch = "The running istiod and gateways serve; the new revision's objects are gone."
	}
	var fns []Call
	add := func(s Step, calls ...Call) {
		fns = append(fns, calls...)
		s.Functions = append([]Call(nil), fns...)
		s.Carrier = true
		p.Steps = append(p.Steps, s)
	}
	add(Step{
		Slug:      "canary-control-plane",
		Title:     "canary control plane (S1)",
		Resources: res(),
		Changes:   fmt.Sprintf("Installs revision %s next to the running control plane: istiod-%s, its Service, its ConfigMaps and injector, the CRDs (the newer definition), and shared roles as the union of both revisions' rules. Objects of the target render that would rewrite a running one (the default gateway, its Service and PDB, the non-revisioned webhooks) are held back; canary-control-plane's results name each one.", rev, rev),
		Watch:     fmt.Sprintf("`kubectl -n istio-system rollout status deploy/istiod-%s`; the running istiod and gateways must not restart.", rev),
		Rollback:  "Revert the commit (or apply the previous step): the new revision's objects are removed; the CRDs keep the newer definition, which serves every version the running one served.",
	}, Call{Kind: "CanaryControlPlane", Spec: map[string]any{"revision": rev, "includeRunning": true}})

	if len(p.GatewayNamespaces) > 0 {
		add(Step{
			Slug:      "gateway-config",
			Title:     "gateway config (S2)",
			Resources: res(),
			Changes:   fmt.Sprintf("Copies ConfigMap istio-system/%s into %s, where the canary gateways will run. A revisioned gateway mounts it optionally: without it the proxy silently connects to the OLD istiod.", mesh.MeshConfigMapName(rev), strings.Join(p.GatewayNamespaces, ", ")),
			Watch:     fmt.Sprintf("`kubectl get configmap %s -n <namespace>` in each of %s.", mesh.MeshConfigMapName(rev), strings.Join(p.GatewayNamespaces, ", ")),
			Rollback:  "Apply the previous step: the copies are removed.",
		}, Call{Kind: "CopyConfigMap", Spec: map[string]any{"revisions": []any{rev}, "targetNamespaces": toAny(p.GatewayNamespaces)}})
	}
	gwRes := res()
	if len(p.UserPairs) > 0 {
		gwRes = res("target-gateways")
		add(Step{
			Slug:      "canary-gateways",
			Title:     "canary gateways (S3)",
			Resources: gwRes,
			Changes:   fmt.Sprintf("Adds a gateway of revision %s next to each running one (%s), whose pods the production Services and Istio Gateway resources select (labels derived from their selectors), with a selector, PDB and HPA of its own, every production targetPort declared, and a drain on shutdown. The target render's own Services are removed: no second external address, no ambiguous listener port.", rev, pairList(p.UserPairs)),
			Watch:     "Each canary has as many Ready pods as the gateway it stands in for (the gate below; a canary without spec.replicas starts at 1, and its HPA raises it only on its next sync), and they receive traffic through the production Service: `kubectl get endpoints` lists both pod sets; error rates unchanged.",
			Rollback:  "Apply the previous step: the canary gateways are removed; the running ones never stopped serving.",
		}, Call{Kind: "RevisionGateway", Spec: map[string]any{"mode": "canary", "revision": rev, "render": TargetGatewaysCarrier, "pairs": pairSpecs(p.UserPairs)}})
		add(Step{
			Slug:      "shift",
			Title:     "shift (S4)",
			Resources: gwRes,
			Changes:   fmt.Sprintf("Scales the running gateways (%s) to 0 and removes their HPAs: the canaries now carry all the traffic. The production Services are not changed.", oldList(p.UserPairs)),
			Watch:     "Before applying: the previous step's gate holds (each canary has as many Ready pods as the gateway it stands in for). After: the old pods drain (preStop) and the endpoints list only the canaries.",
			Rollback:  "Apply the previous step: the running gateways scale back up next to the canaries.",
		}, Call{Kind: "RevisionGateway", Spec: map[string]any{"mode": "shift", "revision": rev, "pairs": pairSpecs(p.UserPairs)}})
	}
	if len(p.DefaultPairs) > 0 {
		dgRes := append(append([]string(nil), gwRes[:len(gwRes)-len(include)]...), "target-default-gateway")
		dgRes = append(dgRes, include...)
		add(Step{
			Slug:      "default-gateway-canary",
			Title:     "default gateway canary",
			Resources: dgRes,
			Changes:   fmt.Sprintf("Migrates the gateways rendered with the control plane (%s), which the target render would restart in place, like the user gateways: as canaries of revision %s selected by their production Services.", oldList(p.DefaultPairs), rev),
			Watch:     "The default gateway's canary has as many Ready pods as the running default gateway (the gate below), behind its Service.",
			Rollback:  "Apply the previous step.",
		}, Call{Kind: "RevisionGateway", Spec: map[string]any{"mode": "canary", "revision": rev, "render": DefaultGatewayCarrier, "pairs": pairSpecs(p.DefaultPairs)}})
		add(Step{
			Slug:      "default-gateway-shift",
			Title:     "default gateway shift",
			Resources: dgRes,
			Changes:   fmt.Sprintf("Scales the running gateways rendered with the control plane (%s) to 0. They dial the running istiod through Service istiod, so this comes before the webhook-continuity step repoints that Service.", oldList(p.DefaultPairs)),
			Watch:     "The endpoints of the default gateway's Service list only the canary.",
			Rollback:  "Apply the previous step.",
		}, Call{Kind: "RevisionGateway", Spec: map[string]any{"mode": "shift", "revision": rev, "pairs": pairSpecs(p.DefaultPairs)}})
		gwRes = dgRes
	}
	if len(p.Tags) > 0 {
		tags := strings.Join(p.Tags, ", ")
		add(Step{
			Slug:      "move-tags",
			Title:     "move revision tags",
			Resources: gwRes,
			Changes:   fmt.Sprintf("Moves revision tags %s to revision %s, as `istioctl tag set <tag> --revision %s --overwrite` would: each tag's MutatingWebhookConfiguration `istio-revision-tag-<tag>` calls istiod-%s, and its Service `istiod-revision-tag-<tag>` selects it. Nothing restarts; pods created from now on with the tag (namespaces or pods labelled `istio.io/rev=<tag>`) are injected by %s. The gateways on a tag already run as canaries of %s, their old Deployments at 0, so none moves in place (rule RS019).", tags, rev, rev, rev, rev, rev),
			Watch:     fmt.Sprintf("`kubectl get mutatingwebhookconfiguration istio-revision-tag-<tag> -o jsonpath='{.webhooks[*].clientConfig.service.name}'` prints istiod-%s for each of %s.", rev, tags),
			Rollback:  "Apply the previous step: the tags point at the old revision again (pods created since keep the new revision until they restart).",
		}, Call{Kind: "RevisionTag", Spec: map[string]any{"revision": rev, "tags": toAny(p.Tags)}})
	}
	if p.injectedNamespaces(running) {
		changes := fmt.Sprintf("Relabels the namespaces labelled for injection to `istio.io/rev=%s` (removing `istio-injection`, which would keep the old injector) and restarts their workloads onto the new injector.", rev)
		if len(p.Tags) > 0 {
			changes = fmt.Sprintf("Restarts the workloads of the namespaces labelled with a moved tag (%s), which keep their label, onto revision %s; relabels the other namespaces labelled for injection to `istio.io/rev=%s` (removing `istio-injection`, which would keep the old injector) and restarts their workloads.", strings.Join(p.Tags, ", "), rev, rev)
		}
		add(Step{
			Slug:      "dataplane",
			Title:     "data plane (S5)",
			Resources: gwRes,
			Changes:   changes,
			Watch:     fmt.Sprintf("Workloads roll with `istio-proxy` of revision %s (`istioctl proxy-status`).", rev),
			Rollback:  "Apply the previous step: the labels come back and the workloads roll back onto the old injector.",
		}, p.dataplaneCalls()...)
	}
	add(Step{
		Slug:      "webhook-continuity",
		Title:     "webhook continuity (S6)",
		Resources: gwRes,
		Changes:   fmt.Sprintf("Makes every admission webhook reach an istiod of revision %s (legacy: the `istiod` Service selects the new istiod; modern: the default revision tag), so that removing the old istiod does not reject every write of an Istio resource (istio/istio#28880).", rev),
		Watch:     "`kubectl get endpoints -n istio-system istiod` lists the new istiod; creating an Istio resource still validates.",
		Rollback:  "Apply the previous step.",
	}, Call{Kind: "WebhookFix", Spec: map[string]any{"revision": rev}})
	add(Step{
		Slug:      "prune",
		Title:     "prune (S7)",
		Resources: gwRes,
		Changes:   "Removes the objects only the old revision used (its istiod, its Services, its webhooks, the old gateways). CRDs, Namespaces, production Services and everything the new revision still uses are kept, with Argo CD and Flux prune protection; prune-legacy's results give the reason for each.",
		Watch:     "Before applying: nothing still talks to the old istiod (`istioctl proxy-status`). After: the old revision's pods are gone, webhooks answer.",
		Rollback:  "Apply the previous step: the old revision's objects are recreated.",
	}, Call{Kind: "PruneLegacy", Spec: map[string]any{"mode": "desired-state"}})
}

// dataplaneCalls moves the data plane: the namespaces on a moved tag keep
// their label and restart; the others are relabelled to the revision.
func (p *Plan) dataplaneCalls() []Call {
	if len(p.Tags) == 0 {
		return []Call{{Kind: "DataplaneRevision", Spec: map[string]any{"revision": p.Revision}}}
	}
	calls := []Call{{Kind: "DataplaneRevision", Spec: map[string]any{"revision": p.Revision,
		"namespaceSelector": map[string]any{"matchExpressions": []any{map[string]any{"key": mesh.LabelRev, "operator": "NotIn", "values": toAny(p.Tags)}}}}}}
	for _, tag := range p.Tags {
		calls = append(calls, Call{Kind: "DataplaneRevision", Spec: map[string]any{"revision": p.Revision, "tag": tag,
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{mesh.LabelRev: tag}}}})
	}
	return calls
}

// injectedNamespaces reports whether the input holds Namespace objects
// labelled for injection (the data-plane step needs them).
func (p *Plan) injectedNamespaces(running *mesh.Model) bool {
	check := func(ns []*mesh.Namespace) bool {
		for _, n := range ns {
			if n.Labels["istio-injection"] == "enabled" || n.Labels[mesh.LabelRev] != "" {
				return true
			}
		}
		return false
	}
	if check(running.Namespaces) {
		return true
	}
	for _, f := range p.Include {
		if check(f.Model.Namespaces) {
			return true
		}
	}
	return false
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func pairSpecs(ps []Pair) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = p.spec()
	}
	return out
}

func pairList(ps []Pair) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Namespace+"/"+p.Old+" -> "+p.New)
	}
	return strings.Join(out, ", ")
}

func oldList(ps []Pair) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Namespace+"/"+p.Old)
	}
	return strings.Join(out, ", ")
}
