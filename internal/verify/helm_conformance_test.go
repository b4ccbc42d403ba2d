package verify

import (
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krmtest"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The real Helm install (helm template of the base, istiod and gateway
// charts; testdata/helm-renders/README.md): istiod 1.29.6 with the
// revision tag prod-stable, gateways ingress (default revision) and
// ingress-tagged (istio.io/rev=prod-stable), and the 1.31 istiod of
// revision 1-31-0.
const (
	helm129Base   = "1.29.6/base.yaml"
	helm129Istiod = "1.29.6/istiod.yaml"
	helm129GW     = "1.29.6/gateways.yaml"
	helm131Istiod = "1.31.0/istiod.rev-1-31-0.yaml"
	helm131GW     = "1.31.0/gateways.rev-1-31-0.yaml"
	helm131Tag    = "tags/tag-prod-stable.rev-1-31-0.yaml"
)

// helmStates returns the running state and the state with the canary
// control plane beside it (the 1.31 render's objects that collide with the
// running ones, CRDs and cluster-wide roles, are left out).
func helmStates(t *testing.T) (s0, s1 []*yaml.RNode) {
	s0 = union(t, krmtest.HelmRender(t, helm129Base), krmtest.HelmRender(t, helm129Istiod), krmtest.HelmRender(t, helm129GW))
	return s0, union(t, s0, krmtest.HelmRender(t, helm131Istiod))
}

// helmSequence checks the running state, the canary control plane and a
// third state named step; out is the report's table.
func helmSequence(t *testing.T, s0, s1 []*yaml.RNode, step string, s2 []*yaml.RNode) (*Report, string) {
	t.Helper()
	rep, err := checkSequence([]State{
		{Name: "00-running", Model: model(t, s0)},
		{Name: "01-canary-control-plane", Model: model(t, s1)},
		{Name: step, Model: model(t, s2)},
	}, DefaultOrdering)
	require.NoError(t, err)
	return rep, table(t, rep)
}

// The running Helm install breaks no rule: RS003 counts the numeric
// targetPorts (80, 443, 15021) as served by the injected gateways, which
// declare only 15090, and RS006/RS007 find the tagged gateway's injector and
// istiod through the tag's webhook.
func TestConformanceHelmRunningStateHolds(t *testing.T) {
	s0, s1 := helmStates(t)
	require.Empty(t, CheckState(model(t, s0)))
	rep, err := checkSequence([]State{{Name: "00-running", Model: model(t, s0)}, {Name: "01-canary-control-plane", Model: model(t, s1)}}, DefaultOrdering)
	require.NoError(t, err)
	require.True(t, rep.OK(), table(t, rep))
}

// Moving the tag (`istioctl tag set prod-stable --revision 1-31-0
// --overwrite`, here the 1.31 chart's render of it) while ingress-tagged
// still runs re-injects it in place: every pod it restarts or adds from
// then on runs revision 1-31-0, with no canary. RS019 says so.
func TestConformanceHelmTagMovedInPlace(t *testing.T) {
	s0, s1 := helmStates(t)
	tag := krmtest.HelmRender(t, helm131Tag)
	s2 := union(t, tag, without(t, s1, tag))
	rep, out := helmSequence(t, s0, s1, "02-move-tag", s2)
	require.Empty(t, rep.Steps[1].Findings, out)
	fs := findingsOf(rep, "02-move-tag", "RS019")
	require.Equal(t, []string{"Deployment.apps/istio-ingress/ingress-tagged"}, names(fs), out)
	require.Equal(t, Error, fs[0].Severity)
	require.Contains(t, fs[0].Message, "from revision default to 1-31-0 in place")
	require.Contains(t, fs[0].Message, "istio-revision-tag-prod-stable")
}

// The canary that Istio's docs describe for the gateway chart (a second
// release with revision 1-31-0 and the production pods' labels) brings the
// chart's own LoadBalancer Service: a second external address over the
// gateway pods. RS018 rejects it.
func TestConformanceHelmChartSecondService(t *testing.T) {
	s0, s1 := helmStates(t)
	var canary []*yaml.RNode
	for _, n := range krmtest.HelmRender(t, helm131GW) {
		if identity(t, n).Name != "ingress" {
			continue
		}
		// helm template ingress-canary ... --set revision=1-31-0
		// --set labels.app=ingress --set labels.istio=ingress: the
		// release's objects are named ingress-canary, its pods keep the
		// production labels.
		c := n.Copy()
		require.NoError(t, c.SetName("ingress-canary"))
		if sa, _ := c.Pipe(yaml.Lookup("spec", "template", "spec", "serviceAccountName")); sa != nil {
			sa.YNode().Value = "ingress-canary"
		}
		if ref, _ := c.Pipe(yaml.Lookup("spec", "scaleTargetRef", "name")); ref != nil {
			ref.YNode().Value = "ingress-canary"
		}
		if sel, _ := c.Pipe(yaml.Lookup("spec", "selector", "matchLabels")); sel != nil && c.GetKind() == "Deployment" {
			require.NoError(t, sel.PipeE(yaml.SetField("istio.io/rev", yaml.NewStringRNode("1-31-0"))))
		}
		canary = append(canary, c)
	}
	require.NotEmpty(t, canary)
	s2 := union(t, s1, canary)
	rep, out := helmSequence(t, s0, s1, "02-canary-gateways", s2)
	fs := findingsOf(rep, "02-canary-gateways", "RS018")
	require.NotEmpty(t, fs, out)
	require.Equal(t, "Service/istio-ingress/ingress-canary", fs[0].Objects[0].String(), out)
	require.Contains(t, fs[0].Message, "LoadBalancer")
	require.True(t, strings.Contains(fs[0].Message, "clients keep calling Service/istio-ingress/ingress"), fs[0].Message)
}

// A canary of the gateway chart for 1-31-0 in a namespace labelled
// istio-injection=enabled: the default injector's namespace webhook matches
// its pods first, and no revisioned injector matches them at all, so it runs
// the old revision under the new revision's name. RS024 says so at the step
// that adds it (before, RS019 found it only when the data plane relabelled
// the namespace).
func TestConformanceHelmCanaryInjectedByTheNamespace(t *testing.T) {
	s0, s1 := helmStates(t)
	ns := yaml.MustParse("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-ingress\n  labels: {istio-injection: enabled}\n")
	s0, s1 = append(s0, ns.Copy()), append(s1, ns.Copy())
	var canary []*yaml.RNode
	for _, n := range krmtest.HelmRender(t, helm131GW) {
		if id := identity(t, n); id.Kind == "Deployment" && id.Name == "ingress" {
			c := n.Copy()
			require.NoError(t, c.SetName("ingress-1-31-0"))
			canary = append(canary, c)
		}
	}
	require.Len(t, canary, 1)
	s2 := union(t, s1, canary)
	rep, out := helmSequence(t, s0, s1, "02-canary-gateways", s2)
	require.Empty(t, findingsOf(rep, "01-canary-control-plane", "RS024"), out)
	fs := findingsOf(rep, "02-canary-gateways", "RS024")
	require.Equal(t, []string{"Deployment.apps/istio-ingress/ingress-1-31-0", "MutatingWebhookConfiguration.admissionregistration.k8s.io/istio-sidecar-injector"}, names(fs), out)
	require.Contains(t, fs[0].Message, "asks for istio.io/rev=1-31-0 (revision 1-31-0), but its pods are injected by istio-sidecar-injector webhook namespace.sidecar-injector.istio.io of revision default")
}

// An application of the user's: a Deployment whose pods ask for a sidecar
// by their own label, in a namespace without injection labels.
const helmApp = `apiVersion: v1
kind: Namespace
metadata:
  name: batch
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: report
  namespace: batch
spec:
  replicas: 1
  selector:
    matchLabels: {app: report}
  template:
    metadata:
      labels: {app: report, sidecar.istio.io/inject: "true"}
    spec:
      containers:
      - name: report
        image: docker.io/library/busybox:1.36
`

// RS025 on the real renders: the 1.31 chart's default tag (what `istioctl
// tag set default --revision 1-31-0` makes) added to the revisioned
// install, which has no default injector, starts injecting batch/report,
// whose pods say sidecar.istio.io/inject: "true". In the default install,
// whose own injector injects it already, the same tag starts nothing.
func TestConformanceHelmDefaultTagStartsInjection(t *testing.T) {
	app := krmtest.ParseYAML(t, []byte(helmApp))
	tag := krmtest.HelmRender(t, "tags/tag-default.rev-1-31-0.yaml")
	for _, c := range []struct {
		name    string
		running []string
		want    []string
	}{
		{"revisioned", []string{"1.29.6-revisioned/base.validator.yaml", "1.29.6-revisioned/istiod.rev-1-29-6.yaml", "1.29.6-revisioned/gateways.yaml"},
			[]string{"Deployment.apps/batch/report", "MutatingWebhookConfiguration.admissionregistration.k8s.io/istio-revision-tag-default"}},
		{"default", []string{helm129Base, helm129Istiod, helm129GW}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s0 := union(t, krmtest.HelmRender(t, c.running...), app)
			s1 := union(t, s0, krmtest.HelmRender(t, helm131Istiod))
			rep, out := helmSequence(t, s0, s1, "02-default-tag", union(t, s1, tag))
			fs := findingsOf(rep, "02-default-tag", "RS025")
			require.Equal(t, c.want, names(fs), out)
			if len(fs) > 0 {
				require.Equal(t, Error, fs[0].Severity)
				require.Contains(t, fs[0].Message, "starts injecting Deployment.apps/batch/report, which no injector injected before: istio-revision-tag-default webhook object.sidecar-injector.istio.io")
			}
		})
	}
}

// RS026 on the real renders: batch/report is pinned to the running
// revision 1-29-6 by its own istio.io/rev label, and so is the running
// gateway ingress. Removing that revision's injector stops injecting both;
// report relabelled to 1-31-0 in the same state keeps a sidecar.
func TestConformanceHelmPruneStopsPinnedInjection(t *testing.T) {
	pinned := strings.Replace(helmApp, `sidecar.istio.io/inject: "true"`, `istio.io/rev: 1-29-6`, 1)
	s0 := union(t, krmtest.HelmRender(t, "1.29.6-revisioned/base.validator.yaml", "1.29.6-revisioned/istiod.rev-1-29-6.yaml", "1.29.6-revisioned/gateways.yaml"),
		krmtest.ParseYAML(t, []byte(pinned)))
	s1 := union(t, s0, krmtest.HelmRender(t, helm131Istiod))
	var old []*yaml.RNode
	for _, n := range s1 {
		if n.GetKind() == "MutatingWebhookConfiguration" && n.GetName() == "istio-sidecar-injector-1-29-6" {
			old = append(old, n)
		}
	}
	require.Len(t, old, 1)
	pruned := without(t, s1, old)
	rep, out := helmSequence(t, s0, s1, "02-prune", pruned)
	fs := findingsOf(rep, "02-prune", "RS026")
	require.Len(t, fs, 2, out)
	require.Equal(t, []string{"Deployment.apps/batch/report", "MutatingWebhookConfiguration.admissionregistration.k8s.io/istio-sidecar-injector-1-29-6"},
		names(fs[:1]), out)
	// The running gateway pinned to 1-29-6 too: the plan scales it to 0
	// behind its canary first.
	require.Equal(t, "Deployment.apps/istio-ingress/ingress", fs[1].Objects[0].String(), out)
	require.Contains(t, fs[1].Fix, "behind its canary")

	moved := krmtest.ParseYAML(t, []byte(strings.Replace(pinned, "istio.io/rev: 1-29-6", "istio.io/rev: 1-31-0", 1)))
	rep, out = helmSequence(t, s0, s1, "02-prune", union(t, moved, without(t, pruned, moved)))
	fs = findingsOf(rep, "02-prune", "RS026")
	require.Len(t, fs, 1, out)
	require.Equal(t, "Deployment.apps/istio-ingress/ingress", fs[0].Objects[0].String(), out)
}

// A step that keeps every injector and Namespace but changes a workload's
// own opt-out is judged too (RS025 looks past the steps whose injection
// inputs are unchanged only for workloads whose pods did not change).
func TestConformanceHelmOptInStartsInjection(t *testing.T) {
	optOut := strings.Replace(helmApp, `sidecar.istio.io/inject: "true"`, `sidecar.istio.io/inject: "false"`, 1)
	s0 := union(t, krmtest.HelmRender(t, helm129Base, helm129Istiod, helm129GW), krmtest.ParseYAML(t, []byte(optOut)))
	s1 := union(t, s0, krmtest.HelmRender(t, helm131Istiod))
	optIn := krmtest.ParseYAML(t, []byte(helmApp))
	rep, out := helmSequence(t, s0, s1, "02-opt-in", union(t, optIn, without(t, s1, optIn)))
	fs := findingsOf(rep, "02-opt-in", "RS025")
	require.Len(t, fs, 1, out)
	require.Equal(t, "Deployment.apps/batch/report", fs[0].Objects[0].String(), out)
}
