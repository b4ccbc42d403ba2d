package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/revshift/revshift/hack/rehearse/rehearse"
	"github.com/revshift/revshift/internal/gate"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// revshift wait holds a step's gate against a cluster: it returns once the
// gate's Deployment has rolled out with enough ready replicas, and times out,
// naming what it waited for, when it has fewer.
func TestWaitForGate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp, err := rehearse.StartControlPlane(ctx, assets(t, "1.34.3"), t.TempDir())
	require.NoError(t, err)
	defer cp.Stop()
	cs, err := kubernetes.NewForConfig(cp.Config)
	require.NoError(t, err)
	require.NoError(t, (&rehearse.Kubelet{Client: cs, Node: "n", ReadyAfter: time.Second, TerminateAfter: time.Second}).Start(ctx))
	labels := map[string]string{"app": "gw"}
	_, err = cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{AutomountServiceAccountToken: ptr.To(false), Containers: []corev1.Container{{Name: "proxy", Image: "proxy"}}}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	step := func(min int64) string {
		dir := filepath.Join(t.TempDir(), "03-canary-gateways")
		require.NoError(t, os.Mkdir(dir, 0o755))
		require.NoError(t, gate.Write(dir, gate.New("03-canary-gateways", []gate.Rollout{{Kind: "Deployment", Namespace: "default", Name: "gw", MinReadyReplicas: min}})))
		return dir
	}
	require.NoError(t, rehearse.Wait(ctx, cs, step(2), 2*time.Minute))
	err = rehearse.Wait(ctx, cs, step(3), 5*time.Second)
	require.ErrorContains(t, err, "gate: Deployment default/gw at 2 ready replicas, waiting for 3")
}
