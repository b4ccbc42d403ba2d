package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/plan"
	"github.com/revshift/revshift/internal/verify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// These tests judge planned states by what the renders say, not by what the
// verifier says: every workload that runs in a state is bound, under the
// names it runs with, by every binding its own render gives its
// ServiceAccount; and the last state holds every object of the target
// render. Two planned upgrades once broke the new istiod's RBAC while every
// verifier rule held.

// hop is a render pair planned by the tests.
type hop struct {
	name     string
	from, to func(t *testing.T) string
	rev      string
}

func modernFrom(t *testing.T) string {
	return renders(t, "1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.29.6/gateways.yaml")
}

func modernTo(t *testing.T) string {
	return renders(t, "1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml", "1.29-to-1.31-modern/1.31.0/gateways.rev-1-31-0.yaml")
}

// hop17To is a 1.6.14 -> 1.7.x-shaped hop made from the 1.6.14 revision
// render: we hold no 1.7 render, but a 1.7 revision render carries the same
// ClusterRoleBinding istiod-pilot-istio-system (ClusterRole
// istiod-istio-system to istiod-service-account), and istiod-1-7-8 runs as
// istiod-service-account as well. A prune that deletes the binding with the
// running revision leaves the new istiod without cluster-wide permissions.
func hop17To(t *testing.T) string {
	dir := seedTo(t)
	for _, f := range []string{"control-plane.rev-1-6-14.yaml", "gateways.rev-1-6-14.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		s := strings.NewReplacer("1-6-14", "1-7-8", "1.6.14", "1.7.8").Replace(string(data))
		require.NoError(t, os.Remove(filepath.Join(dir, f)))
		require.NoError(t, os.WriteFile(filepath.Join(dir, strings.ReplaceAll(f, "1-6-14", "1-7-8")), []byte(s), 0o644))
	}
	return dir
}

var hops = []hop{
	{"seed 1.5.10 -> 1.6.14", seedFrom, seedTo, "1-6-14"},
	{"modern 1.29.6 -> 1.31.0", modernFrom, modernTo, "1-31-0"},
	{"1.6.14 -> 1.7-shaped", seedTo, hop17To, "1-7-8"},
}

// plannedHop is a hop planned and built once for all the tests here.
type plannedHop struct {
	states          []verify.State
	running, target *mesh.Model
	renders         *verify.Renders
}

var plannedHops = map[string]*plannedHop{}

// planned plans a hop and builds every state (once per test binary).
func planned(t *testing.T, h hop) (states []verify.State, running, target *mesh.Model) {
	t.Helper()
	if p := plannedHops[h.name]; p != nil {
		return p.states, p.running, p.target
	}
	from, to := h.from(t), h.to(t)
	out := filepath.Join(t.TempDir(), "plan")
	code, stdout, stderr := runPlan(t, "--from", from, "--to", to, "--out", out, "--no-verify")
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	states, err := BuildStates(out, []string{binDir})
	require.NoError(t, err)
	renders, err := ReadRenders(out)
	require.NoError(t, err)
	p := &plannedHop{states, renderModel(t, from), renderModel(t, to), renders}
	plannedHops[h.name] = p
	return p.states, p.running, p.target
}

func renderModel(t *testing.T, dir string) *mesh.Model {
	t.Helper()
	fs, err := plan.ReadDir(dir)
	require.NoError(t, err)
	var items []*mesh.Item
	for _, f := range fs {
		items = append(items, mesh.NewItems(f.Nodes)...)
	}
	m, err := mesh.BuildItems(items)
	require.NoError(t, err)
	return m
}

// renderedAs is the identity an object of a state was rendered under: its
// own, or the one its canary-of annotation records.
func renderedAs(o *mesh.Object) mesh.ID {
	if of, ok := o.CanaryOf(); ok {
		return of
	}
	return o.ID
}

// stateNames maps each rendered identity to the object of the state that
// stands for it, preferring the object of that very identity.
func stateNames(m *mesh.Model) map[mesh.ID]*mesh.Object {
	out := map[mesh.ID]*mesh.Object{}
	for _, o := range m.Objects {
		if _, canary := o.CanaryOf(); canary {
			if _, taken := out[renderedAs(o)]; taken {
				continue
			}
		}
		out[renderedAs(o)] = o
	}
	return out
}

// TestConformancePlannedRBAC: in every planned state, every running
// Deployment with a ServiceAccount keeps every binding its render gives
// that account, with the same role (both under the names the state uses).
func TestConformancePlannedRBAC(t *testing.T) {
	for _, h := range hops {
		t.Run(h.name, func(t *testing.T) {
			states, running, target := planned(t, h)
			for _, s := range states {
				canaries := map[mesh.ID]*mesh.Object{}
				for _, o := range s.Model.Objects {
					if _, ok := o.CanaryOf(); ok {
						canaries[renderedAs(o)] = o
					}
				}
				for _, w := range s.Model.Workloads {
					if s.Model.MinReplicas(w) == 0 || w.ServiceAccount == "" {
						continue
					}
					render := target
					if _, ok := w.CanaryOf(); !ok && running.Has(w.ID) {
						render = running
					}
					rw := render.Workload(renderedAs(w.Object))
					require.NotNil(t, rw, "%s: %s is in neither render", s.Name, w.ID)
					name := func(id mesh.ID) string {
						if c := canaries[id]; c != nil && render == target {
							return c.ID.Name
						}
						return id.Name
					}
					sa := mesh.Subject{Kind: "ServiceAccount", Namespace: rw.ID.Namespace, Name: rw.ServiceAccount}
					for _, b := range render.Bindings {
						if !hasSubject(b, sa) {
							continue
						}
						want := mesh.Subject{Kind: "ServiceAccount", Namespace: w.ID.Namespace, Name: w.ServiceAccount}
						bid := b.ID
						bid.Name = name(b.ID)
						got := s.Model.BindingOf(bid)
						if !assert.NotNil(t, got, "%s: %s runs as %s, which its render binds with %s; the state has no %s", s.Name, w.ID, w.ServiceAccount, b.ID, bid) {
							continue
						}
						assert.True(t, hasSubject(got, want), "%s: %s no longer binds %s (running %s)", s.Name, bid, want, w.ID)
						role := b.RoleRef
						role.Name = name(b.RoleRef)
						assert.Equal(t, role, got.RoleRef, "%s: %s", s.Name, bid)
					}
				}
			}
		})
	}
}

func hasSubject(b *mesh.Binding, s mesh.Subject) bool {
	for _, x := range b.Subjects {
		if x == s {
			return true
		}
	}
	return false
}

// TestConformancePlannedConvergence: the last state holds every object of
// the target render, under its own name or its canary name, and every
// ClusterRole or Role that both renders hold has the target's rules there
// (the union of both revisions' rules ends with the running revision).
func TestConformancePlannedConvergence(t *testing.T) {
	for _, h := range hops {
		t.Run(h.name, func(t *testing.T) {
			states, running, target := planned(t, h)
			last := states[len(states)-1].Model
			have := stateNames(last)
			for _, o := range target.Objects {
				got := have[o.ID]
				if !assert.NotNil(t, got, "the last state lacks %s of the target render", o.ID) {
					continue
				}
				if mesh.IsRole(o.ID) && running.Has(o.ID) {
					want, err := mesh.RoleRules(o)
					require.NoError(t, err)
					rules, err := mesh.RoleRules(got)
					require.NoError(t, err)
					assert.Equal(t, len(want), len(rules), "%s: the last state keeps rules beyond the target's", o.ID)
				}
			}
		})
	}
}

// The traps the issue found, named: each fails on the code that planned
// them.
func TestConformancePlannedTraps(t *testing.T) {
	t.Run("modern: no 1-31-0 binding names the running istiod's account", func(t *testing.T) {
		states, _, _ := planned(t, hops[1])
		for _, s := range states {
			for _, b := range s.Model.Bindings {
				if !strings.Contains(b.ID.Name, "1-31-0") {
					continue
				}
				assert.False(t, hasSubject(b, mesh.Subject{Kind: "ServiceAccount", Namespace: "istio-system", Name: "istiod"}), "%s: %s binds istio-system/istiod", s.Name, b.ID)
			}
		}
	})
	t.Run("modern: the running default gateway keeps its istiod", func(t *testing.T) {
		states, _, _ := planned(t, hops[1])
		for _, s := range states {
			gw := s.Model.Deployment("istio-system", "istio-ingressgateway")
			if gw == nil || s.Model.MinReplicas(gw) == 0 {
				continue
			}
			svc := s.Model.Service("istio-system", "istiod")
			require.NotNil(t, svc, s.Name)
			assert.Contains(t, svc.Selected(), s.Model.Deployment("istio-system", "istiod"), "%s: the 1.29 istio-ingressgateway runs and dials Service istiod, which must still select the 1.29 istiod", s.Name)
		}
	})
	t.Run("seed: the last state holds istio-reader-service-account and its binding", func(t *testing.T) {
		states, _, _ := planned(t, hops[0])
		last := states[len(states)-1].Model
		assert.True(t, last.Has(mesh.ID{Kind: "ServiceAccount", Namespace: "istio-system", Name: "istio-reader-service-account"}))
		b := last.BindingOf(mesh.ID{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: "istio-reader-istio-system"})
		require.NotNil(t, b)
		assert.True(t, hasSubject(b, mesh.Subject{Kind: "ServiceAccount", Namespace: "istio-system", Name: "istio-reader-service-account"}))
	})
	t.Run("1.7-shaped: the last state binds istiod-service-account cluster-wide", func(t *testing.T) {
		states, _, _ := planned(t, hops[2])
		last := states[len(states)-1].Model
		b := last.BindingOf(mesh.ID{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: "istiod-pilot-istio-system"})
		require.NotNil(t, b, "the prune deleted istiod-pilot-istio-system, which istiod-1-7-8 runs on")
		assert.True(t, hasSubject(b, mesh.Subject{Kind: "ServiceAccount", Namespace: "istio-system", Name: "istiod-service-account"}))
		assert.NotNil(t, last.Deployment("istio-system", "istiod-1-7-8"))
	})
}

// rebuild models a state again from copies of its objects, each passed
// through f (nil drops it).
func rebuild(t *testing.T, m *mesh.Model, f func(*yaml.RNode) *yaml.RNode) *mesh.Model {
	t.Helper()
	var nodes []*yaml.RNode
	for _, o := range m.Objects {
		if n := f(o.Node().Copy()); n != nil {
			nodes = append(nodes, n)
		}
	}
	out, err := mesh.Build(nodes)
	require.NoError(t, err)
	return out
}

// findings runs the verifier on states, with the plan's renders, and
// returns the error findings of one rule.
func findings(t *testing.T, states []verify.State, renders *verify.Renders, rule string) []verify.Finding {
	t.Helper()
	rep, err := verify.CheckPlan(states, verify.DefaultOrdering, renders)
	require.NoError(t, err)
	var out []verify.Finding
	for _, f := range rep.Findings() {
		if f.Rule == rule && f.Severity == verify.Error {
			out = append(out, f)
		}
	}
	return out
}

// The verifier rejects each loss the planned upgrades once had, on the
// real renders: the planned states, with the loss put back in.
func TestConformanceVerifierRejectsTheLosses(t *testing.T) {
	t.Run("RS021: the 1-31-0 ClusterRoleBindings bound to istiod from step 03 on", func(t *testing.T) {
		p := plannedFor(t, hops[1])
		states := append([]verify.State(nil), p.states...)
		for i := 3; i < len(states); i++ {
			states[i].Model = rebuild(t, states[i].Model, func(n *yaml.RNode) *yaml.RNode {
				if n.GetKind() == "ClusterRoleBinding" && strings.Contains(n.GetName(), "-1-31-0-") {
					s := strings.ReplaceAll(n.MustString(), "name: istiod-1-31-0\n", "name: istiod\n")
					return yaml.MustParse(s)
				}
				return n
			})
		}
		fs := findings(t, states, p.renders, "RS021")
		require.NotEmpty(t, fs, "RS021 must reject the bindings moved to the old ServiceAccount")
		assert.Equal(t, "03-canary-gateways", fs[0].Step)
		assert.Contains(t, fs[0].Message, "istiod-1-31-0")
	})
	t.Run("RS021: the 1.7-shaped prune deletes istiod-pilot-istio-system", func(t *testing.T) {
		p := plannedFor(t, hops[2])
		states := append([]verify.State(nil), p.states...)
		last := len(states) - 1
		states[last].Model = rebuild(t, states[last].Model, func(n *yaml.RNode) *yaml.RNode {
			if n.GetKind() == "ClusterRoleBinding" && n.GetName() == "istiod-pilot-istio-system" {
				return nil
			}
			return n
		})
		fs := findings(t, states, p.renders, "RS021")
		require.NotEmpty(t, fs)
		assert.Contains(t, fs[0].Message, "istiod-service-account")
	})
	t.Run("RS022: the seed's last state without istio-reader-service-account and its binding", func(t *testing.T) {
		p := plannedFor(t, hops[0])
		states := append([]verify.State(nil), p.states...)
		last := len(states) - 1
		states[last].Model = rebuild(t, states[last].Model, func(n *yaml.RNode) *yaml.RNode {
			if strings.HasPrefix(n.GetName(), "istio-reader-") && (n.GetKind() == "ServiceAccount" || n.GetKind() == "ClusterRoleBinding") {
				return nil
			}
			return n
		})
		fs := findings(t, states, p.renders, "RS022")
		require.Len(t, fs, 2)
		assert.Contains(t, fs[0].Message+fs[1].Message, "istio-reader-service-account")
		assert.Contains(t, fs[0].Message+fs[1].Message, "istio-reader-istio-system")
	})
	t.Run("RS023: Service istiod repointed to 1-31-0 while the 1.29 default gateway runs", func(t *testing.T) {
		p := plannedFor(t, hops[1])
		states := append([]verify.State(nil), p.states...)
		for i := 3; i < len(states); i++ {
			gw := states[i].Model.Deployment("istio-system", "istio-ingressgateway")
			if gw == nil || states[i].Model.MinReplicas(gw) == 0 {
				break
			}
			states[i].Model = rebuild(t, states[i].Model, func(n *yaml.RNode) *yaml.RNode {
				if n.GetKind() == "Service" && n.GetNamespace() == "istio-system" && n.GetName() == "istiod" {
					// What webhook-continuity does to it, four steps early.
					require.NoError(t, n.PipeE(yaml.Lookup("spec"), yaml.SetField("selector", yaml.NewMapRNode(&map[string]string{"app": "istiod", "istio.io/rev": "1-31-0"}))))
				}
				return n
			})
		}
		fs := findings(t, states, p.renders, "RS023")
		require.NotEmpty(t, fs, "RS023 must reject a running gateway moved to the new istiod in place")
		var msgs []string
		for _, f := range fs {
			assert.Equal(t, "03-canary-gateways", f.Step)
			msgs = append(msgs, f.Message)
		}
		assert.Contains(t, strings.Join(msgs, "\n"), "gateway Deployment.apps/istio-system/istio-ingressgateway dials Service/istio-system/istiod")
		assert.Contains(t, strings.Join(msgs, "\n"), "now reaches Deployment.apps/istio-system/istiod-1-31-0")
	})
	t.Run("the planned sequences themselves hold RS021, RS022 and RS023", func(t *testing.T) {
		for _, h := range hops {
			p := plannedFor(t, h)
			for _, rule := range []string{"RS021", "RS022", "RS023"} {
				assert.Empty(t, findings(t, p.states, p.renders, rule), "%s %s", h.name, rule)
			}
		}
	})
}

func plannedFor(t *testing.T, h hop) *plannedHop {
	t.Helper()
	planned(t, h)
	return plannedHops[h.name]
}
