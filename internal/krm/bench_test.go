package krm_test

import (
	"bytes"
	"testing"

	"github.com/revshift/revshift/internal/krmtest"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// BenchmarkKyamlBaseline is the floor for any kyaml-based function: a plain
// kyaml parse and serialize of the same ResourceList, with kio's own
// ResourceList reader and writer. `make bench` divides every function's time
// by this one.
func BenchmarkKyamlBaseline(b *testing.B) {
	for _, in := range krmtest.BenchInputs(b) {
		b.Run(in.Name, func(b *testing.B) {
			b.SetBytes(int64(len(in.Data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var out bytes.Buffer
				rw := &kio.ByteReadWriter{Reader: bytes.NewReader(in.Data), Writer: &out, OmitReaderAnnotations: true, KeepReaderAnnotations: true}
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
