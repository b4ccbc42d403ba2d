package canarycontrolplane

import (
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
)

func TestGolden(t *testing.T) {
	krmtest.RunGolden(t, "testdata", krm.Processor(Transform))
}

const rl = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"

func TestBadInput(t *testing.T) {
	cases := append(krmtest.CommonBadInputs(Kind),
		krmtest.BadInput{
			Name:  "revision that is not a DNS label",
			Input: "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: CanaryControlPlane\n  metadata: {name: c}\n  spec:\n    revision: 1.6.14\nitems: []\n",
			Want:  []string{`functionConfig spec.revision: revision "1.6.14" is not a DNS label`},
		},
		krmtest.BadInput{
			Name:  "no running render",
			Input: rl + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: y}}\n",
			Want:  []string{"no running render in the input", "revshift.dev/running-render"},
		},
		krmtest.BadInput{
			Name:  "running render that is not YAML",
			Input: rl + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: r, annotations: {revshift.dev/running-render: 'true'}}, data: {cp.yaml: 'a: [1'}}\n",
			Want:  []string{"ConfigMap r data.cp.yaml: document 1"},
		},
		krmtest.BadInput{
			Name:  "alias bomb inside the running render",
			Input: rl + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: r, annotations: {revshift.dev/running-render: 'true'}}, data: {cp.yaml: \"a: &a [x, x]\\nb: [*a, *a]\\n\"}}\n",
			Want:  []string{"ConfigMap r data.cp.yaml: document 1, line 2: YAML aliases are not supported"},
		},
		krmtest.BadInput{
			Name:  "malformed object inside the running render",
			Input: rl + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: r, annotations: {revshift.dev/running-render: 'true'}}, data: {cp.yaml: \"apiVersion: v1\\nkind: Service\\nmetadata: {name: s, namespace: n}\\nspec: {ports: [{port: http}]}\\n\"}}\n",
			Want:  []string{"running render: Service/n/s: spec.ports[0].port: expected an integer"},
		},
		krmtest.BadInput{
			Name:  "malformed CRD versions in the new render",
			Input: rl + "- {apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: a.b}, spec: {versions: {v1: true}}}\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: istiod-r, namespace: istio-system}, spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: discovery, args: [discovery]}]}}}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: r, annotations: {revshift.dev/running-render: 'true'}}, data: {cp.yaml: \"apiVersion: apiextensions.k8s.io/v1\\nkind: CustomResourceDefinition\\nmetadata: {name: a.b}\\nspec: {version: v1}\\n\"}}\n",
			Want:  []string{"CustomResourceDefinition.apiextensions.k8s.io/a.b: spec.versions: expected a list"},
		},
	)
	krmtest.CheckBadInputs(t, "canary-control-plane", krm.Processor(Transform), cases)
}

func FuzzTransform(f *testing.F) {
	krmtest.FuzzSeeds(f, "testdata", Kind)
	f.Fuzz(func(t *testing.T, input []byte) {
		krmtest.FuzzProperties(t, krm.Processor(Transform), input)
	})
}
