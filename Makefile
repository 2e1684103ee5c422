# drill — build, test and demo targets. `make help` lists them.
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: help build deps moto localstack etcd test test-localstack lint demo demo-web accuracy scale clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/drill and bin/demo-web
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/drill ./cmd/drill
	$(GO) build -o $(BIN)/demo-web ./cmd/demo-web

deps: ## install test dependencies that are not Go modules (chromium; CI runs this)
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

test: build etcd moto ## run every test (installs what the integration tests need first)
	$(GO) test -count=1 ./...

# The packages whose tests start an AWS emulator; in cmd/drill only its AWS tests.
AWS_PKGS  := ./localstack/... ./faults/awsfault/ ./probes/awsprobe/ ./resultstore/
AWS_CMD_TESTS := ^(TestRunAWSDrillThroughCLI|TestLibraryAgainstEmulator|TestResultsVerbs)$$

test-localstack: build localstack ## run the AWS integration tests against LocalStack's community runtime on the host
	DRILL_TEST_EMULATOR=localstack AWS_EC2_METADATA_DISABLED=true $(GO) test -count=1 $(AWS_PKGS)
	DRILL_TEST_EMULATOR=localstack AWS_EC2_METADATA_DISABLED=true $(GO) test -count=1 -run '$(AWS_CMD_TESTS)' ./cmd/drill/

lint: ## gofmt and go vet
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: build etcd ## run a real drill: lose a follower of a local 3-member etcd cluster (no AWS, no Docker)
	@mkdir -p out
	bin/drill run scenarios/library/etcd/follower-loss.yaml --json out/follower-loss.json --junit out/follower-loss.junit.xml

demo-web: build ## a quicker real drill: SIGKILL a local web service, restart it, measure RTO
	scripts/demo.sh

accuracy: build ## 20 drills against a local server down for a known time: error of measured RTO
	$(GO) test -count=1 -run '^$$' -bench BenchmarkAccuracy -benchtime 1x ./runner/

scale: ## 1,000 http probes at 100ms: sampling-grid lateness and CPU (SCALE_FLAGS=-scale.server-nice=19)
	$(GO) test -count=1 -run '^$$' -bench BenchmarkHTTP1000Probes -benchtime 1x ./probes/ $(SCALE_FLAGS)

clean: ## remove build output and local lab state
	rm -rf $(BIN) out .lab
