# revshift: every target installs what it needs into ./bin; nothing is assumed
# on the machine but Go.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

BIN        := $(CURDIR)/bin
KUSTOMIZE  := $(BIN)/kustomize
KUSTOMIZE_VERSION := v5.7.1
BENCHSTAT  := $(BIN)/benchstat
export GOTOOLCHAIN := local
export PATH := $(BIN):$(PATH)

FUNCTIONS  := $(notdir $(wildcard functions/*))
FUZZTIME   ?= 10s
BENCHCOUNT ?= 6

.PHONY: all build tools test unit examples conformance demo bench fuzz fmt vet clean

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
