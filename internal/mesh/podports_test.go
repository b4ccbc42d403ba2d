package mesh

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanBind(t *testing.T) {
	cases := []struct {
		name  string
		extra string
		env   string
		port  int64
		ok    bool
		why   string
	}{
		{"root, privileged port", "", "", 80, true, "runs as root"},
		{"non-root, unprivileged port", "securityContext: {runAsNonRoot: true, runAsUser: 1337}", "", 8080, true, "not privileged"},
		{"non-root, privileged port", "securityContext: {runAsNonRoot: true, runAsUser: 1337}", "", 80, false, "non-root"},
		{"non-root with the sysctl", "securityContext: {runAsUser: 1337, sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: \"0\"}]}", "", 80, true, "ip_unprivileged_port_start=0"},
		{"sysctl above the port", "securityContext: {runAsUser: 1337, sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: \"100\"}]}", "", 80, false, "non-root"},
		{"root but unprivileged for pilot", "", "ISTIO_META_UNPRIVILEGED_POD", 443, false, "pilot builds no listener below 1024"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := gw("g", "ns", "istio", "a: b", nil, c.extra)
			if c.env != "" {
				d = strings.Replace(d, "args: [proxy, router]", "args: [proxy, router]\n        env: [{name: "+c.env+", value: \"true\"}]", 1)
			}
			ok, why := build(t, d).Deployment("ns", "g").CanBind(c.port)
			assert.Equal(t, c.ok, ok)
			assert.Contains(t, why, c.why)
		})
	}
}

func TestUnservedTargetPorts(t *testing.T) {
	m := build(t, docs(gw("g", "default", "istio", "istio: ingressgateway", []int64{80, 8443}, ""),
		"apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n  ports:\n  - {port: 80}\n  - {port: 443, targetPort: 8443}\n  - {port: 15021, targetPort: status}\n  - {port: 15443}\n"))
	got := UnservedTargetPorts(m.Service("default", "s"), m.Deployment("default", "g"))
	require.Len(t, got, 2)
	assert.Equal(t, "status", got[0].TargetPort.String())
	assert.Equal(t, int64(15443), got[1].TargetPort.Num)
}
