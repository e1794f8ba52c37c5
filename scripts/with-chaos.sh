#!/usr/bin/env bash
# Runs CMD with a steadfast-chaos server listening on loopback, and stops the server
# when CMD exits, fails or is interrupted.
#
# Usage: scripts/with-chaos.sh CMD [ARG...]
#
# CMD gets STEADFAST_CHAOS_URL and STEADFAST_CHAOS_OTHER_URL in its environment: the
# server's two base URLs as written to its address file. The wasm tests read them with option_env!, so CMD must
# be the cargo command that compiles those tests.
# Environment: STEADFAST_CHAOS_PORT and STEADFAST_CHAOS_OTHER_PORT pick the two ports
# (default 0, which lets the server choose free ones); STEADFAST_CHAOS_PROFILE is the
# cargo profile for the server binary (default dev); STEADFAST_CHAOS_BIN runs the given
# server executable in place of building one.
set -euo pipefail

ADDR_FILE_TIMEOUT_SECONDS=30
STOP_TIMEOUT_SECONDS=5

[[ $# -gt 0 ]] || {
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
}

log() { printf 'with-chaos: %s\n' "$*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/steadfast-chaos.XXXXXX")
addr_file="$work_dir/addr.json"
server_log="$work_dir/server.log"
server_pid=

# Sends SIGTERM, then SIGKILL if the server still runs after STOP_TIMEOUT_SECONDS.
stop_server() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        local tenths
        for ((tenths = 0; tenths < STOP_TIMEOUT_SECONDS * 10; tenths++)); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$server_pid" 2>/dev/null; then
            log "server (pid $server_pid) still running ${STOP_TIMEOUT_SECONDS}s after SIGTERM, sending SIGKILL"
            kill -KILL "$server_pid" 2>/dev/null || true
        fi
        wait "$server_pid" 2>/dev/null || true
        log "stopped server (pid $server_pid)"
    fi
    rm -rf "$work_dir"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the path of the server executable, building it unless STEADFAST_CHAOS_BIN is
# set. The server runs directly, not under `cargo run`, so that the recorded PID is the
# server's own.
find_server_bin() {
    if [[ -n ${STEADFAST_CHAOS_BIN:-} ]]; then
        echo "$STEADFAST_CHAOS_BIN"
        return
    fi
    cd "$repo_root"
    cargo build --quiet --profile "${STEADFAST_CHAOS_PROFILE:-dev}" \
        -p steadfast-chaos --bin steadfast-chaos --message-format=json-render-diagnostics |
        python3 scripts/cargo-artifact.py --target steadfast-chaos --executable
}

# Prints the two base URLs from the address file, one a line. Exits 1 while the file
# is not yet a complete JSON document, and 3 for a URL whose host is not a loopback
# address, since the tests must send traffic only there.
read_addresses() {
    python3 - "$addr_file" <<'PY'
import json, sys
from urllib.parse import urlsplit

with open(sys.argv[1]) as f:
    addresses = json.load(f)
for key in ("url", "other_url"):
    url = addresses[key]
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        print(f"{key} {url!r} in the address file is not a loopback URL", file=sys.stderr)
        sys.exit(3)
    print(url)
PY
}

server_bin=$(find_server_bin)
[[ -n $server_bin && -x $server_bin ]] || {
    log "error: no steadfast-chaos executable found (got '${server_bin}')"
    exit 1
}

"$server_bin" \
    --port "${STEADFAST_CHAOS_PORT:-0}" \
    --other-port "${STEADFAST_CHAOS_OTHER_PORT:-0}" \
    --addr-file "$addr_file" \
    >"$server_log" 2>&1 &
server_pid=$!

# The server writes the address file once both listeners are bound. Poll until it contains
# a complete JSON document, because the file may be read while partly written.
addresses=
for ((tenths = 0; tenths < ADDR_FILE_TIMEOUT_SECONDS * 10; tenths++)); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        log "error: steadfast-chaos exited before writing $addr_file; its output:"
        cat "$server_log" >&2
        exit 1
    fi
    if [[ -s $addr_file ]]; then
        read_status=0
        addresses=$(read_addresses 2>"$work_dir/read.err") || read_status=$?
        [[ $read_status -eq 0 ]] && break
        if [[ $read_status -eq 3 ]]; then
            log "error: $(cat "$work_dir/read.err")"
            exit 1
        fi
        addresses=
    fi
    sleep 0.1
done
if [[ -z $addresses ]]; then
    log "error: steadfast-chaos wrote no valid address file within ${ADDR_FILE_TIMEOUT_SECONDS}s; its output:"
    cat "$server_log" >&2
    exit 1
fi

{
    read -r STEADFAST_CHAOS_URL
    read -r STEADFAST_CHAOS_OTHER_URL
} <<<"$addresses"
export STEADFAST_CHAOS_URL STEADFAST_CHAOS_OTHER_URL
log "server pid $server_pid listening at $STEADFAST_CHAOS_URL and $STEADFAST_CHAOS_OTHER_URL"

# Run CMD as a child rather than with exec, so that the EXIT trap can stop the server.
status=0
"$@" || status=$?
exit "$status"
