# revshift: every target installs what it needs into ./bin; nothing is assumed
# on the machine but Go.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

BIN        := $(CURDIR)/bin
KUSTOMIZE  := $(BIN)/kustomize
KUSTOMIZE_VERSION := v5.7.1
BENCHSTAT  := $(BIN)/benchstat
GOLANGCI_LINT := $(BIN)/golangci-lint
GOLANGCI_LINT_VERSION := v2.15.0
# Control-plane assets, one directory per version in setup-envtest's layout:
# bin/k8s/<version>-<goos>-<goarch>/{etcd,kube-apiserver,kube-controller-manager}.
K8S_BIN    := $(BIN)/k8s
K8S_PLATFORM := $(shell GOTOOLCHAIN=local go env GOOS)-$(shell GOTOOLCHAIN=local go env GOARCH)
# $(call k8s_ldflags,1.34.3) stamps the version where Kubernetes' own build
# (hack/lib/version.sh) does: component-base (--version, the apiserver's
# version) and client-go (user agents; in v1.24 the /version endpoint, which
# the aggregator serves).
k8s_ldflags = $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,-X $(p).gitVersion=v$(1) -X $(p).gitMajor=1 -X $(p).gitMinor=$(word 2,$(subst ., ,$(1))))
K8S_VERSION := 1.34.3
K8S_DIR    := $(K8S_BIN)/$(K8S_VERSION)-$(K8S_PLATFORM)
K8S_LDFLAGS := $(call k8s_ldflags,$(K8S_VERSION))
K8S_124_VERSION := 1.24.17
K8S_124_DIR := $(K8S_BIN)/$(K8S_124_VERSION)-$(K8S_PLATFORM)
K8S_124_LDFLAGS := $(call k8s_ldflags,$(K8S_124_VERSION))
K8S_121_VERSION := 1.21.14
K8S_121_DIR := $(K8S_BIN)/$(K8S_121_VERSION)-$(K8S_PLATFORM)
K8S_121_LDFLAGS := $(call k8s_ldflags,$(K8S_121_VERSION))
# hack/k8s-1.21/build-tree.sh's tree (vendor/ and the generated OpenAPI file
# that module k8s.io/kubernetes v1.21.14 lacks) the 1.21 commands build from.
K8S_121_TREE := $(BIN)/k8s-build/$(K8S_121_VERSION)
export GOTOOLCHAIN := local
export PATH := $(BIN):$(PATH)

FUNCTIONS  := $(notdir $(wildcard functions/*))
FUZZTIME   ?= 10s
BENCHCOUNT ?= 6

.PHONY: all build tools k8s k8s-1.24 k8s-1.21 rehearse e2e test unit examples conformance demo bench fuzz fmt vet lint clean

all: build

## build: every function (and the revshift binary, when present) into bin/
build:
	@mkdir -p $(BIN)
	go build -o $(BIN)/ ./functions/... ./cmd/...

## tools: kustomize $(KUSTOMIZE_VERSION) into bin/ with go install
tools: $(KUSTOMIZE)
$(KUSTOMIZE):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

## k8s: etcd 3.6.4, kube-apiserver and kube-controller-manager v$(K8S_VERSION) into
## bin/k8s/$(K8S_VERSION)-<goos>-<goarch>/, built from the module hack/k8s (kept out of the
## product's go.mod); the first build takes minutes
k8s: $(K8S_DIR)/etcd $(K8S_DIR)/kube-apiserver $(K8S_DIR)/kube-controller-manager
$(K8S_DIR)/kube-%: hack/k8s/go.mod hack/k8s/go.sum
	@mkdir -p $(@D)
	cd hack/k8s && go build -ldflags "$(K8S_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-$*

## k8s-1.24: kube-apiserver and kube-controller-manager v$(K8S_124_VERSION) (for legacy Istio
## 1.5-1.7 renders: policy/v1beta1, autoscaling/v2beta1 and v2beta2) and etcd 3.6.4 into
## bin/k8s/$(K8S_124_VERSION)-<goos>-<goarch>/, built from the module hack/k8s-1.24
k8s-1.24: $(K8S_124_DIR)/etcd $(K8S_124_DIR)/kube-apiserver $(K8S_124_DIR)/kube-controller-manager
$(K8S_124_DIR)/kube-%: hack/k8s-1.24/go.mod hack/k8s-1.24/go.sum
	@mkdir -p $(@D)
	cd hack/k8s-1.24 && go build -ldflags "$(K8S_124_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-$*

## k8s-1.21: kube-apiserver and kube-controller-manager v$(K8S_121_VERSION) (for legacy Istio
## 1.5-1.7 renders: apiextensions.k8s.io/v1beta1 CRDs and admissionregistration.k8s.io/v1beta1
## webhooks, which 1.22 removed) and etcd 3.6.4 into bin/k8s/$(K8S_121_VERSION)-<goos>-<goarch>/,
## built from the module hack/k8s-1.21 plus the OpenAPI code it generates
k8s-1.21: $(K8S_121_DIR)/etcd $(K8S_121_DIR)/kube-apiserver $(K8S_121_DIR)/kube-controller-manager
$(K8S_121_TREE)/vendor/modules.txt: hack/k8s-1.21/go.mod hack/k8s-1.21/go.sum hack/k8s-1.21/tools.go hack/k8s-1.21/build-tree.sh
	hack/k8s-1.21/build-tree.sh $(K8S_121_TREE)
$(K8S_121_DIR)/kube-%: $(K8S_121_TREE)/vendor/modules.txt
	@mkdir -p $(@D)
	cd $(K8S_121_TREE) && go build -mod=vendor -ldflags "$(K8S_121_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-$*

# etcd is hack/k8s's 3.6.4 in every version's directory: the v3 API it serves
# is the one the etcd clients of kube-apiserver v1.24 (3.5) and v1.21 (3.4.13)
# speak.
$(K8S_BIN)/%/etcd: hack/k8s/go.mod hack/k8s/go.sum hack/k8s/cmd/etcd/main.go
	@mkdir -p $(@D)
	cd hack/k8s && go build -o $@ ./cmd/etcd

## rehearse: bin/revshift-rehearse, which `revshift rehearse` runs, built from the module
## hack/rehearse (envtest, client-go and Flux's ssa, kept out of the product's go.mod)
rehearse: build
	cd hack/rehearse && go build -o $(BIN)/ ./cmd/revshift-rehearse

## e2e: rehearse the example hops and their broken variants on real control planes
## (1.34 for the modern hop, 1.24 for the legacy one); builds the assets first: 1.34, 1.24
## and 1.21 (which the legacy example's v1beta1 CRDs and webhooks need)
e2e: build tools rehearse k8s k8s-1.24 k8s-1.21 $(GOLANGCI_LINT)
	@test -z "$$(cd hack/rehearse && gofmt -l .)" || { (cd hack/rehearse && gofmt -l .); echo "gofmt: run make fmt"; exit 1; }
	cd hack/rehearse && go vet ./... && $(GOLANGCI_LINT) run ./...
	cd hack/rehearse && go test -count=1 -timeout 60m -parallel 3 ./...

$(BENCHSTAT):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) go install golang.org/x/perf/cmd/benchstat@v0.0.0-20250813145418-2f7363a06fe1

## test: lint, unit, golden, conformance (skipped without ../shared), fuzz seeds, examples
test: build tools vet lint
	go test ./...
	$(MAKE) --no-print-directory examples

## examples: build every kustomization-examples/*/* with the real kustomize and compare with expected.yaml
examples: build tools
	@./hack/check-examples.sh $(KUSTOMIZE)

## demo: plan and verify the example renders (falls back to the examples while revshift is not built)
demo: build tools
	@./hack/demo.sh

## bench: benchmarks, with ratios against baselines measured in the same run
bench: build tools
	go test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./... | tee bench.out
	@go run ./hack/benchratio < bench.out

## fuzz: each fuzz target for FUZZTIME
fuzz:
	@for pkg in $$(go list ./...); do \
	  for t in $$(go test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; go test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg; \
	  done; \
	done

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: run make fmt"; exit 1; }
	go vet ./...

## lint: golangci-lint $(GOLANGCI_LINT_VERSION) with .golangci.yml (errcheck, govet, ineffassign,
## staticcheck, unused; goimports)
lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...
$(GOLANGCI_LINT):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

clean:
	rm -rf $(BIN)
