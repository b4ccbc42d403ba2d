package mesh

import (
	"fmt"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// RequiredLabel is a label a pod must carry to be selected, and the
// selectors (Services, Istio Gateway resources) that require it.
type RequiredLabel struct {
	Key, Value string
	From       []ID
}

// RequiredPodLabels answers "which labels must a pod carry so that every one
// of these Services and Istio Gateway resources selects it": the union of
// their selectors, sorted by key, each with the objects that ask for it. A
// key required with two different values is an error naming both objects
// (no pod can carry both).
func RequiredPodLabels(services []*Service, gateways []*IstioGateway) ([]RequiredLabel, error) {
	type src struct {
		id  ID
		sel map[string]string
	}
	var srcs []src
	for _, s := range services {
		srcs = append(srcs, src{s.ID, s.Selector})
	}
	for _, g := range gateways {
		srcs = append(srcs, src{g.ID, g.Selector})
	}
	byKey := map[string]*RequiredLabel{}
	for _, s := range srcs {
		keys := make([]string, 0, len(s.sel))
		for k := range s.sel {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := s.sel[k]
			r := byKey[k]
			if r == nil {
				byKey[k] = &RequiredLabel{Key: k, Value: v, From: []ID{s.id}}
				continue
			}
			if r.Value != v {
				return nil, fmt.Errorf("%s selects %s=%s but %s selects %s=%s: no pod can be selected by both", r.From[0], k, r.Value, s.id, k, v)
			}
			r.From = append(r.From, s.id)
		}
	}
	out := make([]RequiredLabel, 0, len(byKey))
	for _, r := range byKey {
		sort.Slice(r.From, func(i, j int) bool { return r.From[i].Less(r.From[j]) })
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// SelectsPodsOf reports whether w's spec.selector matches the pod template
// labels of other (a Deployment whose selector matches another's pods would
// count them as its own; Kubernetes asks for non-overlapping selectors).
func (w *Workload) SelectsPodsOf(other *Workload) bool {
	return w.Selector.Matches(labels.Set(other.PodLabels))
}

// MatchLabels returns spec.selector.matchLabels as written (nil when none).
// It reads the node (see SelectorNode).
func (w *Workload) MatchLabels() map[string]string {
	m, _ := stringMap(lookup(w.SelectorNode(), "matchLabels"), "spec.selector.matchLabels")
	return m
}

// SelectorNode returns spec.selector as the node holds it now, for
// immutability checks and messages. It materializes the workload's item:
// the model keeps only the parsed Selector, not the YAML.
func (w *Workload) SelectorNode() *yaml.Node {
	n := w.Node()
	if n == nil {
		return nil
	}
	return lookup(n.YNode(), "spec", "selector")
}

// PortConflict is a breach of invariant 3: two Services select the same pods
// and map the same port to different targetPorts. Pilot builds a gateway
// listener on the targetPort of one Service that selects the pod on the
// Gateway's port and logs "found 2 services on port N"
// (pilot/pkg/networking/core/v1alpha3/gateway.go, buildGatewayListeners).
type PortConflict struct {
	Port           int64
	A, B           *Service
	TargetA        IntOrString
	TargetB        IntOrString
	ResolvedA      int64
	ResolvedB      int64
	ResolvedInPodA bool
}

func (c PortConflict) String() string {
	return fmt.Sprintf("%s maps port %d to %s but %s maps it to %s", c.A.ID, c.Port, c.TargetA, c.B.ID, c.TargetB)
}

// PortConflicts returns the port conflicts among the Services that select
// the workload's pods. Targets are compared as the pod resolves them: a named
// targetPort and a number that resolve to the same containerPort agree.
func (m *Model) PortConflicts(w *Workload) []PortConflict {
	svcs := slices.Clone(w.Services())
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].ID.Less(svcs[j].ID) })
	resolve := func(t IntOrString) (int64, string) {
		if !t.IsName {
			return t.Num, ""
		}
		if n, ok := w.ServesPort(t); ok {
			return n, ""
		}
		return -1, t.Name
	}
	var out []PortConflict
	for i, a := range svcs {
		for _, b := range svcs[i+1:] {
			for _, pa := range a.Ports {
				pb, ok := b.Port(pa.Port)
				if !ok {
					continue
				}
				na, sa := resolve(pa.TargetPort)
				nb, sb := resolve(pb.TargetPort)
				if na != nb || sa != sb {
					out = append(out, PortConflict{Port: pa.Port, A: a, B: b, TargetA: pa.TargetPort, TargetB: pb.TargetPort})
				}
			}
		}
	}
	return out
}
