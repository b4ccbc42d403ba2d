package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/meshgen"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// BenchmarkKustomize measures whole `kustomize build` runs, the cost users
// see: a plain build, the same build with one no-op exec function (cat:
// kustomize's own round trip for an exec call, the floor for any exec
// function), and the same build with a revshift step (`revshift fn`, a Step
// chaining the functions of one upgrade step). `make bench` prints
// step / noop-exec (goal <= 1.15). Needs `make build tools`.
func BenchmarkKustomize(b *testing.B) {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	kustomize := filepath.Join(root, "bin", "kustomize")
	revshift := filepath.Join(root, "bin", "revshift")
	for _, p := range []string{kustomize, revshift} {
		if _, err := os.Stat(p); err != nil {
			b.Skipf("%s not built: run make build tools", p)
		}
	}
	inputs := map[string]string{
		"gen-600": meshgen.YAML(meshgen.Options{Objects: 600, Revision: "1-6-14", GatewayConfigMap: true}),
	}
	if d := krmtest.SharedDirOrEmpty(); d != "" {
		var all []byte
		for _, f := range []string{"1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml"} {
			data, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				b.Fatal(err)
			}
			all = append(append(all, data...), []byte("\n---\n")...)
		}
		inputs["seed"] = string(all)
	}
	for _, name := range []string{"seed", "gen-600"} {
		input, ok := inputs[name]
		if !ok {
			continue
		}
		dir := b.TempDir()
		write := func(rel, content string) {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		write("render.yaml", input)
		write("plain/kustomization.yaml", "resources: [render.yaml]\n")
		write("plain/render.yaml", input)
		write("noop-exec/render.yaml", input)
		write("noop-exec/kustomization.yaml", "resources: [render.yaml]\ntransformers: [fn.yaml]\n")
		write("noop-exec/fn.yaml", "apiVersion: example.com/v1\nkind: Noop\nmetadata:\n  name: noop\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: cat\n")
		write("step/render.yaml", input)
		write("step/kustomization.yaml", "resources: [render.yaml]\ntransformers: [fn.yaml]\n")
		write("step/fn.yaml", "apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata:\n  name: gateway-config\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: "+revshift+"\n        args: [fn]\nspec:\n  functions:\n  - kind: CopyConfigMap\n")
		for _, variant := range []string{"plain", "noop-exec", "step"} {
			b.Run(name+"/"+variant, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					cmd := exec.Command(kustomize, "build", "--enable-alpha-plugins", "--enable-exec", filepath.Join(dir, variant))
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("%v\n%s", err, out)
					}
				}
			})
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
	nodes := krmtest.ParseYAML(b, []byte(meshgen.YAML(meshgen.Options{Objects: 170000, Revision: "1-6-14", GatewayConfigMap: true})))
	cfg := yaml.MustParse("apiVersion: revshift.dev/v1alpha1\nkind: Step\nmetadata: {name: s}\nspec:\n  functions: [{kind: CopyConfigMap}]\n")
	input := krmtest.ResourceList(b, nodes, cfg)
	nodes = nil
	b.ResetTimer()
	var ratio float64
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(revshift, "fn")
		cmd.Stdin = bytes.NewReader(input)
		cmd.Stdout = io.Discard
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v: %s", err, stderr.String())
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		ratio = float64(ru.Maxrss*1024) / float64(len(input))
	}
	b.ReportMetric(float64(len(input))/1e6, "input-MB")
	b.ReportMetric(ratio, "rss/input")
}
