package prunelegacy

import (
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
)

func TestGolden(t *testing.T) {
	krmtest.RunGolden(t, "testdata", krm.Processor(Transform))
}

func TestBadInput(t *testing.T) {
	rl := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"
	cases := append(krmtest.CommonBadInputs(Kind),
		krmtest.BadInput{
			Name:  "unknown mode",
			Input: rl + "functionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: PruneLegacy\n  metadata: {name: p}\n  spec:\n    mode: delete\nitems: []\n",
			Want:  []string{`spec.mode: "delete" is not one of delete-list, desired-state`},
		},
		krmtest.BadInput{
			Name:  "bad path pattern",
			Input: rl + "functionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: PruneLegacy\n  metadata: {name: p}\n  spec:\n    oldPaths: ['old/[']\nitems: []\n",
			Want:  []string{`spec.oldPaths[0]: "old/[" is not a path pattern`},
		},
		krmtest.BadInput{
			Name:  "state annotation with another value",
			Input: rl + "items:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x, annotations: {revshift.dev/state: new}}}\n",
			Want:  []string{`items[0]: ConfigMap/x/a: metadata.annotations[revshift.dev/state]: expected "old", got "new"`},
		},
		krmtest.BadInput{
			Name:  "mode mark-old",
			Input: rl + "functionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: PruneLegacy\n  metadata: {name: p}\n  spec:\n    mode: mark-old\nitems: []\n",
			Want: []string{
				`spec.mode: "mark-old" was removed, and with it the OldObject carrier`,
				"local-config ConfigMap annotated revshift.dev/running-render",
				"configMapGenerator:", "revshift.dev/running-render: \"true\"", "config.kubernetes.io/local-config: \"true\"",
			},
		},
		krmtest.BadInput{
			Name:  "OldObject carriers",
			Input: rl + "items:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: ok, namespace: x}}\n- {apiVersion: revshift.dev/v1alpha1, kind: OldObject, metadata: {name: ConfigMap_x_a}, spec: {object: {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}}}}\n- {apiVersion: revshift.dev/v1alpha1, kind: OldObject, metadata: {name: c}, spec: {object: [a]}}\n",
			Want: []string{
				"items[1]: OldObject ConfigMap_x_a: the OldObject carrier (written by the removed mode mark-old) is no longer read, and is not a desired object either",
				"items[2]: OldObject c: the OldObject carrier",
				"local-config ConfigMap annotated revshift.dev/running-render",
				"configMapGenerator:", "revshift.dev/running-render: \"true\"", "config.kubernetes.io/local-config: \"true\"",
			},
		},
		krmtest.BadInput{
			Name:  "duplicate old objects",
			Input: rl + "items:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: ok, namespace: x}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x, annotations: {revshift.dev/state: old}}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x, annotations: {revshift.dev/state: old}}}\n",
			Want:  []string{"duplicate object ConfigMap/x/a: items[1] and items[2]", "(both in the old state)"},
		},
		krmtest.BadInput{
			Name:  "same Deployment under extensions and apps in the desired state",
			Input: rl + "items:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: a, namespace: x}}\n- {apiVersion: extensions/v1beta1, kind: Deployment, metadata: {name: a, namespace: x}}\n",
			Want:  []string{"duplicate object Deployment.extensions/x/a: items[0] and items[1]", "(both in the desired state)"},
		},
		krmtest.BadInput{
			Name:  "malformed old object",
			Input: rl + "items:\n- {apiVersion: v1, kind: Service, metadata: {name: s, namespace: x, annotations: {revshift.dev/state: old}}, spec: {selector: [a]}}\n",
			Want:  []string{"old state: Service/x/s: spec.selector: expected a map of strings"},
		},
		krmtest.BadInput{
			Name:  "malformed desired object",
			Input: rl + "items:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d, namespace: x}, spec: {replicas: many}}\n",
			Want:  []string{"desired state: Deployment.apps/x/d: spec.replicas: expected an integer"},
		},
	)
	krmtest.CheckBadInputs(t, "prune-legacy", krm.Processor(Transform), cases)
}

func FuzzTransform(f *testing.F) {
	krmtest.FuzzSeeds(f, "testdata", Kind)
	f.Fuzz(func(t *testing.T, input []byte) {
		krmtest.FuzzProperties(t, krm.Processor(Transform), input)
	})
}
