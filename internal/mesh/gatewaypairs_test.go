package mesh

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// gw renders a minimal gateway Deployment: name, namespace, the mesh
// ConfigMap it mounts (its revision), pod labels, container ports, and an
// optional pod securityContext / proxy env.
func gw(name, ns, configMap, labels string, ports []int64, extra string) string {
	var ps []string
	for _, p := range ports {
		ps = append(ps, fmt.Sprintf("{containerPort: %d}", p))
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s}
spec:
  selector: {matchLabels: {%s}}
  template:
    metadata: {labels: {%s}}
    spec:
      %s
      containers:
      - name: istio-proxy
        args: [proxy, router]
        ports: [%s]
      volumes:
      - {name: config-volume, configMap: {name: %s, optional: true}}
`, name, ns, labels, labels, extra, strings.Join(ps, ", "), configMap)
}

func docs(ds ...string) string { return strings.Join(ds, "---\n") }

func TestPairGateways(t *testing.T) {
	const l = "istio: ingressgateway"
	cases := []struct {
		name     string
		input    string
		explicit []PairRequest
		revision string
		pairs    []string // old->new (suffix)
		errs     []string
	}{
		{"suffixed copy pairs with the running gateway",
			docs(gw("custom-gw", "default", "istio", l, nil, ""), gw("custom-gw-1-6-14", "default", "istio-1-6-14", l, nil, "")),
			nil, "", []string{"custom-gw->custom-gw-1-6-14 (-1-6-14)"}, nil},
		{"two namespaces pair separately",
			docs(gw("gw", "a", "istio", l, nil, ""), gw("gw-1-6-14", "a", "istio-1-6-14", l, nil, ""), gw("gw", "b", "istio", l, nil, ""), gw("gw-1-6-14", "b", "istio-1-6-14", l, nil, "")),
			nil, "", []string{"gw->gw-1-6-14 (-1-6-14)", "gw->gw-1-6-14 (-1-6-14)"}, nil},
		{"same name in another namespace does not pair",
			docs(gw("gw", "a", "istio", l, nil, ""), gw("gw-1-6-14", "b", "istio-1-6-14", l, nil, "")),
			nil, "", nil, []string{"unpairable gateway", "Deployment b/gw"}},
		{"two canaries are ambiguous",
			docs(gw("gw", "a", "istio", l, nil, ""), gw("gw-1-6-14", "a", "istio-1-6-14", l, nil, ""), gw("gw-1-7-8", "a", "istio-1-7-8", l, nil, "")),
			nil, "", nil, []string{"ambiguous pairing", "gw-1-6-14 (revision 1-6-14)", "gw-1-7-8 (revision 1-7-8)"}},
		{"spec.revision picks the canary among two",
			docs(gw("gw", "a", "istio", l, nil, ""), gw("gw-1-6-14", "a", "istio-1-6-14", l, nil, ""), gw("gw-1-7-8", "a", "istio-1-7-8", l, nil, "")),
			nil, "1-7-8", nil, []string{"ambiguous pairing", "could replace any of"}},
		{"next hop: a revisioned running gateway is replaced by the next revision",
			docs(gw("gw-1-6-14", "a", "istio-1-6-14", l, nil, ""), gw("gw-1-7-8", "a", "istio-1-7-8", l, nil, "")),
			nil, "1-7-8", []string{"gw-1-6-14->gw-1-7-8 (-1-7-8)"}, nil},
		{"running gateways without a copy are left alone",
			docs(gw("gw", "a", "istio", l, nil, ""), gw("other", "a", "istio", l, nil, "")),
			nil, "", nil, nil},
		{"explicit pair of unrelated names",
			docs(gw("gw", "a", "istio", l, nil, ""), gw("canary", "a", "istio-1-6-14", l, nil, "")),
			[]PairRequest{{"a", "gw", "canary"}}, "", []string{"gw->canary ()"}, nil},
		{"explicit pair naming a missing Deployment and a non-gateway",
			docs(gw("gw", "a", "istio", l, nil, ""), "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: a}\nspec:\n  template:\n    spec:\n      containers: [{name: app}]\n"),
			[]PairRequest{{"a", "gw", "app"}, {"a", "nope", "gw"}}, "", nil, []string{"spec.pairs[0]: not a gateway", "spec.pairs[1]: no Deployment a/nope"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := build(t, c.input)
			pairs, errs := m.PairGateways(c.explicit, c.revision)
			var got []string
			for _, p := range pairs {
				got = append(got, fmt.Sprintf("%s->%s (%s)", p.Old.ID.Name, p.New.ID.Name, p.Suffix))
			}
			assert.Equal(t, c.pairs, got)
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			all := strings.Join(msgs, "\n")
			for _, w := range c.errs {
				assert.Contains(t, all, w)
			}
			if len(c.errs) == 0 {
				assert.Empty(t, errs)
			}
		})
	}
}

const prodSvc = `apiVersion: v1
kind: Service
metadata: {name: custom-gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  ports:
  - {name: http2, port: 80, targetPort: 80}
`

func TestReplacementGaps(t *testing.T) {
	old := gw("custom-gw", "default", "istio", "istio: ingressgateway, v: old", []int64{80}, "")
	cases := []struct {
		name  string
		input string
		gaps  []string
	}{
		{"a ready replacement", docs(old, gw("n", "default", "istio-x", "istio: ingressgateway, v: new", []int64{80}, ""), prodSvc), nil},
		{"not selected by the production Service", docs(old, gw("n", "default", "istio-x", "istio: other", []int64{80}, ""), prodSvc),
			[]string{"Service/default/custom-gw selects Deployment.apps/default/custom-gw but not Deployment.apps/default/n"}},
		{"does not serve the targetPort", docs(old, gw("n", "default", "istio-x", "istio: ingressgateway, v: new", []int64{8080}, ""), prodSvc),
			[]string{"Deployment.apps/default/n does not serve targetPort 80 of Service/default/custom-gw (port 80)"}},
		{"a second Service maps the port elsewhere", docs(old, gw("n", "default", "istio-x", "istio: ingressgateway, v: new", []int64{80, 8080}, ""), prodSvc,
			"apiVersion: v1\nkind: Service\nmetadata: {name: second, namespace: default}\nspec:\n  selector: {v: new}\n  ports: [{port: 80, targetPort: 8080}]\n"),
			[]string{"two Services select Deployment.apps/default/n: Service/default/custom-gw maps port 80 to 80 but Service/default/second maps it to 8080"}},
		{"an Istio Gateway does not program the replacement", docs(old, gw("n", "default", "istio-x", "istio: ingressgateway, v: new", []int64{80}, ""), prodSvc,
			"apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: g, namespace: other}\nspec:\n  selector: {v: old}\n"),
			[]string{"Gateway.networking.istio.io/other/g programs Deployment.apps/default/custom-gw but not Deployment.apps/default/n"}},
		{"less capacity", docs(strings.Replace(old, "spec:\n", "spec:\n  replicas: 3\n", 1), gw("n", "default", "istio-x", "istio: ingressgateway, v: new", []int64{80}, ""), prodSvc),
			[]string{"Deployment.apps/default/n guarantees 1 replicas, Deployment.apps/default/custom-gw guarantees 3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := build(t, c.input)
			gaps := m.ReplacementGaps(m.Deployment("default", "custom-gw"), m.Deployment("default", "n"))
			assert.Equal(t, c.gaps, gaps)
		})
	}
}
