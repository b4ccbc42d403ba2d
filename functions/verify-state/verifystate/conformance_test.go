package verifystate

import (
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// firstWins concatenates renders, dropping an object whose identity an
// earlier one already has (the names 1.5.10 and the 1.6.14 revision render
// share).
func firstWins(t *testing.T, lists ...[]*yaml.RNode) []*yaml.RNode {
	seen := map[mesh.ID]bool{}
	var out []*yaml.RNode
	for _, l := range lists {
		for _, n := range l {
			o, err := mesh.Identify(0, n)
			require.NoError(t, err)
			if !seen[o.ID] {
				seen[o.ID] = true
				out = append(out, n)
			}
		}
	}
	return out
}

func errorsOf(rs fn.Results) []string {
	var out []string
	for _, r := range rs {
		if r.Severity == fn.Error {
			out = append(out, r.Message)
		}
	}
	return out
}

// The running 1.5.10 state: its only finding is the rendered PDB that
// selects release: istio, which the gateway's pods lack.
func TestConformanceSeedRunningState(t *testing.T) {
	items := firstWins(t, krmtest.Render(t, "1.5-to-1.6-seed/1.5.10/control-plane.yaml", "1.5-to-1.6-seed/1.5.10/gateways.yaml"))
	out := krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, items, nil))
	require.False(t, out.OK)
	errs := errorsOf(out.Results)
	require.Len(t, errs, 1, "%v", errs)
	require.True(t, strings.HasPrefix(errs[0], "RS009 pdb-empty: PodDisruptionBudget.policy/default/custom-gw selects no pod"), errs[0])

	cfg := yaml.MustParse("apiVersion: revshift.dev/v1alpha1\nkind: VerifyState\nmetadata: {name: v}\nspec: {disable: [RS009]}\n")
	out = krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, items, cfg))
	require.True(t, out.OK, "%v", out.Results)
	require.Len(t, out.Items, len(items), "a validator passes every item through")
}

// The seed's hand overlay after the shift (old gateway at 0 replicas): the
// production Service selects no running pod, and the overlay's PDB selects
// nothing.
func TestConformanceSeedHandOverlayShifted(t *testing.T) {
	items := firstWins(t,
		krmtest.Render(t, "1.5-to-1.6-seed/1.5.10/control-plane.yaml", "1.5-to-1.6-seed/1.5.10/gateways.yaml"),
		krmtest.Render(t, "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways-seed-overlays.rev-1-6-14.yaml"))
	for _, n := range items {
		if n.GetKind() == "Deployment" && n.GetNamespace() == "default" && n.GetName() == "custom-gw" {
			require.NoError(t, n.PipeE(yaml.Lookup("spec"), yaml.SetField("replicas", yaml.NewScalarRNode("0"))))
		}
	}
	out := krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, items, nil))
	require.False(t, out.OK)
	all := strings.Join(errorsOf(out.Results), "\n")
	require.Contains(t, all, "RS001 service-endpoints: production Service/default/custom-gw selects no running pods")
	require.Contains(t, all, "RS009 pdb-empty: PodDisruptionBudget.policy/default/custom-gw-1-6-14 selects no pod")
	// Without the ConfigMap copy of step S2, the overlay's gateway silently
	// talks to the old istiod.
	require.Contains(t, all, "RS006 mesh-config: gateway Deployment.apps/default/custom-gw-1-6-14 (revision 1-6-14) mounts ConfigMap istio-1-6-14, which is absent from namespace default")
}
