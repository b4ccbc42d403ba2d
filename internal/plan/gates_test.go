package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/gate"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

func deployment(name, replicas, image, canaryOf string) string {
	meta := fmt.Sprintf("{name: %s, namespace: default}", name)
	if canaryOf != "" {
		meta = fmt.Sprintf("{name: %s, namespace: default, annotations: {revshift.dev/canary-of: %s}}", name, canaryOf)
	}
	if replicas != "" {
		replicas = "  replicas: " + replicas + "\n"
	}
	return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: %s\nspec:\n%s  selector: {matchLabels: {app: %s}}\n  template:\n    metadata: {labels: {app: %s}}\n    spec:\n      containers: [{name: c, image: %s}]\n", meta, replicas, name, name, image)
}

func hpa(name string, min int) string {
	return fmt.Sprintf("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: %s, namespace: default}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n  minReplicas: %d\n  maxReplicas: 5\n", name, name, min)
}

func model(t *testing.T, docs ...string) *mesh.Model {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: strings.NewReader(strings.Join(docs, "---\n")), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	m, err := mesh.Build(nodes)
	require.NoError(t, err)
	return m
}

func TestRollouts(t *testing.T) {
	prev := model(t,
		deployment("gw", "", "proxy:1.29", ""), hpa("gw", 2),
		deployment("same", "2", "app:1", ""),
		deployment("app", "2", "app:1", ""),
		deployment("down", "3", "app:1", ""),
		deployment("up", "0", "app:1", ""),
	)
	next := model(t,
		deployment("gw", "", "proxy:1.29", ""), hpa("gw", 2),
		deployment("gw-1-31-0", "", "proxy:1.31", "gw"), hpa("gw-1-31-0", 1),
		deployment("big-1-31-0", "", "proxy:1.31", "gw"), hpa("big-1-31-0", 4),
		deployment("same", "2", "app:1", ""),
		deployment("app", "2", "app:2", ""),
		deployment("down", "0", "app:1", ""),
		deployment("up", "", "app:1", ""), hpa("up", 3),
		deployment("new", "3", "app:1", ""), hpa("new", 2),
		// spec.replicas 0 disables the HPA: nothing to wait for.
		deployment("parked", "0", "app:1", ""), hpa("parked", 2),
	)
	got := map[string]gate.Rollout{}
	var order []string
	for _, r := range Rollouts(prev, next) {
		got[r.Name] = r
		order = append(order, r.Name)
	}
	assert.Equal(t, []string{"app", "big-1-31-0", "gw-1-31-0", "new", "up"}, order, "sorted; unchanged, scaled to 0 and parked Deployments are not waited for")
	assert.Equal(t, gate.Rollout{Kind: "Deployment", Namespace: "default", Name: "gw-1-31-0", MinReadyReplicas: 2,
		Reason: "canary of Deployment default/gw, which runs 2 replicas (HPA gw minReplicas 2)"}, got["gw-1-31-0"], "a canary waits for what its gateway runs")
	assert.Equal(t, int64(4), got["big-1-31-0"].MinReadyReplicas)
	assert.Equal(t, "canary of Deployment default/gw, which runs 2 replicas (HPA gw minReplicas 2); its own: HPA big-1-31-0 minReplicas 4", got["big-1-31-0"].Reason)
	assert.Equal(t, "pod template changed, which runs 2 replicas (spec.replicas 2)", got["app"].Reason)
	assert.Equal(t, int64(3), got["new"].MinReadyReplicas)
	assert.Equal(t, "new Deployment, which runs 3 replicas (spec.replicas 3, HPA new minReplicas 2)", got["new"].Reason)
	assert.Equal(t, "spec.replicas 0 -> unset, HPA none -> minReplicas 3, which runs 3 replicas (HPA up minReplicas 3)", got["up"].Reason)

	assert.Empty(t, Rollouts(nil, next), "the first state waits for nothing")
}
