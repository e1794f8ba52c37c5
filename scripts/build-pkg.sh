#!/usr/bin/env bash
# Builds the npm package into pkg/: steadfast for wasm32-unknown-unknown in profile
# wasm-release, the wasm-bindgen --target web glue and module, shrunk with wasm-opt -Oz when
# wasm-opt is on PATH, and the JavaScript entry modules, types and package.json from
# pkg-template/. Prints the module size after each stage.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out_dir="$repo_root/pkg"
cd "$repo_root"

size_of() { stat -c %s "$1"; }

# tracing/max_level_off compiles every log statement out of the package, about 6 KiB of
# gzip, because nothing in a JavaScript host installs a tracing subscriber.
build_messages=$(cargo build --quiet --lib --target wasm32-unknown-unknown --profile wasm-release \
    --features tracing/max_level_off --message-format=json-render-diagnostics)
module=$(python3 scripts/cargo-artifact.py --target steadfast --ext wasm <<<"$build_messages")
[[ -n $module && -f $module ]] || {
    echo "build-pkg: error: cargo build produced no steadfast .wasm file" >&2
    exit 1
}
echo "build-pkg: cargo output ${module#"$repo_root"/}: $(size_of "$module") bytes"

# Files of an earlier build that the template no longer has must not end up in the package.
find "$out_dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || true
wasm-bindgen --target web --out-dir "$out_dir" "$module"
cp "$repo_root"/pkg-template/*.js "$repo_root"/pkg-template/*.d.ts \
    "$repo_root"/pkg-template/package.json "$repo_root"/pkg-template/README.md "$out_dir"/
bindgen_module="$out_dir/steadfast_bg.wasm"
echo "build-pkg: after wasm-bindgen ${bindgen_module#"$repo_root"/}: $(size_of "$bindgen_module") bytes"

# The Makefile puts npm's binaryen first on PATH. Debian's binaryen 108 must not be used,
# because its wasm-opt exits 0 but leaves a module that fails to instantiate.
if ! command -v wasm-opt >/dev/null; then
    echo "build-pkg: wasm-opt not found, leaving the module unoptimized (scripts/setup.sh node-tools installs it)"
    exit 0
fi
# Rust 1.82 and later enable these features for wasm32-unknown-unknown by default. They
# are listed so that the result does not depend on wasm-opt's feature detection.
wasm-opt -Oz \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$bindgen_module" -o "$bindgen_module.opt"
mv "$bindgen_module.opt" "$bindgen_module"
echo "build-pkg: after $(wasm-opt --version | awk '{print $1, $2, $3}') -Oz: $(size_of "$bindgen_module") bytes"
