#!/usr/bin/env bash
# User-space instructions per request of `kiwi-bench server` apps under load,
# counted by callgrind, and where they go. Unlike scripts/callgrind-examples.sh
# (one connection, one request per reactor turn), many connections are in
# flight here, so a reactor turn serves many requests, as under wrk -c256, and
# the per-turn costs (epoll, the timer wheel, the clock) are shared out as they
# are in the real benchmark.
#
# Each server runs under callgrind on one worker (kiwi's lone worker, tokio's
# current_thread); `wrk -c64` warms it for 2 s, callgrind's counters are zeroed,
# wrk runs again for 6 s, and the counters are dumped before the server is
# killed, so start-up and shutdown are not counted. The count divided by wrk's
# requests is the figure; valgrind slows the server about 50-fold, so every
# reactor turn finds more requests ready than natively, and the per-turn share
# is, if anything, understated.
#
#   scripts/callgrind-load.sh APP LABEL=KIWI_BENCH_BINARY[:RUNTIME] ...
#
# RUNTIME is kiwi (the default) or tokio. Example, a change against its parent
# and tokio:
#
#   scripts/callgrind-load.sh hyper before=/tmp/before/kiwi-bench \
#       after=target-bench/release/kiwi-bench tokio=target-bench/release/kiwi-bench:tokio
#
# Needs valgrind and wrk. Prints one line per server, then the runtime's
# functions (self cost per request) when KIWI_CG_TOP=N is set.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,26p "$0"; exit 2; }
app=$1
shift
for tool in valgrind callgrind_control callgrind_annotate wrk curl; do
    command -v $tool >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'pkill -f "callgrind-out-file=$work" 2>/dev/null || true; rm -rf "$work"' EXIT

count() {
    local label=$1 bin=$2 rt=$3
    local port=$((20000 + RANDOM % 20000)) out="$work/$label"
    sleep 300 | valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$bin" server "$rt" "$app" 0 "$port" >/dev/null 2>&1 &
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.3
    done
    taskset -c 1 wrk -t1 -c64 -d2s "http://127.0.0.1:$port/" >/dev/null
    local pid
    pid=$(pgrep -f "callgrind-out-file=$out" | tail -1)
    callgrind_control -z "$pid" >/dev/null 2>&1
    local req
    req=$(taskset -c 1 wrk -t1 -c64 -d6s "http://127.0.0.1:$port/" |
        awk '/requests in/ {print $1}')
    callgrind_control -d "$pid" >/dev/null 2>&1
    pkill -f "callgrind-out-file=$out" || true
    pkill -P $$ -x sleep || true
    wait 2>/dev/null || true
    local total
    total=$(awk '/^totals:/ {print $2; exit}' "$out.1")
    echo "$label: $req requests, $((total / req)) instructions per request"
    if [ -n "${KIWI_CG_TOP:-}" ]; then
        # Self cost per function; the frames still on the stack at the dump
        # carry the whole total and are skipped.
        callgrind_annotate --threshold=100 --auto=no "$out.1" |
            awk -v r="$req" -v t="$total" '
                match($0, /^ *[0-9,]+ +\(/) {
                    n = $1; gsub(",", "", n)
                    if (n + 0 >= t / 2) next
                    fn = $0; sub(/^ *[0-9,]+ +\([^)]*\) +[^:]*:/, "", fn); sub(/ \[.*/, "", fn)
                    if (fn ~ /kiwi|tokio/) cost[fn] += n / r
                }
                END { for (fn in cost) printf "  %7.1f  %s\n", cost[fn], fn }' |
            sort -rn | head -n "$KIWI_CG_TOP"
    fi
}

for pair in "$@"; do
    label=${pair%%=*} spec=${pair#*=}
    bin=${spec%%:*} rt=kiwi
    [ "$spec" != "$bin" ] && rt=${spec#*:}
    count "$label" "$bin" "$rt"
done
