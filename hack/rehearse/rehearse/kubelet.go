package rehearse

import (
	"context"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// Kubelet simulates the one node's kubelet, as kwok does: it registers a
// Node, binds pending pods to it (there is no scheduler), and after
// ReadyAfter sets them Running and Ready with a pod IP, so that a rollout
// takes observable time. A pod being deleted leaves after TerminateAfter,
// as a drained proxy would. It renews the node's Lease and Ready condition:
// without that the node lifecycle controller marks the node unknown after
// its grace period (--node-monitor-grace-period, 50 s in 1.34) and every pod
// on it NotReady, which would look exactly like an outage.
type Kubelet struct {
	Client         kubernetes.Interface
	Node           string
	ReadyAfter     time.Duration
	TerminateAfter time.Duration

	mu      sync.Mutex
	seen    map[string]time.Time
	nextIP  int
	ips     map[string]string
	queue   workqueue.TypedDelayingInterface[string]
	factory informers.SharedInformerFactory
}

// Start registers the node and runs until ctx is done.
func (k *Kubelet) Start(ctx context.Context) error {
	k.seen, k.ips = map[string]time.Time{}, map[string]string{}
	if err := k.register(ctx); err != nil {
		return err
	}
	go k.heartbeat(ctx)
	k.queue = workqueue.NewTypedDelayingQueue[string]()
	k.factory = informers.NewSharedInformerFactory(k.Client, 0)
	pods := k.factory.Core().V1().Pods().Informer()
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, n any) { enqueue(n) },
	}); err != nil {
		return err
	}
	k.factory.Start(ctx.Done())
	k.factory.WaitForCacheSync(ctx.Done())
	go func() { <-ctx.Done(); k.queue.ShutDown() }()
	for i := 0; i < 4; i++ {
		go k.work(ctx, pods.GetIndexer())
	}
	return nil
}

func (k *Kubelet) register(ctx context.Context) error {
	qty := resource.MustParse
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: k.Node, Labels: map[string]string{
			"kubernetes.io/hostname": k.Node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "revshift-rehearse"}},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: qty("1000"), corev1.ResourceMemory: qty("4Ti"), corev1.ResourcePods: qty("10000")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: qty("1000"), corev1.ResourceMemory: qty("4Ti"), corev1.ResourcePods: qty("10000")},
			Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.255.0.1"}},
			NodeInfo:    corev1.NodeSystemInfo{KubeletVersion: "revshift-rehearse", OperatingSystem: "linux", Architecture: "amd64"},
		},
	}
	// As the kubelet does, the node registers with its status.
	node.Status.Conditions = k.conditions(nil)
	if _, err := k.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register node %s: %w", k.Node, err)
	}
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: k.Node, Namespace: corev1.NamespaceNodeLease},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(k.Node), LeaseDurationSeconds: ptr.To[int32](40),
			RenewTime: &metav1.MicroTime{Time: time.Now()}},
	}
	if _, err := k.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, lease, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("node lease: %w", err)
	}
	return nil
}

func (k *Kubelet) conditions(old []corev1.NodeCondition) []corev1.NodeCondition {
	now := metav1.Now()
	transition := now
	for _, c := range old {
		if c.Type == corev1.NodeReady {
			transition = c.LastTransitionTime
		}
	}
	return []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "revshift rehearse's simulated kubelet", LastHeartbeatTime: now, LastTransitionTime: transition}}
}

// heartbeat renews the Lease every 10 s and the Ready condition every 30 s,
// as the kubelet's defaults do (nodeLeaseDurationSeconds 40, renew at a
// quarter; nodeStatusReportFrequency 5m, shortened here).
func (k *Kubelet) heartbeat(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n++
		if l, err := k.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, k.Node, metav1.GetOptions{}); err == nil {
			l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
			_, _ = k.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Update(ctx, l, metav1.UpdateOptions{})
		}
		if n%3 == 0 {
			if node, err := k.Client.CoreV1().Nodes().Get(ctx, k.Node, metav1.GetOptions{}); err == nil {
				node.Status.Conditions = k.conditions(node.Status.Conditions)
				_, _ = k.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
			}
		}
	}
}

func (k *Kubelet) work(ctx context.Context, idx cache.Indexer) {
	for {
		key, quit := k.queue.Get()
		if quit {
			return
		}
		if after, err := k.sync(ctx, idx, key); err != nil {
			k.queue.AddAfter(key, time.Second)
		} else if after > 0 {
			k.queue.AddAfter(key, after)
		}
		k.queue.Done(key)
	}
}

// sync moves one pod one step through its life; it returns how long to wait
// before the next step.
func (k *Kubelet) sync(ctx context.Context, idx cache.Indexer, key string) (time.Duration, error) {
	obj, exists, err := idx.GetByKey(key)
	if err != nil || !exists {
		k.forget(key)
		return 0, err
	}
	pod := obj.(*corev1.Pod)
	pods := k.Client.CoreV1().Pods(pod.Namespace)
	switch {
	case pod.DeletionTimestamp != nil:
		if wait := k.TerminateAfter - time.Since(pod.DeletionTimestamp.Time); wait > 0 {
			return wait, nil
		}
		err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			err = nil
		}
		return 0, err
	case pod.Spec.NodeName == "":
		err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target: corev1.ObjectReference{Kind: "Node", Name: k.Node}}, metav1.CreateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			err = nil
		}
		return 0, err
	case pod.Spec.NodeName != k.Node || podReady(pod):
		return 0, nil
	}
	k.mu.Lock()
	first, ok := k.seen[key]
	if !ok {
		first = time.Now()
		k.seen[key] = first
	}
	k.mu.Unlock()
	if wait := k.ReadyAfter - time.Since(first); wait > 0 {
		return wait, nil
	}
	p := pod.DeepCopy()
	now := metav1.Now()
	ip := k.ip(key)
	p.Status.Phase = corev1.PodRunning
	p.Status.HostIP, p.Status.PodIP = "10.255.0.1", ip
	p.Status.HostIPs, p.Status.PodIPs = []corev1.HostIP{{IP: "10.255.0.1"}}, []corev1.PodIP{{IP: ip}}
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	p.Status.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	}
	_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return 0, nil // the next event brings it back
	}
	return 0, err
}

func (k *Kubelet) ip(key string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ip, ok := k.ips[key]; ok {
		return ip
	}
	k.nextIP++
	ip := fmt.Sprintf("10.244.%d.%d", k.nextIP/250, k.nextIP%250+1)
	k.ips[key] = ip
	return ip
}

func (k *Kubelet) forget(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.seen, key)
	delete(k.ips, key)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
