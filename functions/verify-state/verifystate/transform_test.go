package verifystate

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
			Name:  "unknown rule",
			Input: "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: VerifyState\n  metadata: {name: v}\n  spec:\n    disable: [RS1]\nitems: []\n",
			Want:  []string{`functionConfig spec.disable: unknown rule "RS1"`, "RS001"},
		},
		krmtest.BadInput{
			Name:  "transition rule",
			Input: "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: VerifyState\n  metadata: {name: v}\n  spec:\n    disable: [RS017]\nitems: []\n",
			Want:  []string{"RS017 (keep-production-service) is a transition rule", "revshift verify"},
		},
		krmtest.BadInput{
			Name:  "malformed selector",
			Input: "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: gw, namespace: default}, spec: {selector: [a]}}\n",
			Want:  []string{"Service/default/gw: spec.selector: expected a map of strings"},
		},
		krmtest.BadInput{
			Name:  "state that drops traffic",
			Input: "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: gw, namespace: default}, spec: {selector: {matchLabels: {istio: gw}}}}\n",
			Want:  []string{"RS009 pdb-empty: PodDisruptionBudget.policy/default/gw selects no pod"},
		},
	)
	krmtest.CheckBadInputs(t, "verify-state", krm.Processor(Transform), cases)
}

func FuzzTransform(f *testing.F) {
	krmtest.FuzzSeeds(f, "testdata", Kind)
	f.Fuzz(func(t *testing.T, input []byte) {
		krmtest.FuzzProperties(t, krm.Processor(Transform), input)
	})
}
