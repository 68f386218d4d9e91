# anchor — see README.md. Every target works on a fresh machine with Go installed.
GO      ?= go
BIN     := bin/anchor
DEMO    := .anchor-demo
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/anchorkit/anchor/cmd.Version=$(VERSION)

.PHONY: all build run test lint fuzz bench bench-pg docs tidy clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

## run: create a demo config for localhost:8000 on testnet (once) and serve it
run: build
	@test -f $(DEMO)/anchor.yaml || ./$(BIN) init --dir $(DEMO) --home-domain localhost:8000 --network testnet
	./$(BIN) serve --config $(DEMO)/anchor.yaml

## test: the whole suite, as CI runs it: once on bbolt, once on PostgreSQL (a throwaway cluster
## from the machine's postgresql binaries; internal/store/pgtest)
test:
	$(GO) test -race -shuffle=on ./...
	ANCHOR_TEST_STORE=postgres $(GO) test -race -shuffle=on ./...

## lint: formatting, vet, staticcheck (when it can be installed)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./... ; then :; else echo "staticcheck failed or is not installable"; exit 1; fi

## fuzz: a short run of every fuzz target (about 30 s each). Budgets are execution counts, not
## durations: go1.26's coordinator can fail a duration run with "context deadline exceeded" at
## its end without any crashing input (golang/go#75804, fixed in go1.27).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzTokenBody -fuzztime 200000x ./internal/sep10/
	$(GO) test -run '^$$' -fuzz FuzzReadChallenge -fuzztime 200000x ./pkg/sep10/
	$(GO) test -run '^$$' -fuzz FuzzValidate -fuzztime 400000x ./pkg/stellartoml/
	$(GO) test -run '^$$' -fuzz FuzzParsePut -fuzztime 250000x ./internal/sep12/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 300000x ./pkg/stellartoml/
	$(GO) test -run '^$$' -fuzz FuzzResolveURL -fuzztime 1000000x ./pkg/stellartoml/
	$(GO) test -run '^$$' -fuzz FuzzParseClientAccount -fuzztime 1000000x ./pkg/sep10/
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 300000x ./internal/edsig/
	$(GO) test -run '^$$' -fuzz FuzzSignChallenge -fuzztime 300000x ./pkg/sep10/
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 1000000x ./pkg/callbacksig/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 1000000x ./internal/money/
	$(GO) test -run '^$$' -fuzz FuzzEventJSON -fuzztime 300000x ./internal/events/

## bench: start anchor serve and drive SEP-10 at 8 and 64 clients (rounds again with a Horizon stand-in, each beside the SDK webauth baseline); handler and treasury micro-benchmarks
bench: build
	./$(BIN) dev bench --duration 10s --server-log bench-server.log
	./$(BIN) dev bench --duration 10s --modes round --clients 1,2,8,64 --horizon --baseline
	$(GO) test -run '^$$' -bench . -benchmem ./internal/sep10/ ./internal/treasury/
	$(GO) test -run '^$$' -bench 'ListPage' -benchmem ./internal/transfer/ ./internal/kyc/
	$(GO) test -run '^$$' -bench 'TxListProcess' -benchtime 20x -timeout 30m ./cmd/

## bench-pg: the same on PostgreSQL (a throwaway durable cluster), one replica then two; then PostgreSQL's own ceiling (pgbench, no anchor)
bench-pg: build
	scripts/bench-pg.sh --duration 10s --modes round,kyc-put,deposit --clients 1,2,8,64
	BENCH_REPLICAS=1 scripts/bench-pg.sh --duration 10s --modes round --clients 1,2,8,64 --horizon --baseline
	scripts/pg-ceiling.sh 16 10

## docs: regenerate the command reference in docs/cli from the command tree
docs: build
	rm -rf docs/cli && ./$(BIN) dev gen-docs docs/cli

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin bench-server.log
