# Crier's build and test entry points. `make test` is what CI runs (see .ci/run).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/crierhq/crier/internal/cli.version=$(VERSION)

.PHONY: build test lint fuzz bench demo

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o crier ./cmd/crier

## test: formatting, vet, and every test with the race detector against real PostgreSQL.
## gotestsum (a tool in go.mod) prints each package, every failure in full, and at the end
## every skipped test with its reason, so a skip can't pass unseen.
test: lint
	$(GO) tool gotestsum --format pkgname-and-test-fails --format-hide-empty-pkg -- -race -count=1 -timeout 30m ./...

lint:
	@unformatted="$$(gofmt -l cmd internal migrations templates 2>/dev/null)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## fuzz: run each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./internal/contact/ -run '^$$' -fuzz '^FuzzNormalizePhone$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/contact/ -run '^$$' -fuzz '^FuzzNormalizePostcode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/contact/ -run '^$$' -fuzz '^FuzzNormalizeEmail$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/contact/ -run '^$$' -fuzz '^FuzzReadCSV$$' -fuzztime $(FUZZTIME)

## bench: the import and send benchmarks (tables as in docs/benchmarks.md) and the Go micro-benchmarks.
bench: build
	./crier bench import
	./crier bench send
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

demo:
	$(GO) run ./cmd/crier demo
