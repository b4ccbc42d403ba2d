package verify

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The target render of the small mesh of fixtures_test.go: the canary
// revision's control plane, the objects both revisions render, and the
// gateway custom-gw rendered with the canary revision under its running
// name (the plan runs it as custom-gw-canary).
var (
	readerSA      = doc{"reader-sa", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: istio-reader-service-account, namespace: istio-system}\n"}
	readerBinding = doc{"reader-binding", clusterRoleBinding("istio-reader-istio-system", "istio-reader-istio-system", "istio-reader-service-account")}
	targetRender  = docs{
		s0Running[0], // Namespace istio-system
		{"crd", crd("gateways.networking.istio.io")},
		{"role", clusterRole("istiod-istio-system")},
		{"binding", clusterRoleBinding("istiod-istio-system", "istiod-istio-system", "istiod")},
		// As rendered, the validator calls the new revision's istiod;
		// webhook-fix leaves it calling the istiod alias.
		{"validator", validator("istiod-istio-system", "istiod-canary", "Ignore")},
		readerSA, readerBinding,
	}.with(s1CanaryControlPlane[len(s0Running):]...).with(
		doc{"gw", gatewayDeploy("default", "custom-gw", canaryGateway)},
		doc{"gw-svc", service("default", "custom-gw", "LoadBalancer", newPods, "80:8080", "443:8443", "15021")},
	)
	// The canary gateway carries the typed record of what it stands in for.
	canaryOfGW = doc{"gw-canary", gatewayDeploy("default", "custom-gw-canary",
		withAnnotations(canaryGateway, map[string]string{"revshift.dev/canary-of": "custom-gw"}))}
)

func withAnnotations(o gwOpts, a map[string]string) gwOpts {
	o.annotations = a
	return o
}

// convergent is the good sequence of fixtures_test.go with the istio-reader
// objects (in both renders) and the canary record on custom-gw-canary.
func convergent() []docs {
	seq := []docs{s0Running, s1CanaryControlPlane, s2GatewayConfig, s3CanaryGateway, s4Shift, s5DataPlane, s6WebhookContinuity, s7Prune}
	out := make([]docs, len(seq))
	for i, d := range seq {
		d = d.with(readerSA, readerBinding)
		if i >= 3 {
			d = d.with(canaryOfGW)
		}
		out[i] = d
	}
	return out
}

// checkPlan checks a sequence with the renders (nil: without), its last
// state marked Original when rollback is set.
func checkPlan(t *testing.T, seq []docs, renders *Renders, rollback bool) (*Report, string) {
	t.Helper()
	var states []State
	for i, d := range seq {
		states = append(states, State{Name: fmt.Sprintf("%02d-s%d", i, i), Model: d.model(t)})
	}
	states[len(states)-1].Original = rollback
	rep, err := CheckPlan(states, NoOrdering, renders)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, rep.WriteTable(&buf, true))
	return rep, buf.String()
}

func renders(t *testing.T) *Renders {
	return &Renders{Running: s0Running.with(readerSA, readerBinding).model(t), Target: targetRender.model(t)}
}

func rs022(rep *Report) []Finding {
	var out []Finding
	for _, f := range rep.Findings() {
		if f.Rule == "RS022" {
			out = append(out, f)
		}
	}
	return out
}

func rewrite(rep *Report, name string) []string {
	last := rep.Steps[len(rep.Steps)-1]
	for _, r := range last.Rewrites {
		if r.Name == name {
			var out []string
			for _, id := range r.Objects {
				out = append(out, id.String())
			}
			return out
		}
	}
	return nil
}

func TestConvergenceHolds(t *testing.T) {
	rep, out := checkPlan(t, convergent(), renders(t), false)
	require.Empty(t, rs022(rep), out)
	assert.True(t, rep.OK(), out)
	assert.Equal(t, []string{"Deployment.apps/default/custom-gw-canary"}, rewrite(rep, "canary-gateway"), out)
	assert.Equal(t, []string{"Service/default/custom-gw"}, rewrite(rep, "production-service-kept"), out)
	assert.Equal(t, []string{"ConfigMap/default/istio-canary"}, rewrite(rep, "mesh-config-copy"), out)
	assert.Equal(t, []string{"ValidatingWebhookConfiguration.admissionregistration.k8s.io/istiod-istio-system"}, rewrite(rep, "webhook-continuity"), out)
	assert.Contains(t, out, "Planned rewrites in 07-s7")
	assert.Regexp(t, `canary-gateway +1 +Deployment.apps/default/custom-gw-canary`, out)
	assert.Regexp(t, `07-s7 +RS022 +convergence +ok`, out)
	assert.NotRegexp(t, `06-s6 +RS022`, out, "RS022 judges the last state only")
}

// The trap of invariant 16: the prune deletes the istio-reader objects
// that both renders hold.
func TestConvergenceMissingObjects(t *testing.T) {
	seq := convergent()
	seq[len(seq)-1] = seq[len(seq)-1].without("reader-sa", "reader-binding")
	rep, out := checkPlan(t, seq, renders(t), false)
	fs := rs022(rep)
	require.Len(t, fs, 2, out)
	want := []string{"ClusterRoleBinding.rbac.authorization.k8s.io/istio-reader-istio-system", "ServiceAccount/istio-system/istio-reader-service-account"}
	for i, f := range fs {
		assert.Equal(t, Error, f.Severity)
		assert.Equal(t, want[i], f.Objects[0].String())
		assert.Equal(t, "07-s7", f.Step)
		assert.Equal(t, "06-s6", f.From)
		assert.Contains(t, f.Message, "the last state lacks "+want[i]+" of the target render")
		assert.Contains(t, f.Message, "step 07-s7 deletes it (06-s6 had it)")
	}
	assert.False(t, rep.OK())

	// Without the renders (plain step folders), RS022 has nothing to
	// judge against.
	rep, out = checkPlan(t, seq, nil, false)
	assert.Empty(t, rs022(rep), out)
	assert.Nil(t, rep.Steps[len(rep.Steps)-1].Rewrites)
}

// The canary stands in for the rendered Deployment through its typed
// record, never through its name: without the record the rendered
// Deployment is missing and the canary unexplained.
func TestConvergenceCanaryRecord(t *testing.T) {
	seq := convergent()
	seq[len(seq)-1] = seq[len(seq)-1].with(s3CanaryGateway[len(s3CanaryGateway)-1])
	rep, out := checkPlan(t, seq, renders(t), false)
	var msgs []string
	for _, f := range rs022(rep) {
		msgs = append(msgs, string(f.Severity)+": "+f.Message)
	}
	all := strings.Join(msgs, "\n")
	assert.Contains(t, all, "error: the last state lacks Deployment.apps/default/custom-gw of the target render", out)
	assert.Contains(t, all, "warning: the last state holds 1 object(s) that neither render has and no planned rewrite explains: Deployment.apps/default/custom-gw-canary", out)

	// A canary that differs outside what revision-gateway rewrites.
	odd := canaryGateway
	odd.caAddr = "istiod.istio-system.svc:15012"
	seq[len(seq)-1] = seq[len(seq)-1].with(doc{"gw-canary", gatewayDeploy("default", "custom-gw-canary",
		withAnnotations(odd, map[string]string{"revshift.dev/canary-of": "custom-gw", "other": "x"}))})
	rep, out = checkPlan(t, seq, renders(t), false)
	fs := rs022(rep)
	require.Len(t, fs, 1, out)
	assert.Contains(t, fs[0].Message, "canary Deployment.apps/default/custom-gw-canary of Deployment.apps/default/custom-gw differs from the target render at metadata.annotations.other")
}

func TestConvergenceDifferences(t *testing.T) {
	protected := strings.Replace(clusterRole("istiod-istio-system"), "metadata: {name: istiod-istio-system}",
		"metadata: {name: istiod-istio-system, annotations: {argocd.argoproj.io/sync-options: Prune=false, kustomize.toolkit.fluxcd.io/prune: disabled}}", 1)
	union := strings.Replace(clusterRole("istiod-istio-system"), "rules: []",
		"rules:\n- {apiGroups: [extensions], resources: [ingresses], verbs: [get, list, watch]}", 1)
	cases := []struct {
		name, role string
		err        string
	}{
		{"prune protection is a planned rewrite", protected, ""},
		{"rules of two revisions left as a union", union, "ClusterRole.rbac.authorization.k8s.io/istiod-istio-system differs from the target render at rules[0].apiGroups[0] (render: absent; last state: extensions)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seq := convergent()
			seq[len(seq)-1] = seq[len(seq)-1].with(doc{"role", c.role})
			rep, out := checkPlan(t, seq, renders(t), false)
			fs := rs022(rep)
			if c.err == "" {
				require.Empty(t, fs, out)
				assert.Equal(t, []string{"ClusterRole.rbac.authorization.k8s.io/istiod-istio-system"}, rewrite(rep, "prune-protection"), out)
				return
			}
			require.Len(t, fs, 1, out)
			assert.Equal(t, Error, fs[0].Severity)
			assert.Contains(t, fs[0].Message, c.err)
			assert.Nil(t, rewrite(rep, "prune-protection"), out)
		})
	}
}

// A rollback converges to the running render: the last state is the
// running render again, and an object of it that the walk's last step
// deletes is missing.
func TestConvergenceRollback(t *testing.T) {
	walk := []docs{convergent()[7], convergent()[3], s0Running.with(readerSA, readerBinding)}
	rep, out := checkPlan(t, walk, renders(t), true)
	assert.Empty(t, rs022(rep), out)
	walk[2] = walk[2].without("injector")
	rep, out = checkPlan(t, walk, renders(t), true)
	fs := rs022(rep)
	require.Len(t, fs, 1, out)
	assert.Contains(t, fs[0].Message, "lacks MutatingWebhookConfiguration.admissionregistration.k8s.io/istio-sidecar-injector of the running render")
	assert.Contains(t, fs[0].Message, "step 02-s2 deletes it (01-s1 had it)")
}

func crdServing(name string, versions ...string) string {
	var vs []string
	for i, v := range versions {
		vs = append(vs, fmt.Sprintf("{name: %s, served: true, storage: %t}", v, i == len(versions)-1))
	}
	return crd(name) + "spec: {group: networking.istio.io, versions: [" + strings.Join(vs, ", ") + "]}\n"
}

// The other planned rewrites, each with the case it must not explain.
func TestConvergencePlannedRewrites(t *testing.T) {
	extraSvc := doc{"gw-svc-2", service("default", "custom-gw-extra", "", newPods, "80:8080")}
	cases := []struct {
		name            string
		running, target docs
		last            func(docs) docs
		rewrite, err    string
	}{
		{name: "the newer CRD is kept",
			running: s0Running.with(doc{"crd", crdServing("gateways.networking.istio.io", "v1alpha3", "v1beta1")}),
			target:  targetRender.with(doc{"crd", crdServing("gateways.networking.istio.io", "v1beta1")}),
			last: func(d docs) docs {
				return d.with(doc{"crd", crdServing("gateways.networking.istio.io", "v1alpha3", "v1beta1")})
			},
			rewrite: "crd-newest"},
		{name: "a CRD that serves fewer versions than the render",
			running: s0Running.with(doc{"crd", crdServing("gateways.networking.istio.io", "v1alpha3")}),
			target:  targetRender.with(doc{"crd", crdServing("gateways.networking.istio.io", "v1alpha3", "v1beta1")}),
			last:    func(d docs) docs { return d.with(doc{"crd", crdServing("gateways.networking.istio.io", "v1alpha3")}) },
			err:     "CustomResourceDefinition.apiextensions.k8s.io/gateways.networking.istio.io differs from the target render at spec.versions[0].storage"},
		{name: "a rendered Service over a gateway that runs as a canary",
			running: s0Running, target: targetRender.with(extraSvc),
			last:    func(d docs) docs { return d },
			rewrite: "gateway-service-dropped"},
		{name: "a rendered Service over a gateway without a canary record",
			running: s0Running, target: targetRender.with(extraSvc),
			last: func(d docs) docs { return d.with(s3CanaryGateway[len(s3CanaryGateway)-1]) },
			err:  "lacks Service/default/custom-gw-extra of the target render"},
		{name: "namespace relabelled",
			running: s0Running, target: targetRender.with(doc{"ns-apps", namespace("apps", map[string]string{"istio-injection": "enabled"})}),
			last:    func(d docs) docs { return d },
			rewrite: "dataplane-relabel"},
		{name: "namespace with another label",
			running: s0Running, target: targetRender.with(doc{"ns-apps", namespace("apps", map[string]string{"istio.io/rev": "canary", "team": "a"})}),
			last: func(d docs) docs { return d },
			err:  "Namespace/apps differs from the target render at metadata.labels.team"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seq := convergent()
			seq[len(seq)-1] = c.last(seq[len(seq)-1])
			r := &Renders{Running: c.running.with(readerSA, readerBinding).model(t), Target: c.target.model(t)}
			rep, out := checkPlan(t, seq, r, false)
			var errs []string
			for _, f := range rs022(rep) {
				if f.Severity == Error {
					errs = append(errs, f.Message)
				}
			}
			if c.err == "" {
				require.Empty(t, errs, out)
				assert.NotEmpty(t, rewrite(rep, c.rewrite), out)
				return
			}
			assert.Contains(t, strings.Join(errs, "\n"), c.err, out)
			assert.Empty(t, rewrite(rep, c.rewrite), out)
		})
	}
}
