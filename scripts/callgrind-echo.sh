#!/usr/bin/env bash
# User-space instructions per round trip of the one-connection echo server,
# kiwi against tokio, counted by callgrind (deterministic, unlike CPU time on
# this VM). Each server runs twice under callgrind, for 2,000 and 12,000 round
# trips from bench/c/pingpong.c; the difference of the totals divided by 10,000
# cancels start-up and shutdown.
#
#   scripts/callgrind-echo.sh            (about a minute; needs valgrind and cc)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-bench}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
cargo build --release -p kiwi-bench
bench="$CARGO_TARGET_DIR/release/kiwi-bench"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -Wall -o "$work/pingpong" bench/c/pingpong.c

# Total instructions of one server run serving $2 round trips.
count() {
    local kind=$1 n=$2 port=$3 out="$work/$1-$2.out"
    # The server lives until its stdin closes (the sleep ends) or it is killed.
    sleep 60 | valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$bench" server "$kind" echo 0 "$port" >/dev/null 2>&1 &
    for _ in $(seq 1 100); do
        "$work/pingpong" "$port" 0 2>/dev/null && break
        sleep 0.2
    done
    taskset -c 1 "$work/pingpong" "$port" "$n"
    pkill -TERM -f "callgrind-out-file=$out" || true
    for _ in $(seq 1 50); do
        grep -q '^totals:' "$out" 2>/dev/null && break
        sleep 0.2
    done
    awk '/^totals:/ { print $2 }' "$out"
}

port=$((20000 + RANDOM % 20000))
for kind in kiwi tokio; do
    small=$(count "$kind" 2000 "$port"); port=$((port + 1))
    large=$(count "$kind" 12000 "$port"); port=$((port + 1))
    echo "$kind: $(( (large - small) / 10000 )) instructions per round trip"
done
