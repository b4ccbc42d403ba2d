package verify

import (
	"fmt"

	"github.com/revshift/revshift/internal/gate"
	"github.com/revshift/revshift/internal/mesh"
)

// started is a Deployment that a step created and that, at first, has
// fewer replicas than its capacity (capacityOf: its HPA's minReplicas).
// Kubernetes creates it with spec.replicas pods (1 when unset:
// k8s.io/kubernetes pkg/apis/apps/v1/defaults.go, SetDefaults_Deployment);
// its HPA raises it to minReplicas only on its next sync (every 15 s by
// default: pkg/controller/podautoscaler/config/v1alpha1/defaults.go), and
// not at all from 0 replicas ("scaling is disabled since the replica count
// of the target is zero", pkg/controller/podautoscaler/horizontal.go). A
// step is applied as soon as the previous step's gate holds: what the
// Deployment has then is what that gate waited for, or its spec.replicas.
// Seen on kube-apiserver and kube-controller-manager 1.34.3 (issue 14): the
// canary custom-gw-1-31-0 ran 1 of its HPA's 2 replicas when the shift
// scaled the old gateway to 0, and the production Service had 1 ready
// endpoint instead of 2 for about 5 s.
type started struct {
	// step is the state whose step created the Deployment.
	step string
	// n is the replicas it is counted with: in that state, and when the
	// step after it is applied.
	n int64
	// capacity is what it counts from then on (capacityOf), spec.replicas
	// what Kubernetes starts it at.
	capacity, replicas int64
	// gated: n comes from the step's gate (minReadyReplicas); hasGate:
	// the step has a gate at all.
	gated, hasGate bool
	hpa            *mesh.HPA
}

// startsOf returns the Deployments the step prev -> next creates (absent
// from prev) that start below their capacity, by identity, counted with
// their spec.replicas or, when the step's gate g (nil: none) waits for
// more, with its minReadyReplicas (at most their capacity). step names
// next.
func startsOf(prev, next *view, g *gate.Gate, step string) map[mesh.ID]started {
	var out map[mesh.ID]started
	for _, w := range next.m.Workloads {
		if w.ID.Kind != gate.KindDeployment || prev.workloadFor(next, w.Object) != nil {
			continue
		}
		c := next.capacityOf(w)
		s := started{step: step, capacity: c, replicas: w.DesiredReplicas(), hpa: next.m.HPAFor(w), hasGate: g != nil}
		s.n = min(s.replicas, c)
		if r, ok := g.Rollout(gate.KindDeployment, w.ID.Namespace, w.ID.Name); ok && r.MinReadyReplicas > s.n {
			s.n, s.gated = min(r.MinReadyReplicas, c), true
		}
		if s.n >= c {
			continue
		}
		if out == nil {
			out = map[mesh.ID]started{}
		}
		out[w.ID] = s
	}
	return out
}

// starts are what RS002 knows of new Deployments at one step: those the
// step creates, and those the step before created (the gate between the
// two is all that says how many replicas they have).
type starts struct {
	created, before map[mesh.ID]started
}

// guaranteed is the capacity RS002 counts for w, a workload of next: its
// start when this step or the one before created it, else capacityOf. s is
// set when the start counts.
func (t *transCtx) guaranteed(w *mesh.Workload) (n int64, s *started) {
	c := t.next.capacityOf(w)
	if st, ok := t.starts.created[w.ID]; ok {
		return st.n, &st
	}
	if st, ok := t.starts.before[w.ID]; ok && st.n < c {
		return st.n, &st
	}
	return c, nil
}

// describeStart renders a Deployment counted at its start, e.g.
// "Deployment.apps/default/custom-gw-1-31-0 (1 replica: created by
// 03-canary-gateways with spec.replicas unset, so 1, and that step has no
// gate.yaml; HPA custom-gw-1-31-0 raises it to minReplicas 2 only on its
// next sync)".
func describeStart(w *mesh.Workload, s *started) string {
	from := fmt.Sprintf("spec.replicas %d", s.replicas)
	if w.Replicas == nil {
		from = "spec.replicas unset, so 1"
	}
	var g string
	switch {
	case !s.hasGate:
		g = "that step has no " + gate.FileName
	case s.gated:
		g = fmt.Sprintf("its gate waits for %s only", countText(s.n))
	default:
		g = "its gate does not wait for more"
	}
	later := ""
	if s.hpa != nil {
		later = fmt.Sprintf("; HPA %s raises it to minReplicas %d only on its next sync", s.hpa.ID.Name, s.hpa.MinReplicas)
	}
	return fmt.Sprintf("%s (%s: created by %s with %s, and %s%s)", w.ID, countText(s.n), s.step, from, g, later)
}

func countText(n int64) string {
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}

// startFix says what makes a new Deployment's replicas count: the gate of
// the step that created it.
func startFix(w *mesh.Workload, s *started) string {
	return fmt.Sprintf("wait, before applying the step after %s, until %s has %d ready replicas: list it in %s/%s with minReadyReplicas %d (revshift plan writes the gates; by hand: kubectl -n %s wait deployment/%s --for=jsonpath='{.status.readyReplicas}'=%d --timeout=%s), or create it with spec.replicas %d",
		s.step, w.ID, s.capacity, s.step, gate.FileName, s.capacity, w.ID.Namespace, w.ID.Name, s.capacity, gate.Timeout, s.capacity)
}
