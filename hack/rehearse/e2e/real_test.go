package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revshift/revshift/hack/rehearse/rehearse"
	"github.com/stretchr/testify/require"
)

// renders is the folder of real istioctl renders (../shared/istio-renders
// beside the repository, or $REVSHIFT_RENDERS). Absent, the test is skipped
// on a user's clone and fails in CI, which must rehearse them.
func renders(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("REVSHIFT_RENDERS")
	if dir == "" {
		dir = filepath.Join(filepath.Dir(root), "shared", "istio-renders")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" || os.Getenv("REVSHIFT_RENDERS") != "" {
			t.Fatalf("real renders not found at %s: CI must rehearse them", dir)
		}
		t.Skipf("real renders not found at %s (set REVSHIFT_RENDERS)", dir)
	}
	return dir
}

// helmRenders is the folder of real helm template renders committed in the
// repository (testdata/helm-renders; its README says why and how).
func helmRenders() string { return filepath.Join(root, "testdata", "helm-renders") }

// planReal plans the real renders named (relative to the folder src),
// copied into a running and a target folder, with plan's other flags.
func planReal(t *testing.T, src string, from, to []string, flags ...string) string {
	t.Helper()
	tmp := t.TempDir()
	for side, files := range map[string][]string{"from": from, "to": to} {
		require.NoError(t, os.Mkdir(filepath.Join(tmp, side), 0o755))
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(src, f))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(tmp, side, filepath.Base(f)), data, 0o644))
		}
	}
	out := filepath.Join(tmp, "plan")
	args := append([]string{"plan", "--from", filepath.Join(tmp, "from"), "--to", filepath.Join(tmp, "to"), "--out", out}, flags...)
	cmd := exec.Command(filepath.Join(root, "bin", "revshift"), args...)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "revshift plan:\n%s", b)
	return out
}

// The real renders, rehearsed: the modern istioctl hop and the Helm hops
// (tag prod-stable moved; from the default and from a revisioned istiod)
// hold every check on 1.34; the 1.5.10 -> 1.6.14
// seed on 1.21 (its v1beta1 CRDs and webhooks) holds every check but the
// renders' own one-replica budgets (RH006 warnings).
func TestRealRenders(t *testing.T) {
	t.Parallel()
	t.Run("modern", func(t *testing.T) {
		t.Parallel()
		p := planReal(t, renders(t),
			[]string{"1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.29.6/gateways.yaml"},
			[]string{"1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml", "1.29-to-1.31-modern/1.31.0/gateways.rev-1-31-0.yaml"})
		rep := rehearseOn(t, p, "1.34.3", rehearse.Flux)
		requireHeld(t, rep, 9)
		require.Equal(t, 2, rep.Baseline["default/custom-gw"])
	})
	t.Run("helm", func(t *testing.T) {
		t.Parallel()
		p := planReal(t, helmRenders(),
			[]string{"1.29.6/base.yaml", "1.29.6/istiod.yaml", "1.29.6/gateways.yaml"},
			[]string{"1.31.0/base.yaml", "1.31.0/istiod.rev-1-31-0.yaml", "1.31.0/gateways.rev-1-31-0.yaml"},
			"--include", filepath.Join(helmRenders(), "include"), "--tag", "prod-stable")
		rep := rehearseOn(t, p, "1.34.3", rehearse.Flux)
		requireHeld(t, rep, 7)
		require.Equal(t, 2, rep.Baseline["istio-ingress/ingress-tagged"], "the running ingress-tagged runs its HPA's minReplicas")
	})
	t.Run("helm-revisioned", func(t *testing.T) {
		t.Parallel()
		p := planReal(t, helmRenders(),
			[]string{"1.29.6-revisioned/base.validator.yaml", "1.29.6-revisioned/istiod.rev-1-29-6.yaml", "1.29.6-revisioned/gateways.yaml"},
			[]string{"1.31.0/base.validator.revisioned.yaml", "1.31.0/istiod.rev-1-31-0.yaml", "1.31.0/gateways.rev-1-31-0.yaml"},
			"--include", filepath.Join(helmRenders(), "include"), "--include", filepath.Join(helmRenders(), "include-apps"), "--tag", "prod-stable")
		rep := rehearseOn(t, p, "1.34.3", rehearse.Flux)
		requireHeld(t, rep, 8) // with 05-dataplane: batch/report, pinned to 1-29-6 by its pod label, relabelled
		require.Equal(t, 2, rep.Baseline["istio-ingress/ingress-tagged"], "the running ingress-tagged runs its HPA's minReplicas")
	})
	t.Run("seed", func(t *testing.T) {
		t.Parallel()
		p := planReal(t, renders(t),
			[]string{"1.5-to-1.6-seed/1.5.10/control-plane.yaml", "1.5-to-1.6-seed/1.5.10/gateways.yaml"},
			[]string{"1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml", "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml"})
		rep := rehearseOn(t, p, "1.21.14", rehearse.Flux)
		require.False(t, rep.Failed())
		require.Len(t, rep.Steps, 9)
		for _, s := range rep.Steps {
			require.False(t, s.NotRun, s.Step)
			for _, e := range s.Endpoints {
				require.GreaterOrEqual(t, e.Min, rep.Baseline[e.Service], "%s %s", s.Step, e.Service)
			}
		}
		for _, f := range rep.Findings {
			require.Equal(t, rehearse.RuleEviction, f.Rule, f.Message)
			require.True(t, strings.Contains(f.Message, "the budget as rendered allows no disruption"), f.Message)
		}
	})
}
