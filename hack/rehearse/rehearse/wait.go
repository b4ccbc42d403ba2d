package rehearse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/revshift/revshift/internal/gate"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
)

// Wait waits until a step's gate (its gate.yaml, written by revshift plan)
// holds on the cluster: every Deployment it names has rolled out and has at
// least its minReadyReplicas ready. It is what the kubectl lines of the
// plan's README check, and what rehearse waits for between steps.
func Wait(ctx context.Context, cs kubernetes.Interface, stepDir string, timeout time.Duration) error {
	g, err := gate.Read(stepDir) // a missing gate.yaml is an error here: nothing to wait for is not a gate that holds
	if err != nil {
		return err
	}
	rollouts := g.Spec.Rollouts
	var objs []*unstructured.Unstructured
	for _, r := range rollouts {
		u := &unstructured.Unstructured{}
		u.SetKind(r.Kind)
		u.SetNamespace(r.Namespace)
		u.SetName(r.Name)
		objs = append(objs, u)
	}
	return waitRollouts(ctx, cs, objs, rollouts, timeout, func() error { return nil })
}

// rolledOut reports whether a Deployment has finished rolling out: the
// controller has seen its generation and every replica is updated, ready
// and the only one left (kubectl rollout status's test).
func rolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.Replicas == want &&
		s.ReadyReplicas >= want && s.AvailableReplicas >= want
}

// waitRollouts waits until the Deployments among objs have rolled out and
// the gate's minimums hold.
func (r *run) waitRollouts(ctx context.Context, objs []*unstructured.Unstructured, rollouts []gate.Rollout) error {
	return waitRollouts(ctx, r.cs, objs, rollouts, r.opts.Timeout, r.cp.Alive)
}

func waitRollouts(ctx context.Context, cs kubernetes.Interface, objs []*unstructured.Unstructured, rollouts []gate.Rollout, timeout time.Duration, alive func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		pending := pendingRollouts(ctx, cs, objs, rollouts)
		if len(pending) == 0 {
			return nil
		}
		if err := alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s waiting for %s", errTimeout, timeout, strings.Join(pending, "; "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func pendingRollouts(ctx context.Context, cs kubernetes.Interface, objs []*unstructured.Unstructured, rollouts []gate.Rollout) []string {
	var pending []string
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		d, err := cs.AppsV1().Deployments(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			pending = append(pending, fmt.Sprintf("Deployment %s/%s: %v", o.GetNamespace(), o.GetName(), err))
		} else if !rolledOut(d) {
			pending = append(pending, fmt.Sprintf("Deployment %s/%s to roll out (%d/%d ready)", d.Namespace, d.Name, d.Status.ReadyReplicas, d.Status.Replicas))
		}
	}
	for _, g := range rollouts {
		d, err := cs.AppsV1().Deployments(g.Namespace).Get(ctx, g.Name, metav1.GetOptions{})
		if err != nil {
			pending = append(pending, fmt.Sprintf("gate: Deployment %s/%s: %v", g.Namespace, g.Name, err))
		} else if int64(d.Status.ReadyReplicas) < g.MinReadyReplicas {
			pending = append(pending, fmt.Sprintf("gate: Deployment %s/%s at %d ready replicas, waiting for %d (%s)", g.Namespace, g.Name, d.Status.ReadyReplicas, g.MinReadyReplicas, g.Reason))
		}
	}
	return pending
}

// hpaMinimums are the replicas the HPAs among objs keep their Deployments
// at, at least.
func hpaMinimums(objs []*unstructured.Unstructured) []gate.Rollout {
	var out []gate.Rollout
	for _, o := range objs {
		if o.GetKind() != "HorizontalPodAutoscaler" {
			continue
		}
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		min, found, _ := unstructured.NestedInt64(o.Object, "spec", "minReplicas")
		if !found {
			min = 1
		}
		if kind == "Deployment" {
			out = append(out, gate.Rollout{Kind: kind, Namespace: o.GetNamespace(), Name: name, MinReadyReplicas: min,
				Reason: fmt.Sprintf("HPA %s minReplicas %d, acted on in the running cluster", o.GetName(), min)})
		}
	}
	return out
}

func waitFor(ctx context.Context, d time.Duration, cond func() (bool, error), what string) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s waiting for %s", errTimeout, d, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
