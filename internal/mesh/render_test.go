package mesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunningRender(t *testing.T) {
	items := parse(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: plain}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: running
  annotations: {revshift.dev/running-render: "true"}
data:
  z.yaml: |
    apiVersion: v1
    kind: Service
    metadata: {name: z, namespace: istio-system}
  a.yaml: |
    # Resources for Base component
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: a, namespace: istio-system}
    ---
    ---
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: a, namespace: istio-system}
`)
	objs, carriers, err := RunningRender(NewItems(items))
	require.NoError(t, err)
	require.Len(t, carriers, 1)
	assert.Equal(t, "running", carriers[0].Node().GetName())
	var names []string
	for _, o := range objs {
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	assert.Equal(t, []string{"Service/a", "ServiceAccount/a", "Service/z"}, names, "keys in order, empty documents skipped")

	for _, c := range []struct{ data, want string }{
		{"data: {x.yaml: 'a: &a [1]\n\n  b: *a'}", "ConfigMap running data.x.yaml: document 1, line"},
		{"data: {x.yaml: '- a\n- b'}", "ConfigMap running data.x.yaml: document 1 (line 1): expected an object"},
		{"data: {x.yaml: 'a: [1'}", "ConfigMap running data.x.yaml: document 1:"},
		{"data: {}", "ConfigMap running is annotated revshift.dev/running-render but has no data"},
	} {
		items := parse(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: running\n  annotations: {revshift.dev/running-render: \"true\"}\n"+c.data+"\n")
		_, _, err := RunningRender(NewItems(items))
		require.Error(t, err, c.data)
		assert.Contains(t, err.Error(), c.want)
	}
}
