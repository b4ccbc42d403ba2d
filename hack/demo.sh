#!/usr/bin/env bash
# The README's first command (make demo): plan the 1.5.10 -> 1.6.14 upgrade of
# the example renders in kustomization-examples/, verify it, and print the
# per-step table; then the same for 1.29.6 -> 1.31.0, rendered by istioctl
# and by Helm (with the revision tag prod-stable moved).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/bin:$PATH"
out=${DEMO_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/revshift-demo.XXXXXX")}
status=0
demo() {
  local name=$1 from=$2 to=$3; shift 3
  echo
  echo "=== $name: revshift plan --from ${from#"$root"/} --to ${to#"$root"/} $*"
  if ! revshift plan --from "$from" --to "$to" --out "$out/$name" "$@"; then status=1; fi
  echo "--- steps written to $out/$name (README.md there: per step what changes, what to watch, the traffic graph)"
}
ex="$root/kustomization-examples"
demo 1.5-to-1.6 "$ex/1.5-to-1.6/renders/1.5.10" "$ex/1.5-to-1.6/renders/1.6.14" --include "$ex/1.5-to-1.6/renders/namespaces"
demo 1.29-to-1.31 "$ex/1.29-to-1.31/renders/1.29.6" "$ex/1.29-to-1.31/renders/1.31.0"
demo 1.29-to-1.31-helm "$ex/1.29-to-1.31-helm/renders/1.29.6" "$ex/1.29-to-1.31-helm/renders/1.31.0" --include "$ex/1.29-to-1.31-helm/renders/namespaces" --tag prod-stable
echo
echo "=== revshift verify $out/1.5-to-1.6 -graph 03-canary-gateways   (the traffic path while both gateways serve)"
revshift verify -graph 03-canary-gateways "$out/1.5-to-1.6" || status=1
exit $status
