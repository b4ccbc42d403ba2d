package rehearse

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/revshift/revshift/internal/mesh"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// endpointWatch follows the EndpointSlices of the production Services and
// keeps, per Service, the lowest count of ready endpoints seen at any change
// since the window opened: what a load balancer in front of the Service
// could have sent traffic to at worst.
type endpointWatch struct {
	mu sync.Mutex
	// slices holds each EndpointSlice's ready addresses as of the last event
	// delivered for it. Counting from the events, in their order, rather
	// than from the informer's store (which may already be ahead of the
	// event being handled) sees every intermediate count.
	slices  map[string]map[string][]string // service "ns/name" -> slice name -> ready addresses
	tracked map[string]*svcWatch
}

type svcWatch struct {
	cur, min, changes int
}

func watchEndpoints(ctx context.Context, c kubernetes.Interface) (*endpointWatch, error) {
	w := &endpointWatch{tracked: map[string]*svcWatch{}, slices: map[string]map[string][]string{}}
	f := informers.NewSharedInformerFactory(c, 0)
	inf := f.Discovery().V1().EndpointSlices().Informer()
	on := func(obj any, deleted bool) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj, deleted = d.Obj, true
		}
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
			w.changed(s, deleted)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { on(o, false) },
		UpdateFunc: func(_, n any) { on(n, false) },
		DeleteFunc: func(o any) { on(o, true) },
	}); err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, ctx.Err()
	}
	return w, nil
}

// ready counts the distinct ready endpoints of a Service now. A nil ready
// condition means ready (discovery.k8s.io/v1 EndpointConditions).
func (w *endpointWatch) ready(svc string) int {
	seen := map[string]bool{}
	for _, addrs := range w.slices[svc] {
		for _, a := range addrs {
			seen[a] = true
		}
	}
	return len(seen)
}

func (w *endpointWatch) changed(s *discoveryv1.EndpointSlice, deleted bool) {
	svc := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
	var addrs []string
	for _, e := range s.Endpoints {
		if e.Conditions.Ready != nil && !*e.Conditions.Ready || len(e.Addresses) == 0 {
			continue
		}
		addrs = append(addrs, e.Addresses[0])
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.slices[svc] == nil {
		w.slices[svc] = map[string][]string{}
	}
	if deleted {
		delete(w.slices[svc], s.Name)
	} else {
		w.slices[svc][s.Name] = addrs
	}
	t := w.tracked[svc]
	if debug {
		fmt.Fprintf(os.Stderr, "%s endpoints %s slice %s deleted=%v ready=%v tracked=%v\n", time.Now().Format("15:04:05.000"), svc, s.Name, deleted, addrs, t != nil)
	}
	if t == nil {
		return
	}
	t.cur = w.ready(svc)
	t.changes++
	if t.cur < t.min {
		t.min = t.cur
	}
}

// open starts a window for the given Services: the minimum restarts from
// their count now.
func (w *endpointWatch) open(svcs []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tracked = map[string]*svcWatch{}
	for _, s := range svcs {
		n := w.ready(s)
		w.tracked[s] = &svcWatch{cur: n, min: n}
	}
}

// readings are the window's minimum and current count per Service.
type reading struct {
	Service           string
	Min, Now, Changes int
}

func (w *endpointWatch) readings() []reading {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []reading
	for s, t := range w.tracked {
		out = append(out, reading{Service: s, Min: t.min, Now: w.ready(s), Changes: t.changes})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// count is a Service's ready endpoints as of the last event.
func (w *endpointWatch) count(svc string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready(svc)
}

// debug (REVSHIFT_REHEARSE_DEBUG=1) prints every EndpointSlice event the
// watch counts, with its time, to stderr.
var debug = os.Getenv("REVSHIFT_REHEARSE_DEBUG") != ""

// waitEndpoints waits until the EndpointSlice controller has caught up with
// the pods: each Service's ready endpoints, as the watch saw them, are its
// ready selected pods.
func (r *run) waitEndpoints(ctx context.Context, eps *endpointWatch, svcs []string) error {
	return waitFor(ctx, 30*time.Second, func() (bool, error) {
		for _, key := range svcs {
			ns, name, _ := strings.Cut(key, "/")
			svc, err := r.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			} else if err != nil {
				return false, err
			}
			want := 0
			if len(svc.Spec.Selector) > 0 {
				pods, err := r.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
				if err != nil {
					return false, err
				}
				for i := range pods.Items {
					if podReady(&pods.Items[i]) && pods.Items[i].DeletionTimestamp == nil {
						want++
					}
				}
			}
			if eps.count(key) != want {
				return false, nil
			}
		}
		return true, nil
	}, "the EndpointSlices of "+strings.Join(svcs, ", ")+" to list their ready pods")
}

// productionServices are the Services that select a gateway's pods in the
// running state (mesh.Model.ProductionServices), "ns/name", sorted.
func productionServices(m *mesh.Model) []string {
	var out []string
	for _, s := range m.ProductionServices() {
		out = append(out, s.ID.Namespace+"/"+s.ID.Name)
	}
	sort.Strings(out)
	return out
}
