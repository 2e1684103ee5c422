# drill — build, test and demo targets. `make help` lists them.
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The commit is recorded in every result (toolCommit), with +dirty for uncommitted changes.
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
# -s -w drop the symbol table and DWARF (about a third of the binary); -trimpath keeps this
# machine's paths out of it, so two builds of one commit are the same file.
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
RELEASE_OS   ?= $(shell $(GO) env GOOS)
RELEASE_ARCH ?= $(shell $(GO) env GOARCH)
RELEASE_NAME := drill-$(VERSION)-$(RELEASE_OS)-$(RELEASE_ARCH)

.PHONY: help build release deps moto localstack etcd test test-localstack lint demo demo-web accuracy memory scale history-scale clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/drill and bin/demo-web
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/drill ./cmd/drill
	$(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/demo-web ./cmd/demo-web

# A static binary (no cgo) runs on any Linux of its architecture; the .sha256 file is in
# sha256sum's format, so `sha256sum -c` checks a download.
release: ## dist/drill-VERSION-OS-ARCH (stripped, -trimpath, static) and its .sha256 (RELEASE_OS=darwin RELEASE_ARCH=arm64 to cross-build)
	@mkdir -p dist
	CGO_ENABLED=0 GOOS=$(RELEASE_OS) GOARCH=$(RELEASE_ARCH) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o dist/$(RELEASE_NAME) ./cmd/drill
	@cd dist && if command -v sha256sum >/dev/null; then sha256sum $(RELEASE_NAME); else shasum -a 256 $(RELEASE_NAME); fi > $(RELEASE_NAME).sha256
	@echo "dist/$(RELEASE_NAME)  dist/$(RELEASE_NAME).sha256" >&2

deps: ## install test dependencies that are not Go modules (chromium, mariadb-server, postgresql; CI runs this)
	scripts/ci-deps.sh

etcd: bin/etcd ## build the pinned upstream etcd server and etcdutl into bin/ (takes minutes once)

# etcd is built as a dependency of the small module in tools/etcd: `go install` of the server
# fails on the replace directives in etcd's own go.mod.
bin/etcd: tools/etcd/go.mod tools/etcd/go.sum tools/etcd/main.go tools/etcd/etcdutl/main.go
	cd tools/etcd && $(GO) build -o ../../bin/etcd . && $(GO) build -o ../../bin/etcdutl ./etcdutl

moto: ## install the moto AWS emulator into .venv (the AWS integration tests start it)
	bash localstack/install-moto.sh

localstack: ## install LocalStack's community runtime into .venv-localstack (no Docker; needs Python >= 3.12)
	bash localstack/install-localstack.sh

# Tests that need a tool that is missing (chromium, an emulator, a database) fail under CI=true
# and skip otherwise, recording themselves in DRILL_SKIP_LOG; the line after the run names them.
test: build etcd moto ## run every test (installs what the integration tests need first)
	@log="$$(mktemp)"; \
	DRILL_SKIP_LOG="$$log" $(GO) test -count=1 ./...; rc=$$?; \
	if [ -s "$$log" ]; then \
		echo "SKIPPED tests that need: $$(sort -u "$$log" | awk -F'\t' '{ printf "%s%s (%s)", (NR > 1 ? "; " : ""), $$1, $$2 }')"; \
	fi; \
	rm -f "$$log"; exit $$rc

# The packages whose tests start an AWS emulator; in cmd/drill only its AWS tests.
AWS_PKGS  := ./localstack/... ./faults/awsfault/ ./probes/awsprobe/ ./resultstore/
AWS_CMD_TESTS := ^(TestRunAWSDrillThroughCLI|TestLibraryAgainstEmulator|TestResultsVerbs|TestBinarySIGKILLAWSThenRecover)$$

test-localstack: build localstack ## run the AWS integration tests against LocalStack's community runtime on the host
	DRILL_TEST_EMULATOR=localstack AWS_EC2_METADATA_DISABLED=true $(GO) test -count=1 $(AWS_PKGS)
	DRILL_TEST_EMULATOR=localstack AWS_EC2_METADATA_DISABLED=true $(GO) test -count=1 -run '$(AWS_CMD_TESTS)' ./cmd/drill/

lint: ## gofmt and go vet
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: ## run a real drill: lose a follower of a local 3-member etcd cluster (no AWS, no Docker)
	@echo "demo: building bin/drill$$([ -x $(BIN)/etcd ] || echo ' and the pinned etcd server (bin/etcd; takes a few minutes the first time, then it is reused)')" >&2
	@$(MAKE) --no-print-directory build etcd >/dev/null
	@mkdir -p out
	@echo "demo: running scenarios/library/etcd/follower-loss.yaml" >&2
	@bin/drill run scenarios/library/etcd/follower-loss.yaml --json out/follower-loss.json --junit out/follower-loss.junit.xml; rc=$$?; \
	echo "demo: results in out/follower-loss.json (drill.result/v1) and out/follower-loss.junit.xml (JUnit); history: bin/drill history" >&2; \
	exit $$rc

demo-web: build ## a quicker real drill: SIGKILL a local web service, restart it, measure RTO
	scripts/demo.sh

ACCURACY_INTERVAL ?= 20ms
MEMORY_DURATION   ?= 2m

accuracy: build ## 20 drills against a local server down for a known time: error of measured RTO (ACCURACY_INTERVAL=1ms|5ms|20ms)
	ACCURACY_INTERVAL=$(ACCURACY_INTERVAL) $(GO) test -count=1 -run '^$$' -bench BenchmarkAccuracy -benchtime 1x ./runner/

memory: ## 50 http probes at 10ms for MEMORY_DURATION (2m): peak RSS, live heap per sample, 30-min extrapolation
	$(GO) test -count=1 -run '^$$' -bench BenchmarkSampleRetention -benchtime 1x ./runner/
	MEMORY_DURATION=$(MEMORY_DURATION) $(GO) test -count=1 -timeout 0 -run '^$$' -bench BenchmarkMemory -benchtime 1x ./runner/

scale: ## 1,000 http probes at 100ms: sampling-grid lateness and CPU (SCALE_FLAGS=-scale.server-nice=19)
	$(GO) test -count=1 -run '^$$' -bench BenchmarkHTTP1000Probes -benchtime 1x ./probes/ $(SCALE_FLAGS)

HISTORY_SIZES ?= 1000 10000 50000 100000
HISTORY_DRILL ?= $(BIN)/drill

history-scale: build ## report/due/history over synthetic histories of HISTORY_SIZES runs: wall time, peak RSS, output size (HISTORY_DRILL=other binary)
	scripts/history-scale.sh $(HISTORY_DRILL) $(HISTORY_SIZES)

clean: ## remove build output and local lab state
	rm -rf $(BIN) dist out .lab
