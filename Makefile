# The README's two commands: `make rehearse` and `make test`.
SHELL := /bin/bash
GO ?= go
GOTEST_TIMEOUT ?= 45m

# Debian keeps the PostgreSQL server binaries (initdb, pg_ctl, postgres) off PATH.
PG_BIN := $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin)))
ifneq ($(PG_BIN),)
export PATH := $(PATH):$(PG_BIN)
endif

.PHONY: test rehearse rehearse-dagger build lambdas bench test-dagger check-moto vet fmt-check ci-test web-test web-deps

build:
	$(GO) build -o bin/kmdeploy ./cmd/kmdeploy

# moto (the local AWS emulation's base) comes from PyPI; install it when missing and
# possible, otherwise the emulation's own error names the fix.
check-moto:
	@python3 -c 'import moto.server' 2>/dev/null || pip install --retries 0 --timeout 10 'moto[server]==5.2.1' || \
	  echo "moto is missing and could not be installed: run pip install 'moto[server]'"

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '/internal/dagger/')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	terraform fmt -check -recursive infra

test: check-moto vet fmt-check ci-test web-test
	$(GO) test -count=1 -timeout $(GOTEST_TIMEOUT) ./...

# The sample web app: npm registry packages only, pinned by package-lock.json.
web-test: web-deps
	cd examples/web && npm test

# The Dagger module's own unit tests and a compile check of ci/main.go against a
# stand-in for the engine-generated bindings (no engine needed).
ci-test:
	cd ci && $(GO) vet ./pipeline/... ./modcheck/... && $(GO) test -count=1 ./pipeline/... ./modcheck/...

rehearse: check-moto web-deps
	$(GO) run ./testrig/cmd/rehearse

web-deps:
	cd examples/web && npm ci --no-audit --no-fund

lambdas:
	$(GO) run ./internal/tools/lambdazip -out dist/lambdas

# Performance report: emulation start and blue/green deployment times, rollout
# end-detection latency, and web publishing against `aws s3 sync` (needs awscli).
bench: check-moto
	$(GO) test -run '^$$' -bench . -benchtime 3x ./testrig/awsemu/...
	$(GO) test -run '^$$' -bench EndDetection -benchtime 10x ./internal/rollout/
	$(GO) test -run '^$$' -bench Publish -benchtime 1x -timeout 60m ./internal/webpublish/

# Engine-backed pipeline tests: need a Dagger engine (v0.21.8) and its CLI. They run the
# module's functions, so a later `dagger call` reuses their caches. With
# KM_TF_PROVIDER_MIRROR=<dir>, also Terraform in the toolbox from that provider mirror.
test-dagger:
	cd ci && $(GO) test -count=1 -tags dagger -timeout 60m ./pipeline/...
	$(MAKE) rehearse-dagger

# The whole release through the Dagger module (`dagger call ... release`, `promote`, a
# failing release) against the local AWS emulation. Needs the dagger CLI and an engine
# whose containers reach KM_REHEARSAL_LISTEN_HOST (default 127.0.0.1) and treat the
# registry on KM_REHEARSAL_REGISTRY_PORT there as plain http; see docs/pipeline.md.
rehearse-dagger: check-moto
	$(GO) run ./testrig/cmd/rehearse-dagger
