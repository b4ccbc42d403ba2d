package revisiongateway

import (
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
)

func TestGolden(t *testing.T) {
	krmtest.RunGolden(t, "testdata", krm.Processor(Transform))
}

func rl(config, items string) string {
	s := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"
	if config != "" {
		s += "functionConfig:\n  apiVersion: revshift.dev/v1alpha1\n  kind: RevisionGateway\n  metadata: {name: c}\n  spec:\n" + config
	}
	if items == "" {
		items = "items: []\n"
	}
	return s + items
}

// dupItems is what kustomize cannot even build and a hand-made pipeline can
// send: the revisioned render without its suffix, next to the running one.
const dupItems = `items:
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: custom-gw, namespace: default}}
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: custom-gw, namespace: default}}
`

func TestBadInput(t *testing.T) {
	cases := append(krmtest.CommonBadInputs(Kind),
		krmtest.BadInput{Name: "unknown mode", Input: rl("    mode: cutover\n", ""), Want: []string{`spec.mode: "cutover" is not "canary" or "shift"`}},
		krmtest.BadInput{Name: "revision that is not a DNS label", Input: rl("    revision: 1.6.14\n", ""), Want: []string{`spec.revision: revision "1.6.14" is not a DNS label`, `"1-6-14"`}},
		krmtest.BadInput{Name: "negative drain", Input: rl("    drainSeconds: -1\n", ""), Want: []string{"spec.drainSeconds: -1 is not between 0 and 3600"}},
		krmtest.BadInput{Name: "drain that is not a number", Input: rl("    drainSeconds: soon\n", ""), Want: []string{"functionConfig RevisionGateway/c", "line 5"}},
		krmtest.BadInput{Name: "incomplete pair", Input: rl("    pairs:\n    - {namespace: default, old: custom-gw}\n", ""), Want: []string{"spec.pairs[0]: namespace, old and new are all required"}},
		krmtest.BadInput{Name: "sync wave that is not an integer", Input: rl("    ordering: {argocdSyncWave: early}\n", ""), Want: []string{`spec.ordering.argocdSyncWave: "early" is not an integer`}},
		krmtest.BadInput{Name: "renders not suffixed", Input: rl("", dupItems), Want: []string{"duplicate object Deployment.apps/default/custom-gw", "nameSuffix: -<revision>"}},
		krmtest.BadInput{Name: "explicit pair naming nothing", Input: rl("    pairs:\n    - {namespace: default, old: a, new: b}\n", "items:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: default}}\n"), Want: []string{"spec.pairs[0]: no Deployment default/a in the input", "spec.pairs[0]: no Deployment default/b in the input"}},
		krmtest.BadInput{Name: "malformed service port", Input: rl("", "items:\n- {apiVersion: v1, kind: Service, metadata: {name: s, namespace: default}, spec: {ports: [{port: http}]}}\n"), Want: []string{"Service/default/s: spec.ports[0].port: expected an integer"}},
	)
	krmtest.CheckBadInputs(t, "revision-gateway", krm.Processor(Transform), cases)
}

func FuzzTransform(f *testing.F) {
	krmtest.FuzzSeeds(f, "testdata", Kind)
	f.Fuzz(func(t *testing.T, input []byte) {
		krmtest.FuzzProperties(t, krm.Processor(Transform), input)
	})
}
