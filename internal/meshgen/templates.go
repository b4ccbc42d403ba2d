package meshgen

// The objects of a generated upgrade, as istioctl renders them for a
// 1.6-era hop; fmt verbs stand for what differs per revision and per
// namespace.

// includeTemplate is one namespace of --include: a Namespace labelled for
// injection and an application in it (%[1]s: the namespace).
const includeTemplate = `---
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
`

// controlPlaneTemplate is a control-plane render (%[1]s: the revision's
// name suffix, %[2]s: the revision, %[3]s: the injector's namespace
// selector, %[4]s: the Istio version).
const controlPlaneTemplate = `apiVersion: v1
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
`

// gatewayTemplate is a namespace's user gateway (%[1]s: the namespace,
// %[2]s: the revision's name suffix, %[3]s: the mesh ConfigMap volume,
// %[4]s: the Istio version, %[5]s: the canonical-revision label).
const gatewayTemplate = `---
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
`

// istioGatewayTemplate is the Istio Gateway resource that programs a
// namespace's gateway (%[1]s: the namespace).
const istioGatewayTemplate = `---
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
`
