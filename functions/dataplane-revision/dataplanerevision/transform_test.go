package dataplanerevision

import (
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
)

func TestGolden(t *testing.T) {
	krmtest.RunGolden(t, "testdata", krm.Processor(Transform))
}

func rl(spec, items string) string {
	s := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"
	if spec != "" {
		s += "functionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: DataplaneRevision\n  metadata: {name: dp}\n  spec:\n" + spec
	}
	if items == "[]\n" {
		return s + "items: []\n"
	}
	return s + "items:\n" + items
}

const injectedNamespace = "- {apiVersion: v1, kind: Namespace, metadata: {name: apps, labels: {istio-injection: enabled}}}\n"

func TestBadInput(t *testing.T) {
	cases := append(krmtest.CommonBadInputs(Kind),
		krmtest.BadInput{
			Name:  "revision that is not a DNS label",
			Input: rl("    revision: 1.6.14\n", "[]\n"),
			Want:  []string{`functionConfig spec.revision: revision "1.6.14" is not a DNS label`, `"1-6-14"`},
		},
		krmtest.BadInput{
			Name:  "tag that is not a DNS label",
			Input: rl("    tag: Prod_Stable\n", "[]\n"),
			Want:  []string{`functionConfig spec.tag: tag "Prod_Stable" is not a DNS label`},
		},
		krmtest.BadInput{
			Name:  "misspelt matchLabels",
			Input: rl("    namespaceSelector:\n      matchLabel: {team: a}\n", "[]\n"),
			Want:  []string{`functionConfig spec.namespaceSelector: unknown field "matchLabel"`},
		},
		krmtest.BadInput{
			Name:  "selector operator",
			Input: rl("    namespaceSelector:\n      matchExpressions: [{key: team, operator: Equals, values: [a]}]\n", "[]\n"),
			Want:  []string{`spec.namespaceSelector`, `"Equals" is not a valid label selector operator`},
		},
		krmtest.BadInput{
			Name:  "selector that is a string",
			Input: rl("    namespaceSelector: team=a\n", "[]\n"),
			Want:  []string{`spec.namespaceSelector: expected a label selector`},
		},
		krmtest.BadInput{
			Name:  "revision of the wrong type",
			Input: rl("    revision: [1-6-14]\n", "[]\n"),
			Want:  []string{`functionConfig DataplaneRevision/dp`, `line 5: a !!seq value where string is expected`},
		},
		krmtest.BadInput{
			Name:  "namespace labels not a map",
			Input: rl("", "- {apiVersion: v1, kind: Namespace, metadata: {name: apps, labels: [istio-injection]}}\n"),
			Want:  []string{"Namespace/apps: metadata.labels: expected a map of strings"},
		},
		krmtest.BadInput{
			Name:  "pod template annotations not a map",
			Input: rl("", injectedNamespace+"- {apiVersion: apps/v1, kind: Deployment, metadata: {name: api, namespace: apps}, spec: {selector: {matchLabels: {a: b}}, template: {metadata: {annotations: x}}}}\n"),
			Want:  []string{"Deployment.apps/apps/api: spec.template.metadata.annotations: expected a map of strings"},
		},
		krmtest.BadInput{
			Name:  "no revision to infer",
			Input: rl("", injectedNamespace),
			Want:  []string{`cannot infer the target revision: no new revision in the input: no istiod Deployment of a revision other than "default" (revisions present: none)`},
		},
		krmtest.BadInput{
			Name: "only the default revision",
			Input: rl("", injectedNamespace+
				"- {apiVersion: apps/v1, kind: Deployment, metadata: {name: istiod, namespace: istio-system}, spec: {selector: {matchLabels: {app: istiod}}, template: {metadata: {labels: {app: istiod}}, spec: {containers: [{name: discovery, args: [discovery]}]}}}}\n"),
			Want: []string{`no istiod Deployment of a revision other than "default" (revisions present: default)`},
		},
		krmtest.BadInput{
			Name: "tag served by two revisions",
			Input: rl("    tag: prod\n", injectedNamespace+
				"- {apiVersion: admissionregistration.k8s.io/v1, kind: MutatingWebhookConfiguration, metadata: {name: a}, webhooks: [{name: a, clientConfig: {service: {name: istiod-1-30-0, namespace: istio-system, path: /inject}}, namespaceSelector: {matchLabels: {istio.io/rev: prod}}}]}\n"+
				"- {apiVersion: admissionregistration.k8s.io/v1, kind: MutatingWebhookConfiguration, metadata: {name: b}, webhooks: [{name: b, clientConfig: {service: {name: istiod-1-31-0, namespace: istio-system, path: /inject}}, namespaceSelector: {matchLabels: {istio.io/rev: prod}}}]}\n"),
			Want: []string{"injectors of revisions 1-30-0, 1-31-0 all select istio.io/rev=prod; set spec.revision"},
		},
	)
	krmtest.CheckBadInputs(t, "dataplane-revision", krm.Processor(Transform), cases)
}

func FuzzTransform(f *testing.F) {
	krmtest.FuzzSeeds(f, "testdata", Kind)
	f.Fuzz(func(t *testing.T, input []byte) {
		krmtest.FuzzProperties(t, krm.Processor(Transform), input)
	})
}
