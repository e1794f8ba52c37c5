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
WASM_LINT_TARGETS := --lib $(if $(wildcard tests/wasm_node.rs),--test wasm_node) \
	$(if $(wildcard tests/wasm_browser.rs),--test wasm_browser)

# $(call suite,NAME,FILE): print the suite's start line when FILE exists, or its skip
# line and stop the recipe with status 0 when it does not.
define suite
if [[ ! -e $(2) ]]; then echo "==> suite $(1) skipped: $(2) not found"; exit 0; fi; \
echo "==> suite $(1)"
endef

.PHONY: help setup demo test test-core test-native check-core-wasm test-node \
	test-browser lint bench bench-quick fuzz pkg

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
		$(CARGO) test --target $(WASM_TARGET) --test wasm_node

test-browser: ## wasm-bindgen tests in headless Chromium against a loopback chaos server
	@bash $(SETUP) wasm browser
	@$(call suite,browser,tests/wasm_browser.rs); \
		$(BROWSER_TEST_ENV) bash $(WITH_CHAOS) \
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

# The JS surface of the package is still empty, so pkg/ contains only the wasm-bindgen glue
# and the optimized module; the npm package.json comes later.
pkg: ## Build the wasm32 module and its wasm-bindgen --target web glue into pkg/
	@bash $(SETUP) wasm
	bash scripts/build-pkg.sh
