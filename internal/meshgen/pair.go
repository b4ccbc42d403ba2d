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
		fmt.Fprintf(&ns, `---
apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
  labels: {istio-injection: enabled}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: example.com/web:1.0
        ports:
        - {containerPort: 8080, name: http}
`, name)
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
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: istio-system
  labels: {istio-injection: disabled}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gateways.networking.istio.io
spec:
  group: networking.istio.io
  names: {kind: Gateway, plural: gateways}
  scope: Namespaced
  versions:
  - {name: v1alpha3, served: true, storage: true}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod%[1]s
  namespace: istio-system
  labels: {app: istiod, istio.io/rev: %[2]s}
spec:
  replicas: 2
  selector:
    matchLabels: {app: istiod, istio.io/rev: %[2]s}
  template:
    metadata:
      labels: {app: istiod, istio: pilot, istio.io/rev: %[2]s}
    spec:
      serviceAccountName: istiod%[1]s
      containers:
      - name: discovery
        image: docker.io/istio/pilot:%[4]s
        args: [discovery, --monitoringAddr=:15014]
        env:
        - {name: REVISION, value: %[2]s}
        ports:
        - containerPort: 15010
        - containerPort: 15012
        - containerPort: 15017
---
apiVersion: v1
kind: Service
metadata:
  name: istiod%[1]s
  namespace: istio-system
spec:
  selector: {app: istiod, istio.io/rev: %[2]s}
  ports:
  - {name: grpc-xds, port: 15010}
  - {name: https-dns, port: 15012}
  - {name: https-webhook, port: 443, targetPort: 15017}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: istio%[1]s
  namespace: istio-system
  labels: {istio.io/rev: %[2]s}
data:
  mesh: |-
    defaultConfig:
      discoveryAddress: istiod%[1]s.istio-system.svc:15012
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: istiod%[1]s
  namespace: istio-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: istiod%[1]s-istio-system
rules:
- apiGroups: [networking.istio.io]
  resources: ['*']
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: istiod%[1]s-istio-system
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: istiod%[1]s-istio-system}
subjects:
- {kind: ServiceAccount, name: istiod%[1]s, namespace: istio-system}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: istio-sidecar-injector%[1]s
webhooks:
- name: sidecar-injector.istio.io
  clientConfig:
    service: {name: istiod%[1]s, namespace: istio-system, path: /inject}
  failurePolicy: Fail
  namespaceSelector: %[3]s
  sideEffects: None
  admissionReviewVersions: [v1]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: istiod-istio-system
webhooks:
- name: validation.istio.io
  clientConfig:
    service: {name: istiod, namespace: istio-system, path: /validate}
  failurePolicy: Ignore
  sideEffects: None
  admissionReviewVersions: [v1]
  rules:
  - operations: [CREATE, UPDATE]
    apiGroups: [networking.istio.io]
    apiVersions: ['*']
    resources: ['*']
`, s, revLabel, injectorSel, image)
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
	fmt.Fprintf(b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: gw
  namespace: %[1]s
  labels: {app: istio-ingressgateway, istio: %[1]s-gw}
spec:
  replicas: 2
  selector:
    matchLabels: {app: istio-ingressgateway, istio: %[1]s-gw}
  template:
    metadata:
      labels: {app: istio-ingressgateway, istio: %[1]s-gw%[5]s}
    spec:
      serviceAccountName: gw-service-account
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2:%[4]s
        args: [proxy, router, --serviceCluster, gw]
        env:
        - {name: CA_ADDR, value: istiod%[2]s.istio-system.svc:15012}
        ports:
        - containerPort: 8080
        - containerPort: 8443
        - {containerPort: 15021, name: status-port}%[3]s
---
apiVersion: v1
kind: Service
metadata:
  name: gw
  namespace: %[1]s
spec:
  type: LoadBalancer
  selector: {app: istio-ingressgateway, istio: %[1]s-gw}
  ports:
  - {name: http2, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443}
  - {name: status-port, port: 15021, targetPort: 15021}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: gw
  namespace: %[1]s
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: istio-ingressgateway, istio: %[1]s-gw}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: gw
  namespace: %[1]s
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: gw}
  minReplicas: 2
  maxReplicas: 5
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: gw-service-account
  namespace: %[1]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: gw-sds
  namespace: %[1]s
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, watch, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: gw-sds
  namespace: %[1]s
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gw-sds}
subjects:
- {kind: ServiceAccount, name: gw-service-account}
`, ns, s, vol, image, revLabel)
	if istioGateway {
		fmt.Fprintf(b, `---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: gw
  namespace: %[1]s
spec:
  selector: {istio: %[1]s-gw}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`, ns)
	}
}
