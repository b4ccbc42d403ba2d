package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revshift/revshift/internal/kbuild"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/registry"
	"github.com/revshift/revshift/internal/step"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The passthrough guarantee on the real renders: plan the seed upgrade with
// the user's own objects included, then run every step's functions on the
// very items kustomize hands them (captured by a stand-in function). The
// objects no function owns come out byte-identical. (kustomize itself hands
// functions its normalized form: comments and field order are gone before a
// function runs. Under kpt, and on the golden cases, the functions keep
// them; see the no-gateways and passthrough cases of each function.)
func TestConformancePassthrough(t *testing.T) {
	registry.RegisterAll()
	out := filepath.Join(t.TempDir(), "plan")
	code, stdout, stderr := runPlan(t, "--from", seedFrom(t), "--to", seedTo(t), "--out", out, "--include", "testdata/foreign", "--no-verify")
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	steps := dirs(t, out)
	require.Greater(t, len(steps), 5)
	for _, st := range steps[1:] {
		t.Run(st, func(t *testing.T) {
			dir := filepath.Join(out, st)
			// What kustomize hands the step's function: the step again, its
			// function replaced by a script that records its stdin.
			capture := filepath.Join(t.TempDir(), "input.yaml")
			script := filepath.Join(t.TempDir(), "capture")
			write(t, script, "#!/bin/sh\ntee "+capture+"\n")
			require.NoError(t, os.Chmod(script, 0o755))
			cfgData, err := os.ReadFile(filepath.Join(dir, "revshift.yaml"))
			require.NoError(t, err)
			require.Contains(t, string(cfgData), "path: revshift\n")
			write(t, filepath.Join(dir, "capture.yaml"), strings.Replace(string(cfgData), "path: revshift\n", "path: "+script+"\n", 1))
			k, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
			require.NoError(t, err)
			write(t, filepath.Join(dir, "kustomization.yaml"), strings.Replace(string(k), "- revshift.yaml", "- capture.yaml", 1))
			_, err = kbuild.Build(dir)
			require.NoError(t, err)
			input, err := os.ReadFile(capture)
			require.NoError(t, err)
			rl, err := krm.Parse(input)
			require.NoError(t, err)
			before := map[string]string{}
			for _, it := range rl.Items {
				n := it.MoveToResourceNode()
				before[key(n)] = n.MustString()
			}
			res := krmtest.Run(t, krm.Processor(step.Transform), input)
			require.True(t, res.OK, "%v", res.Results)
			foreign := 0
			for _, n := range res.Items {
				if n.GetNamespace() == "bookinfo" || (n.GetKind() == "Namespace" && n.GetName() == "bookinfo") {
					foreign++
					got, err := n.String()
					require.NoError(t, err)
					assert.Equal(t, before[key(n)], got, "%s changed", key(n))
				}
			}
			assert.Equal(t, 4, foreign, "every foreign object comes out")
		})
	}
}

func key(n *yaml.RNode) string {
	return n.GetApiVersion() + "/" + n.GetKind() + "/" + n.GetNamespace() + "/" + n.GetName()
}
