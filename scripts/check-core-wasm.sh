#!/usr/bin/env bash
# Builds tests/core-wasm, which links steadfast's sans-IO core with no features, for
# wasm32-unknown-unknown in release, prints the module's imports and fails if any comes
# from module `env`. Such an import is a symbol that no wasm host provides, so a core
# module that has one cannot be instantiated outside a custom embedder.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest="$repo_root/tests/core-wasm/Cargo.toml"
cd "$repo_root"

# Capture the build messages first, so that a failed build stops the script here.
build_messages=$(cargo build --quiet --release --target wasm32-unknown-unknown \
    --manifest-path "$manifest" --message-format=json-render-diagnostics)
mapfile -t modules < <(
    python3 scripts/cargo-artifact.py --manifest-path "$manifest" --ext wasm <<<"$build_messages"
)
[[ ${#modules[@]} -gt 0 ]] || {
    echo "check-core-wasm: error: cargo build produced no .wasm file for $manifest; is its crate-type cdylib?" >&2
    exit 1
}

status=0
for module in "${modules[@]}"; do
    echo "check-core-wasm: imports of ${module#"$repo_root"/} ($(stat -c %s "$module") bytes):"
    # wasm-objdump exits 1 with "Section not found: Import" for a module that imports
    # nothing, which passes.
    imports=$(wasm-objdump -x -j Import "$module" 2>&1 | grep -E '^ - ' || true)
    if [[ -z $imports ]]; then
        echo "  (none)"
        continue
    fi
    sed 's/^/ /' <<<"$imports"
    # wasm-objdump prints each import as ` - func[0] sig=1 <name> <- module.field`.
    env_imports=$(grep -E '<- env\.' <<<"$imports" || true)
    if [[ -n $env_imports ]]; then
        echo "check-core-wasm: error: ${module##*/} imports $(wc -l <<<"$env_imports") symbol(s) from module env:" >&2
        sed 's/^/ /' <<<"$env_imports" >&2
        status=1
    fi
done
[[ $status -ne 0 ]] || echo "check-core-wasm: ok, no imports from module env"
exit "$status"
