package mesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequiredPodLabels(t *testing.T) {
	m := build(t, docs(prodSvc,
		"apiVersion: v1\nkind: Service\nmetadata: {name: s2, namespace: default}\nspec:\n  selector: {istio: ingressgateway, app: gw}\n",
		"apiVersion: networking.istio.io/v1alpha3\nkind: Gateway\nmetadata: {name: g, namespace: x}\nspec:\n  selector: {istio: ingressgateway}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s3, namespace: default}\nspec:\n  selector: {istio: other}\n"))
	req, err := RequiredPodLabels([]*Service{m.Service("default", "custom-gw"), m.Service("default", "s2")}, m.IstioGateways)
	require.NoError(t, err)
	require.Len(t, req, 2)
	assert.Equal(t, RequiredLabel{Key: "app", Value: "gw", From: []ID{{Kind: "Service", Namespace: "default", Name: "s2"}}}, req[0])
	assert.Equal(t, "istio", req[1].Key)
	assert.Len(t, req[1].From, 3)
	_, err = RequiredPodLabels([]*Service{m.Service("default", "custom-gw"), m.Service("default", "s3")}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Service/default/custom-gw selects istio=ingressgateway but Service/default/s3 selects istio=other")
}

func TestSelectsPodsOf(t *testing.T) {
	m := build(t, docs(gw("a", "ns", "istio", "istio: x", nil, ""), gw("b", "ns", "istio", "istio: x, rev: b", nil, "")))
	a, b := m.Deployment("ns", "a"), m.Deployment("ns", "b")
	assert.True(t, a.SelectsPodsOf(b), "a's selector {istio: x} matches b's pods")
	assert.False(t, b.SelectsPodsOf(a))
	assert.Equal(t, map[string]string{"istio": "x", "rev": "b"}, b.MatchLabels())
}
