package rehearse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/revshift/revshift/internal/mesh"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// running are the istiods and gateways of a state that have ready pods in
// the cluster, each with the ServiceAccount its pods run as.
type runningWorkload struct {
	w       *mesh.Workload
	gateway bool
	rev     string
	ready   int32
}

func (r *run) runningWorkloads(ctx context.Context, st *State) []runningWorkload {
	var out []runningWorkload
	add := func(w *mesh.Workload, gw bool, rev string) {
		d, err := r.cs.AppsV1().Deployments(w.ID.Namespace).Get(ctx, w.ID.Name, metav1.GetOptions{})
		if err != nil || d.Status.ReadyReplicas == 0 {
			return
		}
		out = append(out, runningWorkload{w: w, gateway: gw, rev: rev, ready: d.Status.ReadyReplicas})
	}
	for _, d := range st.Model.Istiods {
		if d.ID.Kind == "Deployment" {
			add(d.Workload, false, d.Revision)
		}
	}
	for _, g := range st.Model.Gateways {
		if g.ID.Kind == "Deployment" {
			add(g.Workload, true, st.Model.RevisionOfGateway(g))
		}
	}
	return out
}

// renderOf finds the rendered workload a running one comes from: its
// canary-of origin in the target render, else itself in the render of its
// revision.
func (r *run) renderOf(rw runningWorkload) (*mesh.Model, *mesh.Workload) {
	if r.renders == nil {
		return nil, nil
	}
	render := r.renders.Running
	if rw.rev == r.targetRev && r.renders.Target != nil {
		render = r.renders.Target
	}
	id := rw.w.ID
	if origin, ok := rw.w.CanaryOf(); ok {
		id, render = origin, r.renders.Target
	}
	if render == nil {
		return nil, nil
	}
	w := render.Workload(id)
	if w == nil {
		return nil, nil
	}
	return render, w
}

// checkRBAC asks the API server's authorizer, by SubjectAccessReview, for
// every permission that each running workload's own render grants its
// ServiceAccount, as the ServiceAccount the workload runs with in the state.
func (r *run) checkRBAC(ctx context.Context, st *State, rws []runningWorkload) (asked int, fs []Finding) {
	type job struct {
		rw runningWorkload
		g  mesh.Grant
	}
	var jobs []job
	for _, rw := range rws {
		render, origin := r.renderOf(rw)
		if origin == nil {
			continue
		}
		for _, g := range render.Grants(mesh.ServiceAccountOf(origin)).Grants() {
			jobs = append(jobs, job{rw, g})
		}
	}
	var mu sync.Mutex
	denied := map[mesh.ID][]string{}
	var errs []string
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(j job) {
			defer func() { <-sem; wg.Done() }()
			sa := mesh.ServiceAccountOf(j.rw.w)
			sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
				User:   "system:serviceaccount:" + sa.Namespace + ":" + sa.Name,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + sa.Namespace, "system:authenticated"},
			}}
			if j.g.URL != "" {
				sar.Spec.NonResourceAttributes = &authzv1.NonResourceAttributes{Path: j.g.URL, Verb: j.g.Verb}
			} else {
				res, sub, _ := strings.Cut(j.g.Resource, "/")
				sar.Spec.ResourceAttributes = &authzv1.ResourceAttributes{Namespace: j.g.Namespace, Verb: j.g.Verb,
					Group: j.g.Group, Resource: res, Subresource: sub, Name: j.g.Name}
			}
			got, err := r.cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err.Error())
			case !got.Status.Allowed:
				denied[j.rw.w.ID] = append(denied[j.rw.w.ID], j.g.String())
			}
		}(j)
	}
	wg.Wait()
	for _, rw := range rws {
		d := denied[rw.w.ID]
		if len(d) == 0 {
			continue
		}
		sort.Strings(d)
		sa := mesh.ServiceAccountOf(rw.w)
		fs = append(fs, Finding{Step: st.Step, Rule: RuleRBAC, Object: rw.w.ID.String(),
			Message: fmt.Sprintf("the authorizer denies ServiceAccount %s (which %s runs as) %d permission(s) its render grants: %s", sa, rw.w.ID, len(d), joinLimit(d, 4))})
	}
	if len(errs) > 0 {
		fs = append(fs, Finding{Step: st.Step, Rule: RuleRBAC, Message: "SubjectAccessReview failed: " + errs[0]})
	}
	return len(jobs), fs
}

// checkWebhooks: every webhook that calls a Service must find a ready
// endpoint of a running istiod behind it (the API server would call it,
// were admission webhooks enabled in the rehearsal).
func (r *run) checkWebhooks(ctx context.Context, st *State) (n int, fs []Finding) {
	for _, h := range st.Model.Webhooks {
		if h.Service == nil {
			continue
		}
		n++
		ns, name := h.Service.Namespace, h.Service.Name
		slices, err := r.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
		if err != nil {
			fs = append(fs, Finding{Step: st.Step, Rule: RuleWebhook, Object: h.Config.ID.String(), Message: err.Error()})
			continue
		}
		istiod := 0
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && !*e.Conditions.Ready || e.TargetRef == nil || e.TargetRef.Kind != "Pod" {
					continue
				}
				pod, err := r.cs.CoreV1().Pods(ns).Get(ctx, e.TargetRef.Name, metav1.GetOptions{})
				if err == nil && isIstiodPod(st.Model, pod) {
					istiod++
				}
			}
		}
		if istiod == 0 {
			fs = append(fs, Finding{Step: st.Step, Rule: RuleWebhook, Object: h.Config.ID.String(),
				Message: fmt.Sprintf("webhook %s calls Service %s/%s, which has no ready endpoint of a running istiod", h.Name, ns, name)})
		}
	}
	return n, fs
}

func isIstiodPod(m *mesh.Model, pod *corev1.Pod) bool {
	for _, d := range m.Istiods {
		if d.ID.Namespace == pod.Namespace && d.Selector != nil && d.Selector.Matches(labels.Set(pod.Labels)) {
			return true
		}
	}
	return false
}

// checkEviction evicts one pod of a running gateway (dry run). Two budgets
// over the pod, or a budget that blocks while the gateway is still short of
// its replicas (a drain now would wait on the rollout), are errors. A budget
// that allows no disruption with every replica ready is the render's own
// policy (minAvailable at or above the replicas: Istio renders minAvailable
// 1 for a one-replica gateway): it blocks node drains before, during and
// after the upgrade alike, and is warned about.
func (r *run) checkEviction(ctx context.Context, st *State, w *mesh.Workload) (string, *Finding) {
	pod, err := r.evictOne(ctx, w)
	if err == nil {
		return pod, nil
	}
	f := &Finding{Step: st.Step, Rule: RuleEviction, Object: w.ID.String(), Message: fmt.Sprintf("evicting pod %s: %v", pod, err)}
	if !apierrors.IsTooManyRequests(err) {
		return pod, f
	}
	d, derr := r.cs.AppsV1().Deployments(w.ID.Namespace).Get(ctx, w.ID.Name, metav1.GetOptions{})
	if derr != nil {
		return pod, f
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.ReadyReplicas < want {
		f.Message += fmt.Sprintf(" (%d of %d replicas ready: a node drain now waits for the rollout)", d.Status.ReadyReplicas, want)
		return pod, f
	}
	f.Severity = Warning
	f.Message += fmt.Sprintf(" (with all %d replicas ready: the budget as rendered allows no disruption, so node drains of this gateway wait; more replicas or a maxUnavailable budget would allow them)", want)
	return pod, f
}

// evictOne asks the Eviction API, in dry-run, to evict one ready pod of a
// gateway: a PodDisruptionBudget that blocks it answers 429, two that
// select the pod answer 500.
func (r *run) evictOne(ctx context.Context, w *mesh.Workload) (string, error) {
	names, err := r.readyPodsOf(ctx, w.ID.Namespace, w.ID.Name)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no ready pod")
	}
	meta, dry := metav1.ObjectMeta{Name: names[0], Namespace: w.ID.Namespace}, &metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}
	if r.minor < 22 {
		// policy/v1 Eviction is served from 1.22 on.
		return names[0], r.cs.PolicyV1beta1().Evictions(w.ID.Namespace).Evict(ctx, &policyv1beta1.Eviction{ObjectMeta: meta, DeleteOptions: dry})
	}
	return names[0], r.cs.PolicyV1().Evictions(w.ID.Namespace).Evict(ctx, &policyv1.Eviction{ObjectMeta: meta, DeleteOptions: dry})
}

// readyPodsOf lists the ready pods a Deployment owns (through its
// ReplicaSets), sorted. Selectors are not enough: a canary's pods carry the
// labels the old gateway's selector asks for.
func (r *run) readyPodsOf(ctx context.Context, ns, deployment string) ([]string, error) {
	rss, err := r.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	owned := map[string]bool{}
	for _, rs := range rss.Items {
		if c := metav1.GetControllerOf(&rs); c != nil && c.Kind == "Deployment" && c.Name == deployment {
			owned[rs.Name] = true
		}
	}
	pods, err := r.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range pods.Items {
		p := &pods.Items[i]
		if c := metav1.GetControllerOf(p); c != nil && owned[c.Name] && podReady(p) && p.DeletionTimestamp == nil {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// waitPDBs waits until the disruption controller has caught up with every
// PodDisruptionBudget: it has seen its generation and counts as healthy the
// ready pods it selects. Eviction answers from that status.
func (r *run) waitPDBs(ctx context.Context) error {
	var behind string
	err := waitFor(ctx, 30*time.Second, func() (bool, error) {
		pdbs, err := r.cs.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		// Pods per budget, and budgets per pod: the disruption controller
		// does not keep a pod under two budgets counted in both, and the
		// eviction check reports the overlap itself.
		selected := make([][]*corev1.Pod, len(pdbs.Items))
		budgets := map[string]int{}
		for i, p := range pdbs.Items {
			sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			if err != nil {
				continue
			}
			pods, err := r.cs.CoreV1().Pods(p.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
			if err != nil {
				return false, err
			}
			for j := range pods.Items {
				pod := &pods.Items[j]
				selected[i] = append(selected[i], pod)
				budgets[pod.Namespace+"/"+pod.Name]++
			}
		}
		for i, p := range pdbs.Items {
			if p.Status.ObservedGeneration < p.Generation {
				behind = fmt.Sprintf("%s/%s: generation %d not yet observed", p.Namespace, p.Name, p.Generation)
				return false, nil
			}
			healthy, overlap := int32(0), false
			for _, pod := range selected[i] {
				overlap = overlap || budgets[pod.Namespace+"/"+pod.Name] > 1
				if podReady(pod) && pod.DeletionTimestamp == nil {
					healthy++
				}
			}
			if !overlap && p.Status.CurrentHealthy != healthy {
				behind = fmt.Sprintf("%s/%s: currentHealthy %d, %d ready pods selected", p.Namespace, p.Name, p.Status.CurrentHealthy, healthy)
				return false, nil
			}
		}
		return true, nil
	}, "the disruption controller to count every PodDisruptionBudget's healthy pods")
	if err != nil {
		return fmt.Errorf("%w (%s)", err, behind)
	}
	return nil
}
