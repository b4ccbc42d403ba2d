package revisiontag

import (
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
)

func TestGolden(t *testing.T) {
	krmtest.RunGolden(t, "testdata", krm.Processor(Transform))
}

const rl = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"

func config(spec string) string {
	return rl + "functionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: RevisionTag\n  metadata: {name: t}\n  spec: " + spec + "\n"
}

const istiod131 = "items:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: istiod-1-31-0, namespace: istio-system}, spec: {selector: {matchLabels: {app: istiod}}, template: {metadata: {labels: {app: istiod}}, spec: {containers: [{name: discovery, args: [discovery], env: [{name: REVISION, value: 1-31-0}]}]}}}}\n"

func TestBadInput(t *testing.T) {
	cases := append(krmtest.CommonBadInputs(Kind),
		krmtest.BadInput{Name: "no tags", Input: config("{}") + "items: []\n",
			Want: []string{"functionConfig spec.tags: name at least one revision tag to move"}},
		krmtest.BadInput{Name: "the default tag", Input: config("{tags: [default]}") + "items: []\n",
			Want: []string{"functionConfig spec.tags[0]: the default tag is set by webhook-fix"}},
		krmtest.BadInput{Name: "tag that is not a DNS label", Input: config("{tags: [Prod_Stable]}") + "items: []\n",
			Want: []string{`functionConfig spec.tags[0]: tag "Prod_Stable" is not a DNS label`}},
		krmtest.BadInput{Name: "no new revision", Input: config("{tags: [prod-stable]}") + "items: []\n",
			Want: []string{"no new revision in the input"}},
		krmtest.BadInput{Name: "no canonical injector", Input: config("{tags: [prod-stable]}") + istiod131,
			Want: []string{"cannot move a tag to revision 1-31-0: no MutatingWebhookConfiguration labelled istio.io/rev=1-31-0 (without istio.io/tag)"}},
	)
	krmtest.CheckBadInputs(t, "revision-tag", krm.Processor(Transform), cases)
}

func FuzzTransform(f *testing.F) {
	krmtest.FuzzSeeds(f, "testdata", Kind)
	f.Fuzz(func(t *testing.T, input []byte) {
		krmtest.FuzzProperties(t, krm.Processor(Transform), input)
	})
}
