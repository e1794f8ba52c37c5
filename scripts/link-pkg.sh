#!/usr/bin/env bash
# Makes the built npm package in pkg/ importable as "steadfast" from the JavaScript test
# folders given as arguments, the way `npm install ../pkg` would: a symlink at
# DIR/node_modules/steadfast. Fails if pkg/ has not been built.
#
# Usage: scripts/link-pkg.sh DIR...
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -f $repo_root/pkg/package.json && -f $repo_root/pkg/steadfast_bg.wasm ]] || {
    echo "link-pkg: error: pkg/ is not built; run 'make pkg' first" >&2
    exit 1
}
for dir in "$@"; do
    mkdir -p "$dir/node_modules"
    ln -sfn "$repo_root/pkg" "$dir/node_modules/steadfast"
done
