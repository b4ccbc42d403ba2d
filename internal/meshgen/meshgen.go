// Package meshgen writes synthetic rendered meshes of any size, in the shape
// of istioctl output, for benchmarks and property tests: a control plane per
// revision, and namespaces each holding a user gateway (Deployment, Service,
// PDB, HPA, ServiceAccount, Role, RoleBinding, Istio Gateway) and
// application workloads with their Services.
package meshgen

import (
	"fmt"
	"strings"
)

// Options shapes a generated mesh.
type Options struct {
	// Objects is the approximate number of objects wanted.
	Objects int
	// Revision of the control plane and gateways ("default" for none).
	Revision string
	// GatewayConfigMap is kept for callers; a gateway of a revision other
	// than default always mounts istio-<rev> as config-volume (1.6+ shape).
	GatewayConfigMap bool
}

// perNamespace is how many objects one generated namespace holds.
const perNamespace = 13

// YAML returns the mesh as a multi-document YAML stream.
func YAML(o Options) string {
	if o.Revision == "" {
		o.Revision = "default"
	}
	var b strings.Builder
	controlPlane(&b, o.Revision)
	n := (o.Objects - controlPlaneObjects) / perNamespace
	if n < 1 {
		n = 1
	}
	for i := 0; i < n; i++ {
		namespace(&b, fmt.Sprintf("team-%04d", i), o)
	}
	return b.String()
}

func suffix(rev string) string {
	if rev == "default" {
		return ""
	}
	return "-" + rev
}

func controlPlane(b *strings.Builder, rev string) {
	b.WriteString(upgradeControlPlane(rev))
}

// controlPlaneObjects is how many objects upgradeControlPlane renders.
const controlPlaneObjects = 10

func namespace(b *strings.Builder, ns string, o Options) {
	fmt.Fprintf(b, `---
apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
  labels: {istio.io/rev: %[2]s}
`, ns, o.Revision)
	gatewayRender(b, ns, o.Revision, true)
	for _, app := range []string{"web", "api"} {
		fmt.Fprintf(b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels: {app: %[2]s}
  template:
    metadata:
      labels: {app: %[2]s}
    spec:
      serviceAccountName: %[2]s
      containers:
      - name: %[2]s
        image: example.com/%[2]s:1.0
        ports:
        - {containerPort: 8080, name: http}
---
apiVersion: v1
kind: Service
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  selector: {app: %[2]s}
  ports:
  - {name: http, port: 80, targetPort: http}
`, ns, app)
	}
}
