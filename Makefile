# revshift: every target installs what it needs into ./bin; nothing is assumed
# on the machine but Go.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

BIN        := $(CURDIR)/bin
KUSTOMIZE  := $(BIN)/kustomize
KUSTOMIZE_VERSION := v5.7.1
BENCHSTAT  := $(BIN)/benchstat
K8S_BIN    := $(BIN)/k8s
K8S_VERSION := v1.34.3
K8S_LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34
export GOTOOLCHAIN := local
export PATH := $(BIN):$(PATH)

FUNCTIONS  := $(notdir $(wildcard functions/*))
FUZZTIME   ?= 10s
BENCHCOUNT ?= 6

.PHONY: all build tools k8s test unit examples conformance demo bench fuzz fmt vet clean

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

## k8s: kube-apiserver and kube-controller-manager $(K8S_VERSION) into bin/k8s/, built from the
## module hack/k8s (kept out of the product's go.mod); the first build takes minutes
k8s: $(K8S_BIN)/kube-apiserver $(K8S_BIN)/kube-controller-manager
$(K8S_BIN)/%:
	@mkdir -p $(K8S_BIN)
	cd hack/k8s && go build -ldflags "$(K8S_LDFLAGS)" -o $(K8S_BIN)/ k8s.io/kubernetes/cmd/$*

$(BENCHSTAT):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) go install golang.org/x/perf/cmd/benchstat@v0.0.0-20250813145418-2f7363a06fe1

## test: unit, golden, conformance (skipped without ../shared), fuzz seeds, examples
test: build tools vet
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

clean:
	rm -rf $(BIN)
