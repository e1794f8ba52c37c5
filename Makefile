# steadfast build and test entry points. Every target installs what it needs through
# scripts/setup.sh, which skips tools that are already present at the pinned version.
# Suites print `==> suite NAME` before they run, or `==> suite NAME skipped: REASON`
# when their test files do not exist yet. scripts/count-tests.py reads those lines.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown
SETUP := scripts/setup.sh
WITH_CHAOS := scripts/with-chaos.sh
# Seconds that `make fuzz` runs the fuzz target.
FUZZ_SECONDS ?= 60
FUZZ_TARGET ?= header_parsers

# cargo-installed tools, and wasm-opt from npm's binaryen ahead of any other on PATH.
export PATH := $(CURDIR)/.tools/node/node_modules/.bin:$(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)

# Runners for the wasm-bindgen test suites. WASM_BINDGEN_TEST_ONLY_NODE and _ONLY_WEB make
# the runner skip a test binary configured for the other environment, and the skip then
# shows up as a suite with 0 tests instead of running browser tests in Node.
WASM_TEST_ENV := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
NODE_TEST_ENV := $(WASM_TEST_ENV) WASM_BINDGEN_TEST_ONLY_NODE=1
# The runner reads Chromium's extra flags from webdriver.json in the package root. They
# turn off background networking, component updates and sync, so that the browser sends
# nothing beyond loopback.
BROWSER_TEST_ENV := $(WASM_TEST_ENV) WASM_BINDGEN_TEST_ONLY_WEB=1 CHROMEDRIVER=/usr/bin/chromedriver
# wasm32 targets for clippy: the library, plus those wasm-bindgen test files that exist.
# Native integration tests are left out because they do not build for wasm32.
WASM_LINT_TARGETS := --lib --test api_surface $(if $(wildcard tests/wasm_node.rs),--test wasm_node) \
	$(if $(wildcard tests/wasm_browser.rs),--test wasm_browser)

# $(call suite,NAME,FILE): print the suite's start line when FILE exists, or its skip
# line and stop the recipe with status 0 when it does not.
define suite
if [[ ! -e $(2) ]]; then echo "==> suite $(1) skipped: $(2) not found"; exit 0; fi; \
echo "==> suite $(1)"
endef

.PHONY: help setup demo test test-core test-native check-core-wasm test-node \
	test-browser test-js test-deno test-workers test-www www lint bench bench-quick fuzz pkg

help: ## List the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		awk 'BEGIN { FS = ":.*## " } { printf "  %-16s %s\n", $$1, $$2 }'

setup: ## Install every tool that any target needs (idempotent)
	@bash $(SETUP) all

demo: ## Run the demo example (release build, native adapter)
	@bash $(SETUP) rust
	$(CARGO) run --release --example demo --features native

test: ## Run every suite that exists, in order, stopping at the first failure
	@$(MAKE) test-core
	@$(MAKE) test-native
	@$(MAKE) check-core-wasm
	@$(MAKE) test-node
	@$(MAKE) test-browser
	@$(MAKE) test-js
	@$(MAKE) test-deno
	@$(MAKE) test-workers
	@$(MAKE) test-www

test-core: ## Unit tests of the sans-IO core (no features) and of steadfast-chaos
	@bash $(SETUP) rust
	@$(call suite,core,src/lib.rs); \
		$(CARGO) test --lib
	@$(call suite,chaos,tests/chaos/Cargo.toml); \
		$(CARGO) test -p steadfast-chaos

test-native: ## Unit, integration, example and doc tests with the hyper adapter
	@bash $(SETUP) rust
	@$(call suite,native,src/lib.rs); \
		$(CARGO) test --features native --tests --examples; \
		$(CARGO) test --features native --doc

check-core-wasm: ## Fail if the core's wasm32 build imports anything from module env
	@bash $(SETUP) rust wasm-target wabt
	@if [[ ! -e tests/core-wasm/Cargo.toml ]]; then \
		echo "==> check core-wasm skipped: tests/core-wasm/Cargo.toml not found"; exit 0; fi; \
		echo "==> check core-wasm"; \
		bash scripts/check-core-wasm.sh

test-node: ## wasm-bindgen tests in Node against a loopback chaos server
	@bash $(SETUP) wasm
	@$(call suite,node,tests/wasm_node.rs); \
		$(NODE_TEST_ENV) bash $(WITH_CHAOS) \
		$(CARGO) test --target $(WASM_TARGET) --test wasm_node --test api_surface

test-browser: ## wasm-bindgen tests in headless Chromium, on the page and in a dedicated worker
	@bash $(SETUP) wasm browser
	@$(call suite,browser,tests/wasm_browser.rs); \
		$(BROWSER_TEST_ENV) bash $(WITH_CHAOS) \
		$(CARGO) test --target $(WASM_TARGET) --test wasm_browser
	@$(call suite,browser-worker,tests/wasm_browser.rs); \
		$(BROWSER_TEST_ENV) WASM_BINDGEN_USE_DEDICATED_WORKER=1 bash $(WITH_CHAOS) \
		$(CARGO) test --target $(WASM_TARGET) --test wasm_browser

lint: ## rustfmt check, and clippy with -D warnings for native and wasm32
	@bash $(SETUP) rust lint-tools wasm-target
	@echo "==> lint"
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --features native -- -D warnings
	$(CARGO) clippy --target $(WASM_TARGET) $(WASM_LINT_TARGETS) -- -D warnings

bench: ## Throughput benchmark of the native adapter
	@bash $(SETUP) rust
	@if [[ ! -e benches/throughput.rs ]]; then echo "bench: benches/throughput.rs not found, nothing to run"; exit 0; fi; \
		$(CARGO) bench --features native --bench throughput

bench-quick: ## The throughput benchmark with fewer, shorter runs (STEADFAST_BENCH_QUICK=1)
	@bash $(SETUP) rust
	@if [[ ! -e benches/throughput.rs ]]; then echo "bench-quick: benches/throughput.rs not found, nothing to run"; exit 0; fi; \
		STEADFAST_BENCH_QUICK=1 $(CARGO) bench --features native --bench throughput

# cargo-fuzz passes -Z flags (sanitizers, coverage options) that only a nightly rustc
# accepts. RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them, because a nightly
# toolchain is not guaranteed on these machines and none can be downloaded there.
fuzz: ## Fuzz the header parsers for FUZZ_SECONDS (default 60) with cargo-fuzz
	@if [[ ! -e fuzz/Cargo.toml ]]; then \
		echo "fuzz: error: fuzz/Cargo.toml not found, so there is no $(FUZZ_TARGET) target to run" >&2; exit 1; fi
	@bash $(SETUP) rust cargo-fuzz
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $(FUZZ_TARGET) -- -max_total_time=$(FUZZ_SECONDS)

pkg: ## Build the npm package into pkg/: wasm module, glue, entry modules, types
	@bash $(SETUP) wasm
	bash scripts/build-pkg.sh

# The JavaScript suites import pkg/ as "steadfast" through a node_modules symlink, and
# node's test runner prints TAP so that count-tests.py reads its `# pass N` lines.
test-js: ## The npm package in Node (node --test) against a loopback chaos server
	@bash $(SETUP) js
	@$(call suite,js,tests/js/chaos.js); \
		python3 scripts/test_count_tests.py; \
		bash scripts/build-pkg.sh; \
		bash scripts/link-pkg.sh tests/js; \
		bash $(WITH_CHAOS) node --test --test-reporter=tap tests/js/*.test.js

# Deno type-checks a program against the package's .d.ts, then runs the shared tests of
# tests/js (through its node:test support) and its own checks in tests/deno, with network
# access to loopback only and read access to pkg/ only, where the deno entry reads the .wasm
# file.
DENO_FLAGS := --no-check --no-lock --allow-net=127.0.0.1 --allow-read=$(CURDIR)/pkg \
	--allow-env=STEADFAST_CHAOS_URL

test-deno: ## The npm package in Deno (deno test) against a loopback chaos server
	@bash $(SETUP) js
	@$(call suite,deno,tests/deno/entry.test.js); \
		bash scripts/build-pkg.sh; \
		bash scripts/link-pkg.sh tests/js tests/deno; \
		cd tests/deno && export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1; \
		deno check --no-lock types_check.ts; \
		bash ../../$(WITH_CHAOS) deno test $(DENO_FLAGS) entry.test.js ../js/*.test.js

# The driver bundles tests/workers/worker.js with esbuild as wrangler would, runs it in
# workerd through Miniflare, and ends the workerd processes it started.
test-workers: ## The npm package in a module Worker (workerd via Miniflare) against a chaos server
	@bash $(SETUP) js
	@$(call suite,workers,tests/workers/workers.test.js); \
		bash scripts/build-pkg.sh; \
		bash scripts/link-pkg.sh tests/js tests/workers; \
		bash $(WITH_CHAOS) node --test --test-reporter=tap tests/workers/workers.test.js

www: ## Build the browser demo with Vite into www/dist (serve it with `npm run dev` in www/)
	@bash $(SETUP) wasm www
	bash scripts/build-pkg.sh
	cd www && npx --no-install vite build

# The driver serves www/dist on 127.0.0.1, runs the demo in headless Chromium through
# playwright-core, and saves target/www-screenshot.png.
test-www: ## The browser demo in headless Chromium (playwright-core) against a chaos server
	@bash $(SETUP) js www browser
	@$(call suite,www,tests/www/www.test.js); \
		bash scripts/build-pkg.sh; \
		bash scripts/link-pkg.sh tests/js; \
		(cd www && npx --no-install vite build --logLevel warn); \
		bash $(WITH_CHAOS) node --test --test-reporter=tap tests/www/www.test.js
