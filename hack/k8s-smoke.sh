#!/usr/bin/env bash
# k8s-smoke.sh ASSET_DIR: start the control plane in ASSET_DIR (etcd,
# kube-apiserver, kube-controller-manager, as laid out by `make k8s` and
# `make k8s-1.24` and `make k8s-1.21`) on loopback, print the API versions it
# serves (as `kubectl api-versions` would), check that the controller manager
# wins leader election and that its controllers act (a Deployment gets a
# ReplicaSet and Pods), then stop everything and remove the temp dir.
#
# Needs curl and openssl. KEEP=1 keeps the temp dir (logs, certs) for reading.
# LEADER_ELECT=false runs the controller manager as the rehearsal does, without
# leader election (then only the Deployment shows that its controllers act).
# Exit status 0 only when every check passed.
set -euo pipefail

dir=${1:?usage: $0 ASSET_DIR}
dir=$(cd "$dir" && pwd)
for b in etcd kube-apiserver kube-controller-manager; do
	[[ -x $dir/$b ]] || { echo "k8s-smoke: no $dir/$b (make k8s / make k8s-1.24 / make k8s-1.21)" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/k8s-smoke.XXXXXX")
pids=()
cleanup() {
	local rc=$?
	# Last started first: the apiserver stops before its etcd goes away.
	local i pid
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[i]}
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${KEEP:-} == 1 ]]; then echo "k8s-smoke: kept $tmp"; else rm -rf "$tmp"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "k8s-smoke: FAIL: $*" >&2
	for l in "$tmp"/*.log; do echo "--- tail $l" >&2; tail -n 20 "$l" >&2; done
	exit 1
}

# A loopback port nothing listens on, not handed out before in this run, and
# below the ephemeral range (where an outgoing connection may hold it).
read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph_lo=32768
used=" "
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % (eph_lo - 10000)))
		[[ $used == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			used+="$p "
			echo "$p"
			return
		fi
	done
}
etcd_client=$(free_port)
used+="$etcd_client "
etcd_peer=$(free_port)
used+="$etcd_peer "
api_port=$(free_port)

# --- etcd
"$dir/etcd" \
	--name=smoke \
	--data-dir="$tmp/etcd" \
	--listen-client-urls="http://127.0.0.1:$etcd_client" \
	--advertise-client-urls="http://127.0.0.1:$etcd_client" \
	--listen-peer-urls="http://127.0.0.1:$etcd_peer" \
	--initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
	--initial-cluster="smoke=http://127.0.0.1:$etcd_peer" \
	--unsafe-no-fsync \
	>"$tmp/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$etcd_client/health" >/dev/null && break
	sleep 0.1
done
curl -sf "http://127.0.0.1:$etcd_client/health" >/dev/null || fail "etcd not healthy"

# --- kube-apiserver
token=$(openssl rand -hex 16)
echo "$token,admin,admin,system:masters" >"$tmp/tokens.csv"
openssl genrsa -out "$tmp/sa.key" 2048 2>/dev/null
openssl rsa -in "$tmp/sa.key" -pubout -out "$tmp/sa.pub" 2>/dev/null
"$dir/kube-apiserver" \
	--etcd-servers="http://127.0.0.1:$etcd_client" \
	--bind-address=127.0.0.1 \
	--advertise-address=127.0.0.1 \
	--secure-port="$api_port" \
	--cert-dir="$tmp/apiserver" \
	--token-auth-file="$tmp/tokens.csv" \
	--authorization-mode=Node,RBAC \
	--service-account-key-file="$tmp/sa.pub" \
	--service-account-signing-key-file="$tmp/sa.key" \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-cluster-ip-range=10.0.0.0/24 \
	--endpoint-reconciler-type=none \
	>"$tmp/kube-apiserver.log" 2>&1 &
pids+=($!)
api=https://127.0.0.1:$api_port
k() { curl -sk -H "Authorization: Bearer $token" "$@"; }
for _ in $(seq 600); do
	[[ $(k "$api/readyz" 2>/dev/null || true) == ok ]] && break
	sleep 0.1
done
[[ $(k "$api/readyz" || true) == ok ]] || fail "kube-apiserver not ready on $api"
echo "== $(k "$api/version" | grep -o '"gitVersion": *"[^"]*"' | cut -d'"' -f4) ready on $api (etcd $(k "http://127.0.0.1:$etcd_client/version" | grep -o '"etcdserver":"[^"]*"' | cut -d'"' -f4))"

echo "== api-versions"
versions=$({
	k "$api/api" | grep -o '"v[0-9][^"]*"' | tr -d '"'
	k "$api/apis" | grep -o '"groupVersion": *"[^"]*"' | cut -d'"' -f4
} | sort -u)
echo "$versions"

# --- kube-controller-manager
cat >"$tmp/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: smoke
  cluster:
    server: $api
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: $token
contexts:
- name: smoke
  context: {cluster: smoke, user: admin}
current-context: smoke
EOF
# shellcheck disable=SC2086 # KCM_EXTRA is a list of flags
"$dir/kube-controller-manager" \
	--kubeconfig="$tmp/kubeconfig" \
	--secure-port=0 \
	--leader-elect="${LEADER_ELECT:-true}" \
	--service-account-private-key-file="$tmp/sa.key" \
	--root-ca-file="$tmp/apiserver/apiserver.crt" \
	${KCM_EXTRA:-} \
	>"$tmp/kube-controller-manager.log" 2>&1 &
pids+=($!)
if [[ ${LEADER_ELECT:-true} == false ]]; then
	sleep 1
	kill -0 "${pids[-1]}" 2>/dev/null || fail "kube-controller-manager exited"
	echo "== kube-controller-manager: leader election off"
else
	for _ in $(seq 300); do
		grep -q 'successfully acquired lease' "$tmp/kube-controller-manager.log" && break
		kill -0 "${pids[-1]}" 2>/dev/null || fail "kube-controller-manager exited"
		sleep 0.1
	done
	grep -q 'successfully acquired lease' "$tmp/kube-controller-manager.log" || fail "kube-controller-manager: no leader lease"
	echo "== kube-controller-manager: $(grep -o 'successfully acquired lease [^"]*' "$tmp/kube-controller-manager.log" | head -1)"
fi

# A Deployment in a new namespace: the serviceaccount controller makes the
# namespace's default ServiceAccount (which pod admission needs), the
# deployment and replicaset controllers make a ReplicaSet and its Pods.
k -X POST -H 'Content-Type: application/json' "$api/api/v1/namespaces" \
	-d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"smoke"}}' >/dev/null
k -X POST -H 'Content-Type: application/json' "$api/apis/apps/v1/namespaces/smoke/deployments" -d '{
  "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}},
      "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}}}}' >/dev/null
pods=0
for _ in $(seq 300); do
	pods=$(k "$api/api/v1/namespaces/smoke/pods" | grep -c '"generateName": *"web-' || true)
	((pods >= 2)) && break
	sleep 0.1
done
((pods >= 2)) || fail "Deployment smoke/web: $pods pods, want 2"
echo "== Deployment smoke/web: ReplicaSet $(k "$api/apis/apps/v1/namespaces/smoke/replicasets" | grep -o '"name": *"web-[^"]*"' | head -1 | cut -d'"' -f4), $pods pods"

# The API versions legacy Istio (1.5-1.7) renders use, which Kubernetes 1.22
# (apiextensions.k8s.io/v1beta1, admissionregistration.k8s.io/v1beta1), 1.25
# and 1.26 stopped serving: when served, an object of each is stored. The
# webhook matches nothing the script creates, and comes last.
post() { k -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@"; }
hpa() {
	echo '{"apiVersion": "'"$1"'", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "'"$2"'"},
  "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    "minReplicas": 1, "maxReplicas": 3, "metrics": [{"type": "Resource", "resource": '"$3"'}]}}'
}
for gv in policy/v1beta1 autoscaling/v2beta1 autoscaling/v2beta2 apiextensions.k8s.io/v1beta1 admissionregistration.k8s.io/v1beta1; do
	if ! grep -qx "$gv" <<<"$versions"; then
		echo "== $gv: not served"
		continue
	fi
	case $gv in
	policy/v1beta1)
		code=$(post "$api/apis/$gv/namespaces/smoke/poddisruptionbudgets" -d '{"apiVersion": "policy/v1beta1",
  "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
  "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}') ;;
	autoscaling/v2beta1)
		code=$(post "$api/apis/$gv/namespaces/smoke/horizontalpodautoscalers" \
			-d "$(hpa "$gv" web-v2beta1 '{"name": "cpu", "targetAverageUtilization": 80}')") ;;
	autoscaling/v2beta2)
		code=$(post "$api/apis/$gv/namespaces/smoke/horizontalpodautoscalers" \
			-d "$(hpa "$gv" web-v2beta2 '{"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}')") ;;
	apiextensions.k8s.io/v1beta1)
		code=$(post "$api/apis/$gv/customresourcedefinitions" -d '{"apiVersion": "apiextensions.k8s.io/v1beta1",
  "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.smoke.example.com"},
  "spec": {"group": "smoke.example.com", "version": "v1alpha1", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"}}}') ;;
	admissionregistration.k8s.io/v1beta1)
		code=$(post "$api/apis/$gv/validatingwebhookconfigurations" -d '{"apiVersion": "admissionregistration.k8s.io/v1beta1",
  "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "smoke"},
  "webhooks": [{"name": "widgets.smoke.example.com", "failurePolicy": "Ignore",
    "clientConfig": {"service": {"namespace": "smoke", "name": "webhook", "path": "/validate"}},
    "rules": [{"apiGroups": ["smoke.example.com"], "apiVersions": ["*"], "operations": ["CREATE"], "resources": ["widgets"]}]}]}') ;;
	esac
	[[ $code == 201 ]] || fail "$gv: create returned HTTP $code"
	echo "== $gv: served, create returned HTTP $code"
done

# The controllers the manager started, and those it did not (skipped for
# want of a flag or cloud provider, disabled by default or by a feature gate).
# v1.24 logs `Started "x"`, `Skipping "x"`, `"x" is disabled`; v1.34 logs
# "Started controller" controller="x" and the like.
log=$tmp/kube-controller-manager.log
echo "== controllers started: $(grep -oE 'Started "[^"]+"|"Started controller" controller="[^"]+"' "$log" | grep -oE '"[^"]+"$' | tr -d '"' | sort -u | tr '\n' ' ')"
echo "== controllers not started:"
grep -E 'Skipping "|" is disabled|Error starting "|"(Warning: skipping controller|Skipping a cloud provider controller|Warning: controller is disabled|Controller is disabled by a feature gate|Error starting controller)"' "$log" |
	sed -E 's/^[IWEF][0-9]{4} [0-9:.]+ +[0-9]+ [^]]+\] //' | sed 's/^/   /'
if grep -E '^E[0-9]{4}' "$log" >/dev/null; then
	echo "== kube-controller-manager errors (first 10):"
	grep -E '^E[0-9]{4}' "$log" | head -10 | sed 's/^/   /'
fi
echo "== ok"
