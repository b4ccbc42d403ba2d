package meshgen

import (
	"fmt"
	"strings"
)

// Upgrade is a generated upgrade: the running renders (default revision)
// and the target renders (revision Rev), shaped like istioctl's output for a
// 1.6-era hop: the same object names in both, the target's gateways
// mounting istio-<rev>, the running validator calling Service istiod.
type Upgrade struct {
	RunningControlPlane, RunningGateways string
	TargetControlPlane, TargetGateways   string
	// Namespaces holds Namespace objects labelled for injection and an
	// application Deployment in each (for --include).
	Namespaces string
}

// perUpgradeNamespace is how many objects one namespace adds to the two
// renders together (gateway objects in both, Namespace and app in the
// include).
const perUpgradeNamespace = 17

// NewUpgrade generates an upgrade of about objects objects in all.
func NewUpgrade(objects int, rev string) Upgrade {
	n := (objects - 20) / perUpgradeNamespace
	if n < 1 {
		n = 1
	}
	var u Upgrade
	var rg, tg, ns strings.Builder
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("team-%04d", i)
		gatewayRender(&rg, name, "default", true)
		gatewayRender(&tg, name, rev, false)
		fmt.Fprintf(&ns, includeTemplate, name)
	}
	u.RunningControlPlane = upgradeControlPlane("default")
	u.TargetControlPlane = upgradeControlPlane(rev)
	u.RunningGateways, u.TargetGateways, u.Namespaces = rg.String(), tg.String(), ns.String()
	return u
}

// upgradeControlPlane is a control-plane render: istiod, its Service, mesh
// ConfigMap, ServiceAccount, RBAC, injector and validator, a CRD and the
// istio-system Namespace. The revision render also carries the
// non-revisioned validator (held back by canary-control-plane).
func upgradeControlPlane(rev string) string {
	s := suffix(rev)
	revLabel := rev
	injectorSel := "{matchLabels: {istio-injection: enabled}}"
	if rev != "default" {
		injectorSel = "{matchExpressions: [{key: istio-injection, operator: DoesNotExist}, {key: istio.io/rev, operator: In, values: [" + rev + "]}]}"
	}
	image := "1.5.10"
	if rev != "default" {
		image = "1.6.14"
	}
	return fmt.Sprintf(controlPlaneTemplate, s, revLabel, injectorSel, image)
}

// gatewayRender is one namespace's user gateway as the gateway
// IstioOperator renders it: the same names whatever the revision, and a
// label of its own (istio: <namespace>-gw), as a mesh with many gateways
// gives them (with one shared label, every Gateway resource would program
// every gateway of the mesh: Istio applies selectors mesh-wide).
func gatewayRender(b *strings.Builder, ns, rev string, istioGateway bool) {
	s := suffix(rev)
	vol, image, revLabel := "", "1.5.10", ""
	if rev != "default" {
		vol = fmt.Sprintf(`
        volumeMounts:
        - {name: config-volume, mountPath: /etc/istio/config}
      volumes:
      - name: config-volume
        configMap: {name: istio%s, optional: true}`, s)
		image = "1.6.14"
		revLabel = ", service.istio.io/canonical-revision: " + rev
	}
	fmt.Fprintf(b, gatewayTemplate, ns, s, vol, image, revLabel)
	if istioGateway {
		fmt.Fprintf(b, istioGatewayTemplate, ns)
	}
}
