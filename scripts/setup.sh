#!/usr/bin/env bash
# Installs the tools that steadfast's builds and tests need. Each step skips its tool
# when it is already present at the pinned version, so a second run takes seconds.
#
# Usage: scripts/setup.sh [COMPONENT...]   (default: all)
#   rust          check that cargo exists
#   lint-tools    rustup components rustfmt and clippy
#   wasm-target   rustup target wasm32-unknown-unknown
#   wasm-bindgen  wasm-bindgen and wasm-bindgen-test-runner, via cargo install
#   wabt          wasm-objdump, from Debian's wabt, for reading wasm imports
#   node-tools    pinned npm packages (wasm-opt from binaryen) in .tools/node
#   js-tools      pinned npm packages for the JavaScript suites in .tools/node: esbuild,
#                 miniflare (workerd), deno and playwright-core
#   www           the demo's npm packages (vite) in www/node_modules, from www/package.json
#   chromium      Debian's chromium and chromium-driver, for headless browser tests
#   cargo-fuzz    cargo-fuzz, via cargo install (not part of all)
# Groups: wasm = rust wasm-target wasm-bindgen wabt node-tools; browser = chromium;
#         js = wasm js-tools; all = rust lint-tools, wasm, browser, js-tools and www.
set -euo pipefail

WASM_TARGET=wasm32-unknown-unknown
# Must equal the `wasm-bindgen = "=…"` pin in Cargo.toml, so that the CLI and the crate
# are one release. The CLI rejects a module built with a different wasm-bindgen schema.
WASM_BINDGEN_VERSION=0.2.130
# npm packages installed into .tools/node, as name@exact-version.
# Debian's binaryen (version 108) must not be used, because its wasm-opt exits 0 but
# leaves wasm-bindgen 0.2.130 output that fails to instantiate.
NPM_TOOLS=(binaryen@132.0.0)
# miniflare 4.20260426.0 is the last release that declares Node 20 support; it pulls workerd.
# The deno package ships the deno binary; playwright-core drives Debian's chromium.
JS_TOOLS=(esbuild@0.28.2 miniflare@4.20260426.0 deno@2.9.6 playwright-core@1.65.1)
CARGO_FUZZ_VERSION=0.13.2
# Upper bound for waiting on a `cargo install wasm-bindgen-cli` that another process
# started. A first install takes about 5.5 minutes on a 2-core machine.
FOREIGN_INSTALL_WAIT_SECONDS=1200

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node_prefix="$repo_root/.tools/node"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
# Components already handled in this run, so that overlapping groups run each step once.
declare -A completed_components=()

say() { printf 'setup: %s\n' "$*"; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}

# Prints the seconds elapsed since the given $SECONDS value.
elapsed_since() { echo "$((SECONDS - $1))s"; }

run_as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "'$*' needs root, and sudo is not installed: run this script as root"
    fi
}

deb_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

# Installs the given Debian packages that are missing, running `apt-get update` at most
# once per run and only when something is missing. $1 names the step in the output.
apt_install() {
    local step=$1
    shift
    local missing=() package
    for package in "$@"; do
        deb_installed "$package" || missing+=("$package")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "$step: skipped, Debian packages already installed: $*"
        return
    fi
    command -v apt-get >/dev/null || die "$step: apt-get not found, so install ${missing[*]} by hand"
    local start=$SECONDS
    if [[ $apt_updated -eq 0 ]]; then
        run_as_root apt-get update -qq
        apt_updated=1
    fi
    run_as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    say "$step: installed Debian packages ${missing[*]} ($(elapsed_since "$start"))"
}

setup_rust() {
    command -v cargo >/dev/null ||
        die "rust: cargo not found on PATH ($PATH); install a Rust toolchain with rustup, then rerun"
    say "rust: skipped, found $(cargo --version)"
}

setup_lint_tools() {
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "lint-tools: skipped, found $(cargo fmt --version) and $(cargo clippy --version)"
        return
    fi
    command -v rustup >/dev/null ||
        die "lint-tools: ${missing[*]} missing, and rustup, which adds them, not found"
    local start=$SECONDS
    rustup component add "${missing[@]}"
    say "lint-tools: added rustup components ${missing[*]} ($(elapsed_since "$start"))"
}

setup_wasm_target() {
    command -v rustup >/dev/null ||
        die "wasm-target: rustup not found, but it is needed to add the $WASM_TARGET target"
    if rustup target list --installed | grep -qx "$WASM_TARGET"; then
        say "wasm-target: skipped, rustup target $WASM_TARGET already installed"
        return
    fi
    local start=$SECONDS
    rustup target add "$WASM_TARGET"
    say "wasm-target: added rustup target $WASM_TARGET ($(elapsed_since "$start"))"
}

# Prints "<wasm-bindgen version> <wasm-bindgen-test-runner version>", empty fields for
# a missing binary.
wasm_bindgen_versions() {
    local cli runner
    cli=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
    runner=$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}' || true)
    echo "${cli:--} ${runner:--}"
}

# Waits for a `cargo install wasm-bindgen-cli` started outside this script, so that two
# installs never race on the same binaries.
wait_for_foreign_wasm_bindgen_install() {
    local waited=0
    while pgrep -f "cargo install wasm-bindgen-cli" >/dev/null; do
        if [[ $waited -eq 0 ]]; then
            say "wasm-bindgen: waiting for a running 'cargo install wasm-bindgen-cli' to finish"
        fi
        if [[ $waited -ge $FOREIGN_INSTALL_WAIT_SECONDS ]]; then
            die "wasm-bindgen: the other 'cargo install wasm-bindgen-cli' still runs after ${waited}s"
        fi
        sleep 5
        waited=$((waited + 5))
    done
}

setup_wasm_bindgen() {
    local pinned
    pinned=$(sed -n 's/^wasm-bindgen = .*"=\([0-9.]*\)".*/\1/p' "$repo_root/Cargo.toml" | head -n 1)
    if [[ -n $pinned && $pinned != "$WASM_BINDGEN_VERSION" ]]; then
        die "wasm-bindgen: Cargo.toml pins wasm-bindgen $pinned but this script installs $WASM_BINDGEN_VERSION; change WASM_BINDGEN_VERSION in scripts/setup.sh to match"
    fi
    local wanted="$WASM_BINDGEN_VERSION $WASM_BINDGEN_VERSION"
    local found
    found=$(wasm_bindgen_versions)
    if [[ $found != "$wanted" ]]; then
        wait_for_foreign_wasm_bindgen_install
        found=$(wasm_bindgen_versions)
    fi
    if [[ $found == "$wanted" ]]; then
        say "wasm-bindgen: skipped, wasm-bindgen and wasm-bindgen-test-runner are $WASM_BINDGEN_VERSION"
        return
    fi
    local start=$SECONDS
    say "wasm-bindgen: found versions '$found', installing $WASM_BINDGEN_VERSION (about 5.5 min on 2 cores)"
    # No --locked: the lock file published with wasm-bindgen-cli 0.2.130 pins a
    # webpki-roots version that the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
    found=$(wasm_bindgen_versions)
    [[ $found == "$wanted" ]] ||
        die "wasm-bindgen: after cargo install, PATH still gives versions '$found' ($(command -v wasm-bindgen || echo 'not found')); put ${CARGO_HOME:-$HOME/.cargo}/bin first on PATH"
    say "wasm-bindgen: installed wasm-bindgen-cli $WASM_BINDGEN_VERSION ($(elapsed_since "$start"))"
}

setup_wabt() {
    if command -v wasm-objdump >/dev/null; then
        say "wabt: skipped, found wasm-objdump $(wasm-objdump --version)"
        return
    fi
    apt_install wabt wabt
}

# Prints the version of an npm package installed in .tools/node, or nothing.
node_tool_version() {
    local manifest="$node_prefix/node_modules/$1/package.json"
    [[ -f $manifest ]] || return 0
    node -p "require(process.argv[1]).version" "$manifest" 2>/dev/null || true
}

# Installs the given name@version npm packages into .tools/node unless each is there at its
# version. $1 names the step in the output.
npm_install_tools() {
    local step=$1
    shift
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        apt_install "$step" nodejs npm
    fi
    local missing=() spec name version found
    for spec in "$@"; do
        name=${spec%@*}
        version=${spec##*@}
        found=$(node_tool_version "$name")
        [[ $found == "$version" ]] || missing+=("$spec")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "$step: skipped, already in .tools/node: $*"
        return
    fi
    local start=$SECONDS
    mkdir -p "$node_prefix"
    npm install --prefix "$node_prefix" --save-exact --no-audit --no-fund \
        --update-notifier=false --loglevel=error "${missing[@]}" >/dev/null
    say "$step: installed ${missing[*]} into .tools/node ($(elapsed_since "$start"))"
}

setup_js_tools() {
    npm_install_tools js-tools "${JS_TOOLS[@]}"
}

# Installs www/package.json's pinned dependencies unless www/node_modules has each at its
# version.
setup_www() {
    local manifest="$repo_root/www/package.json"
    [[ -f $manifest ]] || die "www: $manifest not found"
    local stale
    stale=$(node -e '
        const fs = require("fs");
        const path = require("path");
        const manifest = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        const root = path.dirname(process.argv[1]);
        const wanted = { ...manifest.dependencies, ...manifest.devDependencies };
        for (const [name, version] of Object.entries(wanted)) {
            if (version.startsWith("file:")) continue;
            let found = "";
            try {
                found = require(path.join(root, "node_modules", name, "package.json")).version;
            } catch {}
            if (found !== version) console.log(`${name}@${version}`);
        }' "$manifest")
    if [[ -z $stale ]]; then
        say "www: skipped, www/node_modules matches www/package.json"
        return
    fi
    local start=$SECONDS
    (cd "$repo_root/www" && npm install --no-audit --no-fund --update-notifier=false \
        --loglevel=error >/dev/null)
    say "www: installed $(echo "$stale" | tr '\n' ' ')into www/node_modules ($(elapsed_since "$start"))"
}

setup_node_tools() {
    npm_install_tools node-tools "${NPM_TOOLS[@]}"
    if deb_installed binaryen; then
        say "node-tools: warning: Debian's binaryen is installed; its wasm-opt breaks wasm-bindgen output, so keep .tools/node/node_modules/.bin first on PATH"
    fi
}

setup_chromium() {
    apt_install chromium chromium chromium-driver
    [[ -x /usr/bin/chromedriver ]] ||
        die "chromium: /usr/bin/chromedriver is missing although chromium-driver is installed"
}

setup_cargo_fuzz() {
    local found
    found=$(cargo fuzz --version 2>/dev/null | awk '{print $2}' || true)
    if [[ $found == "$CARGO_FUZZ_VERSION" ]]; then
        say "cargo-fuzz: skipped, cargo-fuzz $CARGO_FUZZ_VERSION already installed"
        return
    fi
    local start=$SECONDS
    say "cargo-fuzz: found version '${found:--}', installing $CARGO_FUZZ_VERSION (about 1 min on 2 cores)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
    say "cargo-fuzz: installed cargo-fuzz $CARGO_FUZZ_VERSION ($(elapsed_since "$start"))"
}

run_component() {
    [[ -z ${completed_components[$1]:-} ]] || return 0
    completed_components[$1]=1
    local step
    case $1 in
    rust) setup_rust ;;
    lint-tools) setup_lint_tools ;;
    wasm-target) setup_wasm_target ;;
    wasm-bindgen) setup_wasm_bindgen ;;
    wabt) setup_wabt ;;
    node-tools) setup_node_tools ;;
    js-tools) setup_js_tools ;;
    www) setup_www ;;
    chromium) setup_chromium ;;
    cargo-fuzz) setup_cargo_fuzz ;;
    wasm) for step in rust wasm-target wasm-bindgen wabt node-tools; do run_component "$step"; done ;;
    browser) run_component chromium ;;
    js) for step in wasm js-tools; do run_component "$step"; done ;;
    all) for step in rust lint-tools wasm browser js-tools www; do run_component "$step"; done ;;
    *) die "unknown component '$1'; expected one of: rust lint-tools wasm-target wasm-bindgen wabt node-tools js-tools www chromium cargo-fuzz wasm browser js all" ;;
    esac
}

main() {
    [[ $# -gt 0 ]] || set -- all
    local component
    for component in "$@"; do
        run_component "$component"
    done
}

main "$@"
