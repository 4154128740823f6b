#!/usr/bin/env bash
# Server CPU per request of the example servers against the matching
# kiwi-bench server, side by side (issue 12): each pinned to CPU 0 with one
# worker, the load on CPU 1, alternating rounds. CPU time comes from
# /proc/PID/stat (utime + stime) over the load's run.
#
#   echo_server --workers 1   vs   kiwi-bench server kiwi echo 1   (50 pingpong clients x 4000 round trips)
#   http_hello --workers 1    vs   kiwi-bench server kiwi http 1   (wrk -t1 -c256 -d3s)
#
#   scripts/examples-cpu.sh [ROUNDS]     (needs wrk and cc)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
cargo build --release -q -p kiwi-bench
cargo build --release -q -p kiwi --example echo_server --example http_hello
bin=target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -Wall -o "$work/pingpong" bench/c/pingpong.c
# The bench servers exit at EOF on stdin: give them a pipe nobody closes.
mkfifo "$work/stdin"
exec 4<>"$work/stdin"
tick=$(getconf CLK_TCK)

cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Starts "$@" (PORT replaced) on CPU 0, runs the load, prints CPU µs per request.
measure() {
    local mode=$1; shift
    local port=$((20000 + RANDOM % 20000))
    taskset -c 0 "${@//PORT/$port}" <"$work/stdin" >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 1 50); do
        "$work/pingpong" "$port" 0 2>/dev/null && break
        sleep 0.1
    done
    local t0 t1 n
    t0=$(cpu_of "$pid")
    if [ "$mode" = echo ]; then
        local clients=()
        for _ in $(seq 1 50); do
            taskset -c 1 "$work/pingpong" "$port" 4000 &
            clients+=($!)
        done
        wait "${clients[@]}"
        n=200000
    else
        n=$(taskset -c 1 wrk -t1 -c256 -d3s "http://127.0.0.1:$port/" | awk '/requests in/ { print $1 }')
    fi
    t1=$(cpu_of "$pid")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    awk -v a="$t0" -v b="$t1" -v n="$n" -v t="$tick" 'BEGIN { printf "%.2f\n", (b - a) * 1e6 / t / n }'
}

for r in $(seq 1 "$rounds"); do
    be=$(measure echo "$bin/kiwi-bench" server kiwi echo 1 PORT)
    ee=$(measure echo "$bin/examples/echo_server" 127.0.0.1:PORT --workers 1)
    bh=$(measure http "$bin/kiwi-bench" server kiwi http 1 PORT)
    eh=$(measure http "$bin/examples/http_hello" 127.0.0.1:PORT --workers 1)
    echo "round $r: echo µs/rt bench $be example $ee; http µs/req bench $bh example $eh"
done
