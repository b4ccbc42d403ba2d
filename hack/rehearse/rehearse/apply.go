package rehearse

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/revshift/revshift/internal/mesh"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Applier names how a step reaches the cluster.
type Applier string

const (
	// Flux applies as kustomize-controller does (github.com/fluxcd/pkg/ssa):
	// server-side apply in stages, CRDs, ClusterRoles and Namespaces first,
	// then everything else; then it prunes what the step removed, except
	// objects annotated kustomize.toolkit.fluxcd.io/prune: disabled.
	Flux Applier = "flux"
	// Kubectl applies everything in one pass and deletes what the step
	// removed, as `kubectl apply --server-side` followed by a delete would.
	Kubectl Applier = "kubectl"
	// ArgoCD applies one sync wave (argocd.argoproj.io/sync-wave) at a time,
	// lowest first, waiting for each wave's Deployments to roll out, then
	// prunes, except objects whose sync-options say Prune=false.
	ArgoCD Applier = "argocd"
)

// ParseApplier reads --applier.
func ParseApplier(s string) (Applier, error) {
	switch a := Applier(s); a {
	case Flux, Kubectl, ArgoCD:
		return a, nil
	}
	return "", fmt.Errorf("--applier %q: want flux, kubectl or argocd", s)
}

// applyResult is what applying one step did.
type applyResult struct {
	applied, pruned int
	err             error
	object          string // the object the error is about, when known
}

// apply brings the cluster from prev (nil for the running state) to st.
func (r *run) apply(ctx context.Context, prev, st *State, how Applier) applyResult {
	opts := ssa.DefaultApplyOptions()
	// Force would delete and recreate objects whose immutable fields change,
	// which is exactly what the rehearsal must see refused.
	opts.Force = false
	opts.WaitTimeout = time.Minute
	objs := deepCopy(st.Objects)
	var res applyResult
	var cs *ssa.ChangeSet
	var err error
	switch {
	case prev == nil || how == Flux:
		cs, err = r.rm.ApplyAllStaged(ctx, objs, opts)
	case how == Kubectl:
		cs, err = r.rm.ApplyAll(ctx, objs, opts)
	case how == ArgoCD:
		for _, wave := range syncWaves(objs) {
			cs, err = r.rm.ApplyAllStaged(ctx, wave, opts)
			if err != nil {
				break
			}
			res.applied += len(cs.Entries)
			if err = r.waitRollouts(ctx, wave, nil); err != nil {
				break
			}
		}
		cs = nil
	}
	if cs != nil {
		res.applied += len(cs.Entries)
	}
	if err != nil {
		res.err, res.object = err, erroredObject(err)
		return res
	}
	if prev == nil {
		return res
	}
	removed := removedObjects(prev, st, how)
	if len(removed) > 0 {
		if _, err := r.rm.DeleteAll(ctx, removed, ssa.DefaultDeleteOptions()); err != nil {
			res.err = fmt.Errorf("prune: %w", err)
			return res
		}
	}
	res.pruned = len(removed)
	return res
}

func deepCopy(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
	}
	return out
}

// removedObjects are the objects of prev that st no longer holds (by group,
// kind, namespace and name) and that the applier prunes.
func removedObjects(prev, st *State, how Applier) []*unstructured.Unstructured {
	keep := map[mesh.ID]bool{}
	for _, o := range st.Objects {
		keep[keyOf(o)] = true
	}
	var out []*unstructured.Unstructured
	for _, o := range prev.Objects {
		if keep[keyOf(o)] || pruneDisabled(o, how) {
			continue
		}
		out = append(out, o.DeepCopy())
	}
	return out
}

func pruneDisabled(o *unstructured.Unstructured, how Applier) bool {
	a := o.GetAnnotations()
	switch how {
	case Flux:
		return a["kustomize.toolkit.fluxcd.io/prune"] == "disabled"
	case ArgoCD:
		return strings.Contains(a["argocd.argoproj.io/sync-options"], "Prune=false")
	}
	return false
}

// syncWaves groups objects by argocd.argoproj.io/sync-wave (0 when absent),
// lowest wave first, as Argo CD's sync does.
func syncWaves(objs []*unstructured.Unstructured) [][]*unstructured.Unstructured {
	byWave := map[int][]*unstructured.Unstructured{}
	for _, o := range objs {
		w, _ := strconv.Atoi(o.GetAnnotations()["argocd.argoproj.io/sync-wave"])
		byWave[w] = append(byWave[w], o)
	}
	var waves []int
	for w := range byWave {
		waves = append(waves, w)
	}
	sort.Ints(waves)
	out := make([][]*unstructured.Unstructured, len(waves))
	for i, w := range waves {
		out[i] = byWave[w]
	}
	return out
}

// erroredObject picks the object an ssa error names ("Kind/ns/name ...").
func erroredObject(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, ' '); i > 0 && strings.Contains(msg[:i], "/") {
		return msg[:i]
	}
	return ""
}
