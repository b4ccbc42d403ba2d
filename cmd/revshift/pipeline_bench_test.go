package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/revshift/revshift/internal/cli"
	"github.com/revshift/revshift/internal/kbuild"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/meshgen"
	"github.com/revshift/revshift/internal/plan"
	"github.com/revshift/revshift/internal/step"
	"github.com/revshift/revshift/internal/verify"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// pipelineInput is a planned upgrade's prune step as kustomize hands it to
// its function: the input of the whole pipeline, and of each function in
// turn (the previous function's output).
type pipelineInput struct {
	name   string
	states []verify.State
	// built[i] is what kustomize's build of states[i] hands verify.
	built [][]*yaml.RNode
	// input[i] is the ResourceList function i of the prune step receives.
	input [][]byte
	kinds []string
}

// pipelineInputs plans generated upgrades of 1k and 10k objects (the
// scaling goal compares them) and records, for each function of the prune
// step's pipeline, the ResourceList it receives (the previous function's
// output), and every state of the plan. The items are what the steps'
// kustomizations hand their function (the running render carried by a
// ConfigMap, the target control plane, the target gateways suffixed), put
// together in-process: kustomize's own bookkeeping is O(n^2)
// (kustomize#5673) and would take minutes per build at 10k objects.
func pipelineInputs(b *testing.B) []pipelineInput {
	b.Helper()
	var out []pipelineInput
	for _, n := range upgradeSizes {
		out = append(out, pipelineInputOf(b, n.name, n.objects))
	}
	return out
}

var upgradeSizes = []struct {
	name    string
	objects int
}{{"up-1k", 1000}, {"up-10k", 10000}}

// pipelineInputOf builds one generated upgrade's pipeline inputs and states.
func pipelineInputOf(b *testing.B, name string, objects int) pipelineInput {
	b.Helper()
	tmp := b.TempDir()
	var out []pipelineInput
	for _, n := range []struct {
		name    string
		objects int
	}{{name, objects}} {
		u := meshgen.NewUpgrade(n.objects, "1-6-14")
		d := filepath.Join(tmp, n.name)
		files := map[string]string{
			"from/control-plane.yaml":          u.RunningControlPlane,
			"from/gateways.yaml":               u.RunningGateways,
			"to/control-plane.rev-1-6-14.yaml": u.TargetControlPlane,
			"to/gateways.rev-1-6-14.yaml":      u.TargetGateways,
		}
		for f, content := range files {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(d, f)), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, f), []byte(content), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		p, err := plan.New(plan.Options{From: filepath.Join(d, "from"), To: filepath.Join(d, "to"), Out: filepath.Join(d, "plan")})
		if err != nil {
			b.Fatal(err)
		}
		carrier, err := yaml.FromMap(map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "running-render", "annotations": map[string]any{
				"revshift.dev/running-render": "true", "config.kubernetes.io/local-config": "true"}},
			"data": map[string]any{"control-plane.yaml": u.RunningControlPlane, "gateways.yaml": u.RunningGateways},
		})
		if err != nil {
			b.Fatal(err)
		}
		parse := func(s string) []*yaml.RNode { return krmtest.ParseYAML(b, []byte(s)) }
		// The target gateways travel as revshift plan carries them.
		carry := func(name string, nodes []*yaml.RNode) *yaml.RNode {
			it, err := mesh.NewCarrier(name, mesh.AnnotationCanaryRender, nodes)
			if err != nil {
				b.Fatal(err)
			}
			return it.Node()
		}
		gateways := carry(plan.TargetGatewaysCarrier, parse(u.TargetGateways))
		defaultGateway := carry(plan.DefaultGatewayCarrier, p.DefaultGateway)
		pi := pipelineInput{name: n.name}
		for _, st := range p.Steps {
			var items []*yaml.RNode
			if st.Slug == "running" {
				items = append(parse(u.RunningControlPlane), parse(u.RunningGateways)...)
			} else {
				items = append([]*yaml.RNode{carrier.Copy()}, parse(u.TargetControlPlane)...)
				for _, r := range st.Resources {
					switch r {
					case "target-gateways":
						items = append(items, gateways.Copy())
					case "target-default-gateway":
						items = append(items, defaultGateway.Copy())
					}
				}
			}
			var calls []any
			for _, c := range st.Functions {
				calls = append(calls, map[string]any{"kind": c.Kind, "spec": c.Spec})
			}
			isLast := st.Slug == p.Steps[len(p.Steps)-1].Slug
			for i, c := range st.Functions {
				if !isLast {
					break
				}
				cfg, err := yaml.FromMap(map[string]any{"apiVersion": krm.APIVersion, "kind": c.Kind, "metadata": map[string]any{"name": "f"}, "spec": c.Spec})
				if err != nil {
					b.Fatal(err)
				}
				in, err := krm.WriteResourceList(copyAll(items), cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				pi.input = append(pi.input, in)
				pi.kinds = append(pi.kinds, fmt.Sprintf("%d-%s", i, c.Kind))
				items = runRL(b, in)
			}
			if !isLast && len(calls) > 0 {
				cfg, err := yaml.FromMap(map[string]any{"apiVersion": krm.APIVersion, "kind": step.Kind, "metadata": map[string]any{"name": st.Slug}, "spec": map[string]any{"functions": calls}})
				if err != nil {
					b.Fatal(err)
				}
				in, err := krm.WriteResourceList(items, cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				items = runRL(b, in)
			}
			var kept []*yaml.RNode
			for _, it := range items {
				if it.GetAnnotations()["config.kubernetes.io/local-config"] != "true" {
					kept = append(kept, it)
				}
			}
			m, err := mesh.Build(kept)
			if err != nil {
				b.Fatal(err)
			}
			pi.states = append(pi.states, verify.State{Name: st.Slug, Model: m})
			pi.built = append(pi.built, kept)
		}
		out = append(out, pi)
	}
	return out[0]
}

func copyAll(items []*yaml.RNode) []*yaml.RNode {
	out := make([]*yaml.RNode, len(items))
	for i, n := range items {
		out[i] = n.Copy()
	}
	return out
}

// runRL runs revshift fn on a ResourceList and returns the output items.
func runRL(b *testing.B, in []byte) []*yaml.RNode {
	b.Helper()
	raw, res, ok := krm.Run(krm.Processor(step.Transform), in)
	if !ok {
		b.Fatalf("%v", res)
	}
	rl, err := krm.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	items := make([]*yaml.RNode, len(rl.Items))
	for i, it := range rl.Items {
		items[i] = it.MoveToResourceNode()
	}
	return items
}

// BenchmarkFunctions measures each function of the prune step's pipeline on
// its own input, next to a plain kyaml parse and serialize of that same
// input (KyamlBaseline): `make bench` prints function / baseline (goal 1.5)
// and 10k / 1k (goal 11).
func BenchmarkFunctions(b *testing.B) {
	for _, n := range upgradeSizes {
		p := pipelineInputOf(b, n.name, n.objects)
		// The states are BenchmarkVerify's data, not these functions':
		// left live, every collection during a function would mark them
		// too (hundreds of MB at 10k), which a function process never does.
		p.states = nil
		runtime.GC()
		for i, in := range p.input {
			in := in
			b.Run(p.name+"/"+p.kinds[i], func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				for n := 0; n < b.N; n++ {
					if _, res, ok := krm.Run(krm.Processor(step.Transform), in); !ok {
						b.Fatal(res)
					}
				}
			})
			b.Run(p.name+"/"+p.kinds[i]+"-KyamlBaseline", func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				for n := 0; n < b.N; n++ {
					var out bytes.Buffer
					rw := &kio.ByteReadWriter{Reader: bytes.NewReader(in), Writer: &out, OmitReaderAnnotations: true, KeepReaderAnnotations: true}
					nodes, err := rw.Read()
					if err != nil {
						b.Fatal(err)
					}
					if err := rw.Write(nodes); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerify measures the verifier: CheckPlan (without renders; the
// runs are named CheckSequence) over a planned
// upgrade's states (up-1k, up-10k: goal 11 for their ratio), and, on the
// seed, `revshift verify` as a whole (building every step in-process, then
// checking) against building the steps alone (goal: verify < 2x build).
//
// CheckSequence runs twice per size. As is, each run finds the states where
// the previous run left them: on 1k objects all of them stay in the CPU
// cache, on 10k none do. Cold, the caches are flushed before each run, as
// in `revshift verify`, where building a state allocates far more than the
// cache holds: at both sizes the states are then read from memory.
func BenchmarkVerify(b *testing.B) {
	// One size at a time: the other size's states would stay live and make
	// every garbage collection of this one scan them too.
	for _, n := range upgradeSizes {
		p := pipelineInputOf(b, n.name, n.objects)
		b.Run("CheckSequence/"+p.name, func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				if _, err := verify.CheckPlan(p.states, verify.DefaultOrdering, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ModelAndCheck/"+p.name, func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				states := make([]verify.State, len(p.built))
				for i, nodes := range p.built {
					m, err := mesh.Build(nodes)
					if err != nil {
						b.Fatal(err)
					}
					states[i] = verify.State{Name: p.states[i].Name, Model: m}
				}
				if _, err := verify.CheckPlan(states, verify.DefaultOrdering, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("CheckSequenceCold/"+p.name, func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				evictCaches()
				b.StartTimer()
				if _, err := verify.CheckPlan(p.states, verify.DefaultOrdering, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	shared := krmtest.SharedDirOrEmpty()
	if shared == "" {
		return
	}
	bin := mustAbs(b, "../../bin")
	if _, err := os.Stat(filepath.Join(bin, "revshift")); err != nil {
		b.Skip("bin/revshift not built: run make build")
	}
	b.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	tmp := b.TempDir()
	to := filepath.Join(tmp, "to")
	if err := os.MkdirAll(to, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, f := range []string{"control-plane.rev-1-6-14.yaml", "gateways.rev-1-6-14.yaml"} {
		data, err := os.ReadFile(filepath.Join(shared, "1.5-to-1.6-seed/1.6.14", f))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, f), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	plan := filepath.Join(tmp, "plan")
	var stdout, stderr bytes.Buffer
	if code := cli.Plan([]string{"--from", filepath.Join(shared, "1.5-to-1.6-seed/1.5.10"), "--to", to, "--out", plan, "--no-verify"}, &stdout, &stderr); code != 0 {
		b.Fatalf("%s%s", stdout.String(), stderr.String())
	}
	steps, _ := cli.StepDirs(plan)
	b.Run("Seed/build-steps", func(b *testing.B) {
		for n := 0; n < b.N; n++ {
			for _, s := range steps {
				if _, err := kbuild.Build(filepath.Join(plan, s), bin); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("Seed/revshift-verify", func(b *testing.B) {
		for n := 0; n < b.N; n++ {
			var out, errOut bytes.Buffer
			if code := cli.Verify([]string{"-exec-dir", bin, plan}, &out, &errOut); code != 0 {
				b.Fatalf("%s%s", out.String(), errOut.String())
			}
		}
	})
}

// evictBuf is larger than any CPU cache of the machines we bench on (the
// bench machines have 32 MB of L3).
var evictBuf = make([]byte, 256<<20)

// evictCaches writes over evictBuf, so that what was read before is no
// longer cached.
func evictCaches() {
	for i := 0; i < len(evictBuf); i += 64 {
		evictBuf[i]++
	}
}

func mustAbs(b *testing.B, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		b.Fatal(err)
	}
	return abs
}
