# esash: `make run` starts the shell on a live appliance, `make test` runs
# every check CI runs.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
BIN     := bin/esash
FUZZTIME ?= 20s
CLUSTER_COMMITS ?= 200

.PHONY: build run serve test check deps fuzz bench bench-mta bench-queue bench-cluster crash clean

build: ## build bin/esash
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.buildDate=$(shell date -u +%F)" -o $(BIN) ./cmd/esash

run: build ## the shell on a live appliance (data in ./esash-data or $$ESASH_DATA)
	./$(BIN)

serve: build ## the daemon in the foreground
	./$(BIN) serve

deps: ## install the real test peers (Debian packages) when missing
	./scripts/testdeps.sh

check: ## gofmt, go vet, the dependency rules
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd third_party/go-smtp && $(GO) vet ./...
	cd third_party/go-pkcs12 && $(GO) vet ./...
	$(GO) test -count=1 -run TestDependencyRules .

test: deps check ## everything CI runs
	$(GO) test -race -count=1 -timeout 20m ./...
	cd third_party/go-smtp && $(GO) test -race -count=1 ./...
	cd third_party/go-pkcs12 && $(GO) test -race -count=1 ./...

fuzz: ## run each fuzz target for FUZZTIME
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench: ## benchmarks: shell start, a 10,000-line script, commit latency; the MTA against the bare Go ceiling and Postfix, relays included
	$(GO) test -run '^$$' -bench . -benchtime 20x ./store/ ./cmd/esash/
	./cmd/smtpload/bench.sh

bench-queue: ## a queue of 1,000,000 messages for an unreachable domain: restart until mail is accepted, RSS, List (showqueue), the delivery scan
	ESASH_BIGQUEUE=1000000 $(GO) test -run '^$$' -bench BigQueue -benchtime 1x -timeout 1h ./mta/queue/

bench-mta: ## the MTA part of bench alone (knobs in cmd/smtpload/bench.sh: TARGETS, CONCS, PERS, SIZES, DUR, REPS ...)
	./cmd/smtpload/bench.sh

bench-cluster: ## issue 13: commit latency standalone vs a 3-member cluster of daemons (production etcd timeouts), commit to active on all members (p50/p99), RSS added by the embedded member; CLUSTER_COMMITS commits each
	@out=$$(mktemp /tmp/esash-bench-cluster.XXXXXX); \
	  $(GO) test -run '^$$' -bench '^BenchmarkCluster$$' -benchtime $(CLUSTER_COMMITS)x -timeout 30m ./cmd/esash/ >$$out 2>&1; rc=$$?; \
	  awk -f scripts/bench-cluster-table.awk $$out; echo "(raw output: $$out)"; exit $$rc

crash: ## the MTA killed with SIGKILL 20 times while delivering: logs acknowledged / lost / duplicated
	ESASH_CRASH_KILLS=20 $(GO) test -race -count=1 -v -run '^TestDeliverCrash$$' ./mta/

clean:
	rm -rf bin
