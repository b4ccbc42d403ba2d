package copyconfigmap

import (
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
)

func TestGolden(t *testing.T) {
	krmtest.RunGolden(t, "testdata", krm.Processor(Transform))
}

func TestBadInput(t *testing.T) {
	cases := append(krmtest.CommonBadInputs(Kind),
		krmtest.BadInput{
			Name:  "revision that is not a DNS label",
			Input: "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: CopyConfigMap\n  metadata: {name: c}\n  spec:\n    revisions: [1.6.14]\nitems: []\n",
			Want:  []string{`revision "1.6.14" is not a DNS label`, `"1-6-14"`},
		})
	krmtest.CheckBadInputs(t, "copy-configmap", krm.Processor(Transform), cases)
}

func FuzzTransform(f *testing.F) {
	krmtest.FuzzSeeds(f, "testdata", Kind)
	f.Fuzz(func(t *testing.T, input []byte) {
		krmtest.FuzzProperties(t, krm.Processor(Transform), input)
	})
}

func BenchmarkCopyConfigMap(b *testing.B) {
	krmtest.BenchProcessor(b, krm.Processor(Transform))
}
