package webhookfix

import (
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
)

func TestGolden(t *testing.T) {
	krmtest.RunGolden(t, "testdata", krm.Processor(Transform))
}

const rl = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"

func TestBadInput(t *testing.T) {
	cases := append(krmtest.CommonBadInputs(Kind),
		krmtest.BadInput{
			Name:  "unknown era",
			Input: rl + "functionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: WebhookFix\n  metadata: {name: w}\n  spec:\n    era: newest\nitems: []\n",
			Want:  []string{`functionConfig spec.era: "newest" is not one of auto, legacy, modern`},
		},
		krmtest.BadInput{
			Name:  "revision that is not a DNS label",
			Input: rl + "functionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: WebhookFix\n  metadata: {name: w}\n  spec:\n    revision: 1.31.0\nitems: []\n",
			Want:  []string{`functionConfig spec.revision: revision "1.31.0" is not a DNS label`},
		},
		krmtest.BadInput{
			Name:  "no new revision",
			Input: rl + "items:\n- {apiVersion: v1, kind: Service, metadata: {name: istiod, namespace: istio-system}}\n",
			Want:  []string{"no new revision in the input"},
		},
		krmtest.BadInput{
			Name:  "webhook with a malformed port",
			Input: rl + "items:\n- {apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingWebhookConfiguration, metadata: {name: v}, webhooks: [{name: w, clientConfig: {service: {name: istiod, namespace: istio-system, port: https}}}]}\n",
			Want:  []string{"ValidatingWebhookConfiguration.admissionregistration.k8s.io/v: webhooks[0].clientConfig.service.port: expected an integer"},
		},
	)
	krmtest.CheckBadInputs(t, "webhook-fix", krm.Processor(Transform), cases)
}

func FuzzTransform(f *testing.F) {
	krmtest.FuzzSeeds(f, "testdata", Kind)
	f.Fuzz(func(t *testing.T, input []byte) {
		krmtest.FuzzProperties(t, krm.Processor(Transform), input)
	})
}
