#!/usr/bin/env bash
# build-tree.sh DEST: lay out DEST as the tree `make k8s-1.21` builds
# kube-apiserver and kube-controller-manager v1.21.14 from: this module's
# go.mod, go.sum and tools.go, its dependencies in DEST/vendor, and the one
# file the published k8s.io/kubernetes v1.21.14 lacks,
# pkg/generated/openapi/zz_generated.openapi.go.
#
# Kubernetes 1.21 generated that file at build time (`make` ran openapi-gen,
# build/root/Makefile.generated_files); it was first committed in 1.24, so
# module v1.21.14 has the package without it and kube-apiserver does not
# compile (undefined: generatedopenapi.GetOpenAPIDefinitions). The go command
# refuses to change a file in the module cache (go build -overlay included),
# hence a vendor tree that holds the generated file.
#
# The generation follows Makefile.generated_files: openapi-gen from the
# kube-openapi and gengo Kubernetes 1.21 pins (this module's `tool`), with
# input every package of k8s.io/kubernetes and its staging modules (but
# code-generator and sample-apiserver) with a file that carries a `// +k8s:`
# tag and `+k8s:openapi-gen=`. As in Kubernetes' build, the API rule
# violations openapi-gen reports must equal api/api-rules/
# violation_exceptions.list of k8s.io/kubernetes v1.21.14; that also shows
# the same types went in.
set -euo pipefail

dest=${1:?usage: $0 DEST}
cd "$(dirname "$0")"
mkdir -p "$(dirname "$dest")"
dest=$(cd "$(dirname "$dest")" && pwd)/$(basename "$dest")
tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp go.mod go.sum tools.go "$tmp/"
cd "$tmp"

# Module directories (module mode: the inputs are not all vendored). go mod
# download may add go.sum lines; they land in the copy, not in hack/k8s-1.21.
kube=$(go mod download -json k8s.io/kubernetes | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -d $kube ]] || { echo "build-tree: k8s.io/kubernetes not in the module cache" >&2; exit 1; }
# find_inputs ROOT IMPORT_PREFIX (grep's status 1, no match, is no error)
find_inputs() {
	(cd "$1" && find -H . \( -name '_*' -o -name '.[^.]*' -o -path ./vendor \) -prune -o -type f -name '*.go' -print |
		xargs -r sh -c 'grep --color=never -l "^// *+k8s:" "$@" || [ $? = 1 ]' sh |
		xargs -r sh -c 'grep --color=never -l "+k8s:openapi-gen=" "$@" || [ $? = 1 ]' sh |
		xargs -r -n1 dirname | sed "s|^\.|$2|")
}
{
	find_inputs "$kube" k8s.io/kubernetes
	# The staging modules go.mod replaces; those outside the build list
	# (k8s.io/sample-controller, k8s.io/sample-cli-plugin) carry no tag.
	for m in $(sed -n 's/^\t\(k8s\.io\/[^ ]*\) => .*/\1/p' go.mod); do
		[[ $m == k8s.io/code-generator || $m == k8s.io/sample-apiserver ]] && continue
		go list -m "$m" >/dev/null 2>&1 || continue
		d=$(go mod download -json "$m" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
		[[ -d $d ]] || { echo "build-tree: $m not in the module cache" >&2; exit 1; }
		find_inputs "$d" "$m"
	done
} | LC_ALL=C sort -u >openapi-inputs.txt
echo "build-tree: openapi-gen over $(wc -l <openapi-inputs.txt) packages"

# gengo (2020) predates go/types' Alias nodes, which Go >= 1.23 makes by
# default; gotypesalias=0 gives it the types it was written for (the output
# is the same either way, without the warnings).
GODEBUG=gotypesalias=0 go tool openapi-gen \
	--input-dirs "$(paste -sd, openapi-inputs.txt)" \
	--output-package k8s.io/kubernetes/pkg/generated/openapi \
	--output-file-base zz_generated.openapi \
	--go-header-file "$kube/hack/boilerplate/boilerplate.generatego.txt" \
	--report-filename openapi-violations.txt \
	--output-base gen
if ! diff <(LC_ALL=C sort "$kube/api/api-rules/violation_exceptions.list") <(LC_ALL=C sort openapi-violations.txt); then
	echo "build-tree: openapi-gen's API rule violations differ from k8s.io/kubernetes' violation_exceptions.list" >&2
	exit 1
fi

go mod vendor
mv gen/k8s.io/kubernetes/pkg/generated/openapi/zz_generated.openapi.go vendor/k8s.io/kubernetes/pkg/generated/openapi/
rm -rf gen
rm -rf "$dest"
mv "$tmp" "$dest"
