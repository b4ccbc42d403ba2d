package plan

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/gate"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/verify"
)

// WriteGates writes NN-name/gate.yaml into every step directory, computed
// from the built states (states[i] is the build of Dirs()[i]), and sets
// each state's Gate, so that the verification that follows counts what
// the gates wait for (RS002).
func (p *Plan) WriteGates(states []verify.State) error {
	dirs := p.Dirs()
	if len(states) != len(dirs) {
		return fmt.Errorf("gates: %d built states for %d steps", len(states), len(dirs))
	}
	for i := range states {
		var prev *mesh.Model
		if i > 0 {
			prev = states[i-1].Model
		}
		g := gate.New(dirs[i], Rollouts(prev, states[i].Model))
		if err := gate.Write(filepath.Join(p.Opts.Out, dirs[i]), g); err != nil {
			return err
		}
		states[i].Gate = g
	}
	return nil
}

// Rollouts are what the step prev -> next must wait for: every Deployment
// of next that the step creates, or whose pod template, spec.replicas or
// HPA minReplicas it changes, with the ready replicas the plan relies on
// (Planned); a canary (mesh.AnnotationCanaryOf) at least as many as the
// gateway it is the canary of runs in prev. A Deployment left with 0 is
// not waited for: it has no ready replica to count. prev nil (the first
// state) waits for nothing. Sorted by namespace and name.
func Rollouts(prev, next *mesh.Model) []gate.Rollout {
	var out []gate.Rollout
	if prev == nil {
		return nil
	}
	for _, w := range next.Workloads {
		if w.ID.Kind != gate.KindDeployment {
			continue
		}
		n, desc := Planned(next, w)
		if n == 0 {
			continue
		}
		var changes []string
		pw := prev.Workload(w.ID)
		if pw == nil {
			changes = append(changes, "new Deployment")
		} else {
			if !sameTemplate(pw, w) {
				changes = append(changes, "pod template changed")
			}
			if a, b := replicasField(pw), replicasField(w); a != b {
				changes = append(changes, fmt.Sprintf("spec.replicas %s -> %s", a, b))
			}
			if a, b := hpaText(prev, pw), hpaText(next, w); a != b {
				changes = append(changes, fmt.Sprintf("HPA %s -> %s", a, b))
			}
		}
		if len(changes) == 0 {
			continue
		}
		reason := strings.Join(changes, ", ") + ", which runs " + count(n) + " (" + desc + ")"
		if of, ok := w.CanaryOf(); ok {
			if old := prev.Workload(of); old != nil {
				if on, odesc := Planned(prev, old); on > 0 {
					reason = fmt.Sprintf("canary of Deployment %s/%s, which runs %s (%s)", of.Namespace, of.Name, count(on), odesc)
					if n > on {
						reason += fmt.Sprintf("; its own: %s", desc)
					}
					n = max(n, on)
				}
			}
		}
		out = append(out, gate.Rollout{Kind: gate.KindDeployment, Namespace: w.ID.Namespace, Name: w.ID.Name, MinReadyReplicas: n, Reason: reason})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Planned is the number of ready replicas the plan relies on for the
// Deployment w of m, and where it comes from: max(spec.replicas, 1 when
// unset, and the minReplicas of an HPA targeting it). An explicit
// spec.replicas 0 is 0 whatever the HPA says: the HPA does not scale a
// target at zero ("scaling is disabled since the replica count of the
// target is zero", k8s.io/kubernetes pkg/controller/podautoscaler/
// horizontal.go).
func Planned(m *mesh.Model, w *mesh.Workload) (int64, string) {
	r := w.DesiredReplicas()
	rdesc := fmt.Sprintf("spec.replicas %d", r)
	if w.Replicas == nil {
		rdesc = "spec.replicas unset, so 1"
	}
	h := m.HPAFor(w)
	switch {
	case r == 0 || h == nil:
		return r, rdesc
	case h.MinReplicas >= r:
		return h.MinReplicas, fmt.Sprintf("HPA %s minReplicas %d", h.ID.Name, h.MinReplicas)
	}
	return r, fmt.Sprintf("%s, HPA %s minReplicas %d", rdesc, h.ID.Name, h.MinReplicas)
}

func count(n int64) string {
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}

func replicasField(w *mesh.Workload) string {
	if w.Replicas == nil {
		return "unset"
	}
	return fmt.Sprint(*w.Replicas)
}

func hpaText(m *mesh.Model, w *mesh.Workload) string {
	if h := m.HPAFor(w); h != nil {
		return fmt.Sprintf("minReplicas %d", h.MinReplicas)
	}
	return "none"
}

// sameTemplate compares the pod templates of two versions of a Deployment
// as the API server stores them (mesh.Plain: field order, styles and
// comments do not count).
func sameTemplate(a, b *mesh.Workload) bool {
	return reflect.DeepEqual(template(a), template(b))
}

func template(w *mesh.Workload) any {
	spec, _ := mesh.Plain(w.Node())["spec"].(map[string]any)
	return spec["template"]
}
