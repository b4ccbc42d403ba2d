package krmtest

import (
	"sync"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/meshgen"
)

// BenchInput is one benchmark input: a serialized ResourceList.
type BenchInput struct {
	Name string
	Data []byte
}

var (
	benchOnce   sync.Once
	benchInputs []BenchInput
)

// BenchInputs are the inputs every function is measured on: generated
// meshes of 1k and 10k objects (their ratio is the scaling goal), and the
// seed's 1.6.14 renders when ../shared is present. The same inputs feed the
// kyaml baseline (internal/krm), so ratios compare like with like.
func BenchInputs(b *testing.B) []BenchInput {
	benchOnce.Do(func() {
		for _, c := range []struct {
			name string
			n    int
		}{{"gen-1k", 1000}, {"gen-10k", 10000}} {
			nodes := ParseYAML(b, []byte(meshgen.YAML(meshgen.Options{Objects: c.n, Revision: "1-6-14", GatewayConfigMap: true})))
			benchInputs = append(benchInputs, BenchInput{c.name, ResourceList(b, nodes, nil)})
		}
	})
	out := append([]BenchInput(nil), benchInputs...)
	if seed := seedInput(b); seed != nil {
		out = append(out, BenchInput{"seed", seed})
	}
	return out
}

func seedInput(b *testing.B) (data []byte) {
	dir := sharedDirNoSkip()
	if dir == "" {
		return nil
	}
	nodes := ReadYAMLFiles(b, dir+"/1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", dir+"/1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml")
	return ResourceList(b, nodes, nil)
}

// BenchProcessor measures p on every BenchInput, as sub-benchmarks named
// after the inputs.
func BenchProcessor(b *testing.B, p fn.ResourceListProcessor) {
	for _, in := range BenchInputs(b) {
		b.Run(in.Name, func(b *testing.B) {
			b.SetBytes(int64(len(in.Data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, res, ok := krm.Run(p, in.Data); !ok {
					b.Fatalf("function failed: %v", res)
				}
			}
		})
	}
}
