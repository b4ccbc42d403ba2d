package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/revshift/revshift/internal/cli"
	"github.com/revshift/revshift/internal/kbuild"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/meshgen"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// BenchmarkKustomize measures whole `kustomize build` runs of the steps
// revshift plan writes, the cost users see, on the seed renders and on a
// generated 600-object upgrade (many gateways and namespaces). For every
// step it times the step's own build ("step") and a build of the very same
// output with exactly one no-op exec function ("noop-exec": the output as a
// plain resource, and `cat` as the function: kustomize's own round trip for
// an exec call, the floor for any exec function). `make bench` prints
// step / noop-exec per step (goal <= 1.15). Needs `make build tools`.
func BenchmarkKustomize(b *testing.B) {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	kustomize := filepath.Join(bin, "kustomize")
	for _, p := range []string{kustomize, filepath.Join(bin, "revshift")} {
		if _, err := os.Stat(p); err != nil {
			b.Skipf("%s not built: run make build tools", p)
		}
	}
	b.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	type upgrade struct{ name, from, to string }
	var ups []upgrade
	if d := krmtest.SharedDirOrEmpty(); d != "" {
		ups = append(ups, upgrade{"seed", d + "/1.5-to-1.6-seed/1.5.10", ""})
	}
	tmp := b.TempDir()
	gen := meshgen.NewUpgrade(600, "1-6-14")
	write := func(rel, content string) {
		p := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("gen/from/control-plane.yaml", gen.RunningControlPlane)
	write("gen/from/gateways.yaml", gen.RunningGateways)
	write("gen/to/control-plane.rev-1-6-14.yaml", gen.TargetControlPlane)
	write("gen/to/gateways.rev-1-6-14.yaml", gen.TargetGateways)
	ups = append(ups, upgrade{"gen-600", filepath.Join(tmp, "gen/from"), filepath.Join(tmp, "gen/to")})
	if len(ups) == 2 {
		// The seed's target: the 1.6.14 revision renders, without the
		// seed's hand overlay (which sits in the same folder).
		d := krmtest.SharedDirOrEmpty()
		for _, f := range []string{"control-plane.rev-1-6-14.yaml", "gateways.rev-1-6-14.yaml"} {
			data, err := os.ReadFile(filepath.Join(d, "1.5-to-1.6-seed/1.6.14", f))
			if err != nil {
				b.Fatal(err)
			}
			write("seed/to/"+f, string(data))
		}
		ups[0].to = filepath.Join(tmp, "seed/to")
	}
	for _, u := range ups {
		out := filepath.Join(tmp, u.name, "plan")
		var stdout, stderr bytes.Buffer
		if code := cli.Plan([]string{"--from", u.from, "--to", u.to, "--out", out, "--no-verify"}, &stdout, &stderr); code != 0 {
			b.Fatalf("plan %s: %s%s", u.name, stdout.String(), stderr.String())
		}
		steps, err := cli.StepDirs(out)
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range steps {
			state, err := kbuild.BuildYAML(filepath.Join(out, st), bin)
			if err != nil {
				b.Fatal(err)
			}
			noop := filepath.Join(tmp, u.name, "noop", st)
			write(filepath.Join(u.name, "noop", st, "state.yaml"), string(state))
			write(filepath.Join(u.name, "noop", st, "kustomization.yaml"), "resources: [state.yaml]\ntransformers: [fn.yaml]\n")
			write(filepath.Join(u.name, "noop", st, "fn.yaml"), "apiVersion: example.com/v1\nkind: Noop\nmetadata:\n  name: noop\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: cat\n")
			for _, variant := range []struct{ name, dir string }{{"step", filepath.Join(out, st)}, {"noop-exec", noop}} {
				b.Run(u.name+"/"+st+"/"+variant.name, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						cmd := exec.Command(kustomize, "build", "--enable-alpha-plugins", "--enable-exec", variant.dir)
						if out, err := cmd.CombinedOutput(); err != nil {
							b.Fatalf("%v\n%s", err, out)
						}
					}
				})
			}
		}
	}
}

// BenchmarkPeakMemory runs `revshift fn` (a Step with CopyConfigMap) on a
// generated ResourceList of about 50 MB and reports the process's peak
// resident memory as a multiple of the input size (metric "rss/input"; the
// goal is 10). Needs `make build`.
func BenchmarkPeakMemory(b *testing.B) {
	revshift, err := filepath.Abs("../../bin/revshift")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(revshift); err != nil {
		b.Skip("bin/revshift not built: run make build")
	}
	// The input goes through a file, and the benchmark's own heap is
	// released first: the child's maximum RSS, as the kernel reports it,
	// includes what the parent held when it forked.
	inputFile := filepath.Join(b.TempDir(), "input.yaml")
	size := func() int64 {
		nodes := krmtest.ParseYAML(b, []byte(meshgen.YAML(meshgen.Options{Objects: 170000, Revision: "1-6-14", GatewayConfigMap: true})))
		cfg := yaml.MustParse("apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  functions: [{kind: CopyConfigMap}]\n")
		input := krmtest.ResourceList(b, nodes, cfg)
		if err := os.WriteFile(inputFile, input, 0o644); err != nil {
			b.Fatal(err)
		}
		return int64(len(input))
	}()
	runtime.GC()
	debug.FreeOSMemory()
	b.ResetTimer()
	var ratio float64
	for i := 0; i < b.N; i++ {
		in, err := os.Open(inputFile)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(revshift, "fn")
		// Through a pipe, as kustomize and kpt hand the input over: the
		// function cannot size its buffer from a file's length.
		cmd.Stdin = struct{ io.Reader }{in}
		cmd.Stdout = io.Discard
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		// The kernel's maximum RSS of a child (rusage) includes what this
		// process held when it forked; the child's own high-water mark
		// (VmHWM of its address space, after exec) does not. Poll it.
		done := make(chan struct{})
		peak := make(chan int64)
		go func() {
			var hwm int64
			status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
			for {
				if data, err := os.ReadFile(status); err == nil {
					for _, line := range strings.Split(string(data), "\n") {
						if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
							var kb int64
							if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb); err == nil {
								hwm = max(hwm, kb)
							}
						}
					}
				}
				select {
				case <-done:
					peak <- hwm
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
		err = cmd.Wait()
		close(done)
		hwm := <-peak
		in.Close()
		if err != nil {
			b.Fatalf("%v: %s", err, stderr.String())
		}
		ratio = float64(hwm*1024) / float64(size)
	}
	input := make([]byte, size)
	b.ReportMetric(float64(len(input))/1e6, "input-MB") // len(input) is the input's size
	b.ReportMetric(ratio, "rss/input")
}
