package verify

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMermaidCanaryState(t *testing.T) {
	var a, b bytes.Buffer
	require.NoError(t, WriteMermaid(&a, s4Shift.model(t)))
	require.NoError(t, WriteMermaid(&b, s4Shift.model(t)))
	require.Equal(t, a.String(), b.String(), "deterministic")
	got := a.String()
	t.Log("\n" + got)
	require.True(t, strings.HasPrefix(got, "flowchart LR\n"))
	for _, want := range []string{
		`n1["Service default/custom-gw<br/>LoadBalancer"]:::svc`,
		`n2["Deployment default/custom-gw<br/>rev default, 0 replicas"]:::off`,
		`n3["Deployment default/custom-gw-canary<br/>rev canary, 2 replicas"]:::gw`,
		"n1 --> n2",
		"n1 --> n3",
		`["istiod istio-system/istiod<br/>rev default, 1 replica"]:::istiod`,
		`["istiod istio-system/istiod-canary<br/>rev canary, 1 replica"]:::istiod`,
		`-- "CA_ADDR" -->`,
		`["mutating webhook istio-sidecar-injector<br/>sidecar-injector.istio.io, failurePolicy Fail"]:::hook`,
		`["validating webhook istiod-istio-system<br/>validation.istio.io, failurePolicy Ignore"]:::hook`,
	} {
		require.Contains(t, got, want)
	}
}

func TestMermaidMissingConfigMapAndWebhookService(t *testing.T) {
	var buf bytes.Buffer
	// istio-canary not copied: the canary falls back to the default istiod;
	// the validating webhook's Service is gone.
	m := s1CanaryControlPlane.with(s3CanaryGateway[len(s3CanaryGateway)-1]).without("istiod-svc").model(t)
	require.NoError(t, WriteMermaid(&buf, m))
	got := buf.String()
	require.Contains(t, got, `["Service istio-system/istiod<br/>MISSING"]:::missing`)
	require.Contains(t, got, `-- "CA_ADDR" -->`)
	require.NotContains(t, got, "fallback", "the fallback Service istiod is missing, so no fallback edge")

	buf.Reset()
	m = s1CanaryControlPlane.with(s3CanaryGateway[len(s3CanaryGateway)-1]).model(t)
	require.NoError(t, WriteMermaid(&buf, m))
	require.Contains(t, buf.String(), `-- "fallback: istio-canary missing" -->`)
}

func TestMermaidEscapes(t *testing.T) {
	require.Equal(t, "a #quot;b#quot; #lt;c#gt;<br/>d", escape(`a "b" <c><br/>d`))
}

// BenchmarkCheckState runs every state rule on a generated mesh of about
// 1k and 10k objects: n namespaces, each with a gateway Deployment, its
// Service, PDB, HPA, Istio Gateway, ConfigMap, ServiceAccount, RBAC and
// application Deployments and Services, around one control plane.
func BenchmarkCheckState(b *testing.B) {
	for _, size := range []int{1000, 10000} {
		m := generatedMesh(b, size).model(b)
		b.Run(fmt.Sprintf("objects=%d", len(m.Objects)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if fs := CheckState(m); len(fs) != 0 {
					b.Fatalf("generated mesh should hold: %v", fs[0])
				}
			}
		})
	}
}

// BenchmarkCheckTransition: the canary step on the same meshes.
func BenchmarkCheckTransition(b *testing.B) {
	for _, size := range []int{1000, 10000} {
		prev := generatedMesh(b, size).model(b)
		next := generatedMesh(b, size).with(doc{"extra", configMap("istio-system", "extra")}).model(b)
		b.Run(fmt.Sprintf("objects=%d", len(next.Objects)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				checkStep(prev, next, prev, DefaultOrdering)
			}
		})
	}
}

func generatedMesh(b testing.TB, objects int) docs {
	d := s1CanaryControlPlane
	perNS := 20
	for i := 0; len(d) < objects; i++ {
		ns := fmt.Sprintf("team-%04d", i)
		pods := map[string]string{"app": "gw-" + ns, "istio": "gw-" + ns}
		d = append(d,
			doc{ns, namespace(ns, map[string]string{"istio.io/rev": "canary"})},
			doc{ns + "/cm", configMap(ns, "istio-canary")},
			doc{ns + "/gw", gatewayDeploy(ns, "gw", gwOpts{replicas: 2, labels: pods, ports: []int{8080, 8443}, caAddr: "istiod-canary.istio-system.svc:15012", configMap: "istio-canary"})},
			doc{ns + "/svc", service(ns, "gw", "LoadBalancer", pods, "80:8080", "443:8443")},
			doc{ns + "/pdb", pdb(ns, "gw", pods)},
			doc{ns + "/hpa", hpa(ns, "gw", "gw", 2)},
			doc{ns + "/gateway", istioGateway(ns, "gw", pods)},
		)
		for j := 0; j < perNS-7; j++ {
			app := map[string]string{"app": fmt.Sprintf("app-%d", j)}
			if j%2 == 0 {
				d = append(d, doc{fmt.Sprintf("%s/svc-%d", ns, j), service(ns, fmt.Sprintf("app-%d", j), "", app, "80:8080")})
				continue
			}
			d = append(d, doc{fmt.Sprintf("%s/app-%d", ns, j), appDeploy(ns, fmt.Sprintf("app-%d", j-1), map[string]string{"app": fmt.Sprintf("app-%d", j-1)})})
		}
	}
	return d
}

func appDeploy(ns, name string, labels map[string]string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s}
spec:
  replicas: 2
  selector: {matchLabels: %s}
  template:
    metadata: {labels: %s}
    spec:
      containers: [{name: app, image: app, ports: [{containerPort: 8080}]}]
`, name, ns, yamlMap(labels), yamlMap(labels))
}
