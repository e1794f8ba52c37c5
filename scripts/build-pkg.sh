#!/usr/bin/env bash
# Builds steadfast for wasm32-unknown-unknown in profile wasm-release, writes the
# wasm-bindgen --target web glue and module into pkg/, and shrinks the module with
# wasm-opt -Oz when wasm-opt is on PATH. Prints the module size after each stage.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out_dir="$repo_root/pkg"
cd "$repo_root"

size_of() { stat -c %s "$1"; }

build_messages=$(cargo build --quiet --lib --target wasm32-unknown-unknown --profile wasm-release \
    --message-format=json-render-diagnostics)
module=$(python3 scripts/cargo-artifact.py --target steadfast --ext wasm <<<"$build_messages")
[[ -n $module && -f $module ]] || {
    echo "build-pkg: error: cargo build produced no steadfast .wasm file" >&2
    exit 1
}
echo "build-pkg: cargo output ${module#"$repo_root"/}: $(size_of "$module") bytes"

wasm-bindgen --target web --out-dir "$out_dir" "$module"
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
