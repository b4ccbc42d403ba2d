#!/usr/bin/env bash
# Renders every YAML file of this folder from Istio's Helm charts, byte for
# byte. Usage: render.sh ISTIO_GIT_DIR [HELM]
#   ISTIO_GIT_DIR: a clone of https://github.com/istio/istio with its tags
#   HELM: helm v3 (default: helm on PATH; these files were made with
#         helm v3.21.4, go install helm.sh/helm/v3/cmd/helm@v3.21.4)
# The charts are taken from manifests/charts/ at the tags, and their
# Chart.yaml version and appVersion set to the tag, as istio/release-builder
# does when it packages them. See README.md.
set -euo pipefail
istio=${1:?usage: render.sh ISTIO_GIT_DIR [HELM]}
helm=${2:-helm}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# charts TAG: the base, istiod and gateway charts of TAG in $work/TAG.
charts() {
	local tag=$1
	mkdir -p "$work/$tag"
	git --git-dir="$istio" archive "$tag" manifests/charts/base manifests/charts/istio-control/istio-discovery manifests/charts/gateway |
		tar -x -C "$work/$tag"
	for c in base istio-control/istio-discovery gateway; do
		sed -i -e "s/^version: .*/version: $tag/" -e "s/^appVersion: .*/appVersion: $tag/" \
			"$work/$tag/manifests/charts/$c/Chart.yaml"
	done
}

# render TAG OUT RELEASE CHART NS VALUES [HELM FLAGS...]: helm template into
# OUT (appended).
render() {
	local tag=$1 out=$2 release=$3 chart=$4 ns=$5 values=$6
	shift 6
	local args=(-f "$here/values/$values" "$@")
	"$helm" template "$release" "$work/$tag/manifests/charts/$chart" -n "$ns" "${args[@]}" >>"$here/$out"
}

charts 1.29.6
charts 1.31.0-rc.0
mkdir -p "$here/1.29.6" "$here/1.29.6-revisioned" "$here/1.31.0" "$here/tags"
rm -f "$here"/1.29.6/*.yaml "$here"/1.29.6-revisioned/*.yaml "$here"/1.31.0/*.yaml "$here"/tags/*.yaml

render 1.29.6 1.29.6/base.yaml istio-base base istio-system base.yaml
render 1.29.6 1.29.6/istiod.yaml istiod istio-control/istio-discovery istio-system istiod.yaml
render 1.29.6 1.29.6/gateways.yaml ingress gateway istio-ingress gateway-ingress.yaml
render 1.29.6 1.29.6/gateways.yaml ingress-tagged gateway istio-ingress gateway-ingress-tagged.yaml

# The same hop from a revisioned install: istiod revision 1-29-6 (no default
# injector), the base chart's default validator on it (only that template:
# the CRDs are those of 1.29.6/base.yaml), gateway ingress on 1-29-6 and
# ingress-tagged on the tag as above.
render 1.29.6 1.29.6-revisioned/base.validator.yaml istio-base base istio-system base.revisioned.yaml \
	--show-only templates/defaultrevision-validatingwebhookconfiguration.yaml
render 1.29.6 1.29.6-revisioned/istiod.rev-1-29-6.yaml istiod-1-29-6 istio-control/istio-discovery istio-system istiod.rev-1-29-6.yaml
render 1.29.6 1.29.6-revisioned/gateways.yaml ingress gateway istio-ingress gateway-ingress.rev-1-29-6.yaml
render 1.29.6 1.29.6-revisioned/gateways.yaml ingress-tagged gateway istio-ingress gateway-ingress-tagged.yaml
render 1.31.0-rc.0 1.31.0/base.validator.revisioned.yaml istio-base base istio-system base.revisioned.yaml \
	--show-only templates/defaultrevision-validatingwebhookconfiguration.yaml

render 1.31.0-rc.0 1.31.0/base.yaml istio-base base istio-system base.yaml
render 1.31.0-rc.0 1.31.0/istiod.rev-1-31-0.yaml istiod-1-31-0 istio-control/istio-discovery istio-system istiod.rev-1-31-0.yaml
render 1.31.0-rc.0 1.31.0/gateways.rev-1-31-0.yaml ingress gateway istio-ingress gateway-ingress.rev-1-31-0.yaml
render 1.31.0-rc.0 1.31.0/gateways.rev-1-31-0.yaml ingress-tagged gateway istio-ingress gateway-ingress-tagged.rev-1-31-0.yaml

# The tag moved: the same istiod release with revisionTags, only the
# revision-tags templates.
"$helm" template istiod-1-31-0 "$work/1.31.0-rc.0/manifests/charts/istio-control/istio-discovery" -n istio-system \
	-f "$here/values/istiod.rev-1-31-0.yaml" -f "$here/values/tag-prod-stable.rev-1-31-0.yaml" \
	--show-only templates/revision-tags-mwc.yaml --show-only templates/revision-tags-svc.yaml \
	>"$here/tags/tag-prod-stable.rev-1-31-0.yaml"
"$helm" template istiod-1-31-0 "$work/1.31.0-rc.0/manifests/charts/istio-control/istio-discovery" -n istio-system \
	-f "$here/values/istiod.rev-1-31-0.yaml" -f "$here/values/tag-default.rev-1-31-0.yaml" \
	--show-only templates/revision-tags-mwc.yaml \
	>"$here/tags/tag-default.rev-1-31-0.yaml"
