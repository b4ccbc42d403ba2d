// Package rehearse applies every step of a revshift plan, in order, to a
// disposable control plane on loopback (etcd, kube-apiserver and
// kube-controller-manager, with a simulated kubelet), as a GitOps
// controller would, and lets Kubernetes judge each step: the API server
// accepts it, the authorizer grants each running istiod and gateway what
// its render grants, the production gateway Services keep their ready
// endpoints at every change, webhooks reach a running istiod, and a gateway
// pod can be evicted.
package rehearse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/revshift/revshift/internal/cli"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/verify"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Options configure a rehearsal.
type Options struct {
	// Assets is --assets; empty: $KUBEBUILDER_ASSETS, else bin/k8s.
	Assets string
	// Kubernetes is --kubernetes (1.24 or 1.34); empty: chosen by the APIs
	// the plan uses.
	Kubernetes string
	Applier    Applier
	// Kustomize is the kustomize binary; revshift must be on PATH.
	Kustomize string
	// Timeout bounds each step's rollout and gate.
	Timeout time.Duration
	// ReadyAfter is how long a pod takes to become Ready.
	ReadyAfter time.Duration
	// LogDir receives the control-plane logs.
	LogDir string
	// Progress receives a line per step as it goes (may be nil).
	Progress io.Writer
}

// versions are the Kubernetes releases whose assets `make k8s` and
// `make k8s-1.24` build.
var versions = map[string]string{"1.34": "1.34.3", "1.24": "1.24.17", "1.21": "1.21.14"}

type run struct {
	opts      Options
	cp        *ControlPlane
	cs        kubernetes.Interface
	rm        *ssa.ResourceManager
	mapper    meta.RESTMapper
	renders   *verify.Renders
	targetRev string
	report    *Report
	minor     int
}

// Run rehearses the plan in planDir.
func Run(ctx context.Context, planDir string, opts Options) (*Report, error) {
	start := time.Now()
	dirs, err := Steps(planDir)
	if err != nil {
		return nil, err
	}
	var states []*State
	for _, d := range dirs {
		st, err := buildStep(opts.Kustomize, d)
		if err != nil {
			return nil, err
		}
		states = append(states, st)
	}
	renders, err := cli.ReadRenders(planDir)
	if err != nil {
		return nil, err
	}
	version, err := chooseVersion(opts.Kubernetes, states)
	if err != nil {
		return nil, err
	}
	assets, err := Assets(opts.Assets, version)
	if err != nil {
		return nil, err
	}
	if opts.LogDir == "" {
		opts.LogDir, err = os.MkdirTemp("", "revshift-rehearse-logs-")
	} else {
		err = os.MkdirAll(opts.LogDir, 0o755)
	}
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, renders: renders, report: &Report{Applier: opts.Applier, Baseline: map[string]int{}}}
	if renders != nil && renders.Target != nil {
		for _, d := range renders.Target.Istiods {
			if d.Revision != "" {
				r.targetRev = d.Revision
			}
		}
	}
	r.progress("starting etcd, kube-apiserver and kube-controller-manager from %s (logs in %s)", assets, opts.LogDir)
	r.cp, err = StartControlPlane(ctx, assets, opts.LogDir)
	if err != nil {
		return nil, err
	}
	defer r.cp.Stop()
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	kubelet := &Kubelet{Client: r.cs, Node: "rehearse-node", ReadyAfter: opts.ReadyAfter, TerminateAfter: time.Second}
	if err := kubelet.Start(ctx); err != nil {
		return nil, err
	}
	if err := r.createNamespaces(ctx, states); err != nil {
		return nil, err
	}
	eps, err := watchEndpoints(ctx, r.cs)
	if err != nil {
		return nil, err
	}
	r.rehearse(ctx, states, eps)
	r.report.Elapsed = time.Since(start)
	return r.report, nil
}

func chooseVersion(flag string, states []*State) (string, error) {
	if flag != "" {
		v, ok := versions[flag]
		if !ok {
			return "", fmt.Errorf("--kubernetes %q: want 1.21, 1.24 or 1.34", flag)
		}
		return v, nil
	}
	// The newest version that serves every API the plan uses.
	need, _ := NeededMinor(states)
	best := versions["1.34"]
	if need != 0 && need < 34 {
		best = ""
		bestMinor := 0
		for m, v := range versions {
			var minor int
			if _, err := fmt.Sscanf(m, "1.%d", &minor); err != nil {
				continue
			}
			if minor <= need && minor > bestMinor {
				best, bestMinor = v, minor
			}
		}
		if best == "" {
			return "", fmt.Errorf("the plan uses APIs that Kubernetes removed in 1.%d; rehearse has no assets that old", need+1)
		}
	}
	return best, nil
}

func (r *run) progress(format string, args ...any) {
	if r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, format+"\n", args...)
	}
}

func (r *run) connect(ctx context.Context) error {
	cfg := *r.cp.Config
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		return err
	}
	r.cs = cs
	dc, err := discovery.NewDiscoveryClientForConfig(&cfg)
	if err != nil {
		return err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return err
	}
	r.report.Kubernetes = v.GitVersion
	if _, err := fmt.Sscanf(v.Minor, "%d", &r.minor); err != nil {
		return fmt.Errorf("the apiserver's minor version %q: %v", v.Minor, err)
	}
	httpClient, err := rest.HTTPClientFor(&cfg)
	if err != nil {
		return err
	}
	r.mapper, err = apiutil.NewDynamicRESTMapper(&cfg, httpClient)
	if err != nil {
		return err
	}
	c, err := client.New(&cfg, client.Options{Mapper: r.mapper})
	if err != nil {
		return err
	}
	r.rm = ssa.NewResourceManager(c, polling.NewStatusPoller(c, r.mapper, polling.Options{}), ssa.Owner{Field: "revshift-rehearse", Group: "rehearse.revshift.dev"})
	// The controller-manager creates each namespace's default ServiceAccount;
	// wait for kube-system's, as a sign that its controllers run.
	return waitFor(ctx, 90*time.Second, func() (bool, error) {
		if err := r.cp.Alive(); err != nil {
			return false, err
		}
		_, err := cs.CoreV1().ServiceAccounts("kube-system").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}, "the controller-manager to create kube-system/default")
}

// createNamespaces creates the namespaces the states put objects in but
// never define: a cluster has them (modern istioctl output has no Namespace
// object for istio-system).
func (r *run) createNamespaces(ctx context.Context, states []*State) error {
	defined, used := map[string]bool{}, map[string]bool{}
	for _, st := range states {
		for _, o := range st.Objects {
			if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
				defined[o.GetName()] = true
			}
			if ns := o.GetNamespace(); ns != "" {
				used[ns] = true
			}
		}
	}
	var names []string
	for ns := range used {
		if !defined[ns] {
			names = append(names, ns)
		}
	}
	sort.Strings(names)
	for _, ns := range names {
		_, err := r.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	return nil
}

func (r *run) add(f Finding) {
	if f.Severity == "" {
		f.Severity = Error
	}
	r.report.Findings = append(r.report.Findings, f)
}

// rehearse applies the states in order. The first is the running state,
// applied as the cluster already has it; every later one is a step.
func (r *run) rehearse(ctx context.Context, states []*State, eps *endpointWatch) {
	production := productionServices(states[0].Model)
	for i, st := range states {
		sr := &StepReport{Step: st.Step, Objects: len(st.Objects)}
		r.report.Steps = append(r.report.Steps, sr)
		var prev *State
		if i > 0 {
			prev = states[i-1]
		}
		if bad := unservedAPIs(st.Objects, r.served, r.minor); len(bad) > 0 {
			ids := make([]mesh.ID, 0, len(bad))
			for id := range bad {
				ids = append(ids, id)
			}
			sort.Slice(ids, func(a, b int) bool { return ids[a].String() < ids[b].String() })
			for _, id := range ids {
				r.add(Finding{Step: st.Step, Rule: RuleServed, Object: id.String(), Message: bad[id]})
			}
			r.notRun(states[i+1:])
			return
		}
		eps.open(production)
		t0 := time.Now()
		res := r.apply(ctx, prev, st, r.opts.Applier)
		sr.Apply, sr.Pruned = time.Since(t0), res.pruned
		if res.err != nil {
			r.add(Finding{Step: st.Step, Rule: RuleAccepted, Object: res.object, Message: res.err.Error()})
			r.notRun(states[i+1:])
			return
		}
		gate, err := readGate(st.Dir)
		if err != nil {
			r.add(Finding{Step: st.Step, Rule: RuleGate, Message: err.Error()})
		}
		if i == 0 {
			// The cluster has run this state for a while: its HPAs have
			// acted.
			gate = append(gate, hpaMinimums(st.Objects)...)
		}
		if err := r.waitRollouts(ctx, st.Objects, gate); err != nil {
			r.add(Finding{Step: st.Step, Rule: RuleGate, Message: err.Error()})
			if !errors.Is(err, errTimeout) {
				r.notRun(states[i+1:])
				return
			}
		}
		if err := r.waitEndpoints(ctx, eps, production); err != nil {
			r.add(Finding{Step: st.Step, Rule: RuleEndpoints, Message: err.Error()})
		}
		if err := r.waitPDBs(ctx); err != nil {
			r.add(Finding{Step: st.Step, Rule: RuleEviction, Message: err.Error()})
		}
		sr.Settle = time.Since(t0)
		sr.Endpoints = eps.readings()
		if i == 0 {
			for j := range sr.Endpoints {
				sr.Endpoints[j].Min = sr.Endpoints[j].Now
			}
		}
		for _, e := range sr.Endpoints {
			if i == 0 {
				r.report.Baseline[e.Service] = e.Now
				continue
			}
			if want := r.report.Baseline[e.Service]; e.Min < want {
				r.add(Finding{Step: st.Step, Rule: RuleEndpoints, Object: "Service/" + e.Service,
					Message: fmt.Sprintf("%d ready endpoint(s) at worst while the step applied and rolled out, fewer than the running state's %d (%d EndpointSlice changes seen)", e.Min, want, e.Changes)})
			}
		}
		rws := r.runningWorkloads(ctx, st)
		var fs []Finding
		sr.SARs, fs = r.checkRBAC(ctx, st, rws)
		for _, f := range fs {
			r.add(f)
		}
		sr.Webhooks, fs = r.checkWebhooks(ctx, st)
		for _, f := range fs {
			r.add(f)
		}
		for _, rw := range rws {
			if !rw.gateway {
				continue
			}
			pod, f := r.checkEviction(ctx, st, rw.w)
			if f != nil {
				r.add(*f)
			} else {
				sr.Evicted = append(sr.Evicted, pod)
			}
		}
		r.progress("%s: applied %d objects, pruned %d, settled in %s", st.Step, sr.Objects, sr.Pruned, sr.Settle.Round(100*time.Millisecond))
	}
}

func (r *run) notRun(rest []*State) {
	for _, st := range rest {
		r.report.Steps = append(r.report.Steps, &StepReport{Step: st.Step, NotRun: true})
	}
}

func (r *run) served(gvk schema.GroupVersionKind) bool {
	_, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	return err == nil
}
