package revisiongateway

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
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

// carried is a canary-render carrier holding one ServiceAccount, plus the
// extra items.
func carried(extra string) string {
	return `items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: target-gateways
    annotations: {revshift.dev/canary-render: "true", config.kubernetes.io/local-config: "true"}
  data:
    gateways.yaml: |
      apiVersion: v1
      kind: ServiceAccount
      metadata: {name: custom-gw-service-account, namespace: default}
` + extra
}

func TestBadInput(t *testing.T) {
	cases := append(krmtest.CommonBadInputs(Kind),
		krmtest.BadInput{Name: "carried render without a revision", Input: rl("    mode: canary\n", carried("")), Want: []string{"spec.revision: required with a carried canary render"}},
		krmtest.BadInput{Name: "spec.render naming no carrier", Input: rl("    revision: 1-6-14\n    render: nothing\n", carried("")), Want: []string{"spec.render: no ConfigMap nothing annotated revshift.dev/canary-render"}},
		krmtest.BadInput{Name: "canary name taken by another object", Input: rl("    revision: 1-6-14\n", carried("- {apiVersion: v1, kind: ServiceAccount, metadata: {name: custom-gw-service-account-1-6-14, namespace: default}}\n")),
			Want: []string{"ServiceAccount/default/custom-gw-service-account-1-6-14: the canary name of ServiceAccount/default/custom-gw-service-account is taken by an object that is not its canary"}},
		krmtest.BadInput{Name: "unknown mode", Input: rl("    mode: cutover\n", ""), Want: []string{`spec.mode: "cutover" is not "canary" or "shift"`}},
		krmtest.BadInput{Name: "revision that is not a DNS label", Input: rl("    revision: 1.6.14\n", ""), Want: []string{`spec.revision: revision "1.6.14" is not a DNS label`, `"1-6-14"`}},
		krmtest.BadInput{Name: "negative drain", Input: rl("    drainSeconds: -1\n", ""), Want: []string{"spec.drainSeconds: -1 is not between 0 and 3600"}},
		krmtest.BadInput{Name: "drain that is not a number", Input: rl("    drainSeconds: soon\n", ""), Want: []string{"functionConfig RevisionGateway/c", "line 5"}},
		krmtest.BadInput{Name: "incomplete pair", Input: rl("    pairs:\n    - {namespace: default, old: custom-gw}\n", ""), Want: []string{"spec.pairs[0]: namespace, old and new are all required"}},
		krmtest.BadInput{Name: "sync wave that is not an integer", Input: rl("    ordering: {argocdSyncWave: early}\n", ""), Want: []string{`spec.ordering.argocdSyncWave: "early" is not an integer`}},
		krmtest.BadInput{Name: "renders not suffixed", Input: rl("", dupItems), Want: []string{"duplicate object Deployment.apps/default/custom-gw", mesh.AnnotationCanaryRender}},
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

// The canary's own ServiceAccount and Role are only read, and pass through
// as text, unless spec.ordering.argocdSyncWave gives them a sync-wave.
func TestCanaryRBACMaterializedOnlyForSyncWave(t *testing.T) {
	data, err := os.ReadFile("testdata/seed-shaped/input.yaml")
	require.NoError(t, err)
	// As kustomize hands them to a function: each item carries its index.
	nodes := krmtest.ParseYAML(t, data)
	for i, n := range nodes {
		require.NoError(t, n.PipeE(yaml.SetAnnotation("config.kubernetes.io/index", strconv.Itoa(i))))
	}
	input := krmtest.ResourceList(t, nodes, nil)
	rbac := func(wave string) map[string]*mesh.Item {
		l, err := krm.ParseList(input)
		require.NoError(t, err)
		cfg := "apiVersion: revshift.dev/v1alpha1\nkind: RevisionGateway\nmetadata: {name: c}\nspec: {}\n"
		if wave != "" {
			cfg = "apiVersion: revshift.dev/v1alpha1\nkind: RevisionGateway\nmetadata: {name: c}\nspec: {ordering: {argocdSyncWave: \"" + wave + "\"}}\n"
		}
		res := &krm.Results{}
		out, err := Transform(l.Items, yaml.MustParse(cfg), res)
		require.NoError(t, err)
		require.False(t, res.Failed(), "%v", res)
		got := map[string]*mesh.Item{}
		for _, it := range out {
			o, err := mesh.IdentifyItem(0, it)
			require.NoError(t, err)
			if (o.ID.Kind == "ServiceAccount" || o.ID.Kind == "Role") && strings.HasSuffix(o.ID.Name, "-1-6-14") {
				got[o.ID.Kind] = it
			}
		}
		require.Len(t, got, 2)
		return got
	}
	for kind, it := range rbac("") {
		assert.False(t, it.Materialized(), "%s without ordering", kind)
		assert.False(t, it.HasAnnotation(mesh.AnnotationSyncWave), kind)
	}
	for kind, it := range rbac("2") {
		v, _ := it.Annotation(mesh.AnnotationSyncWave)
		assert.Equal(t, "2", v, "%s gets the canary's sync-wave", kind)
	}
}
