package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyDir copies a folder tree (small test fixtures).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	}))
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
}

// targetCP is the target control plane of testdata/good, with a
// ServiceAccount that no state of testdata/good holds.
const targetCP = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod-1-7-8
  namespace: istio-system
spec:
  selector:
    matchLabels: {app: istiod, istio.io/rev: 1-7-8}
  template:
    metadata:
      labels: {app: istiod, istio.io/rev: 1-7-8}
    spec:
      containers:
      - name: discovery
        image: docker.io/istio/pilot:1.7.8
        args: [discovery]
        env: [{name: REVISION, value: 1-7-8}]
---
apiVersion: v1
kind: Service
metadata:
  name: istiod-1-7-8
  namespace: istio-system
spec:
  selector: {app: istiod, istio.io/rev: 1-7-8}
  ports: [{name: https-dns, port: 15012}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: istio-reader-service-account, namespace: istio-system}
`

// A folder with inputs/ (as revshift plan writes it) is checked against
// its renders; the same steps without inputs/ are not (RS022 silent).
func TestVerifyReadsPlanInputs(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/good", dir)
	code, out, errOut := runVerify(t, dir)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.NotContains(t, out, "RS022")

	running, err := os.ReadFile("testdata/good/00-running/running.yaml")
	require.NoError(t, err)
	writeFile(t, filepath.Join(dir, "inputs", "running", "running.yaml"), string(running))
	writeFile(t, filepath.Join(dir, "inputs", "running", "kustomization.yaml"), "resources: [running.yaml]\n")
	writeFile(t, filepath.Join(dir, "inputs", "target", "control-plane.yaml"), targetCP)
	code, out, errOut = runVerify(t, dir)
	assert.Equal(t, 1, code, errOut)
	assert.Contains(t, out, "02-shift")
	assert.Contains(t, out, "RS022 convergence (error): the last state lacks ServiceAccount/istio-system/istio-reader-service-account of the target render")
	assert.Contains(t, out, "RS022 convergence (warning): the last state holds 1 object(s) that neither render has and no planned rewrite explains: Deployment.apps/edge/gw-1-7-8")

	// -rules lists it.
	code, out, _ = runVerify(t, "-rules")
	require.Equal(t, 0, code)
	assert.Regexp(t, `RS022 +transition +convergence +16 `, out)
}

func TestVerifyBadPlanInputs(t *testing.T) {
	cases := []struct{ name, file, data, want string }{
		{"object without a name", "inputs/target/broken.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {namespace: istio-system}\n",
			"inputs/target/broken.yaml: items[0]: metadata.name: missing"},
		{"no running renders", "inputs/target/cp.yaml", targetCP, "inputs/running"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, "testdata/good", dir)
			if c.name != "no running renders" {
				writeFile(t, filepath.Join(dir, "inputs", "running", "running.yaml"), targetCP)
			}
			writeFile(t, filepath.Join(dir, c.file), c.data)
			code, _, errOut := runVerify(t, dir)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, c.want)
		})
	}
}
