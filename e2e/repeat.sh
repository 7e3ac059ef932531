#!/bin/bash
# Runs a browser flow that needs only a demo server (forms.mjs) N times,
# each against a fresh server, and counts the failures: how a flaky flow
# is caught (run several at once to load the machine).
# Usage: e2e/repeat.sh <runs> <flow.mjs> [flow arguments after the URL and shots]
# Needs the server built: cargo build -p lotocar-backend.
set -u
runs=$1 flow=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${LOTOCAR_BINARY:-${CARGO_TARGET_DIR:-$root/target}/debug/lotocar}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for i in $(seq 1 "$runs"); do
    data=$work/data-$i
    mkdir -p "$data"
    LOTOCAR_SIGNIN_PER_IP_HOUR=100000 LOTOCAR_NEW_DRIVER_WAIT_SECONDS=0 RUST_LOG=warn \
        "$binary" serve --bind 127.0.0.1:0 --data-dir "$data" --dev --demo >"$data/out" 2>"$data/err" &
    server=$!
    for _ in $(seq 1 120); do grep -q listening "$data/out" 2>/dev/null && break; sleep 0.5; done
    url=$(sed -n 's/^lotocar listening on //p' "$data/out")
    if node "$root/e2e/$flow" "$url" "$work/shots-$i" "$@" >"$data/flow.out" 2>"$data/flow.err"; then
        echo "run $i: ok"
    else
        failed=$((failed + 1))
        echo "run $i: FAILED"
        sed -n '1,40p' "$data/flow.err"
    fi
    kill "$server"
    wait "$server" 2>/dev/null
done
echo "$flow: $failed failed of $runs"
[ "$failed" -eq 0 ]
