#!/usr/bin/env bash
# Server CPU per request of kiwi-bench servers built from different commits,
# and tokio, side by side: many short alternating runs and their medians,
# which on this noisy 2-core machine resolve differences that B9's three
# rounds cannot.
#
#   scripts/cpu-ab.sh ROUNDS APP WORKERS LABEL=KIWI_BENCH_BINARY ...
#
# APP is a `kiwi-bench server` app (hyper, axum, http, ...). A label named
# `tokio` runs the tokio server of its binary; any other label runs kiwi's.
# Each run: the server (on CPU 0 for one worker, CPUs 0-1 for two), a 1 s
# warm-up, then `wrk -t1 -c256 -d3s` (on CPU 1, or unpinned for two workers),
# with the server's utime and stime read from /proc around the 3 s; each line
# of the summary also gives user time's share of that CPU. KIWI_AB_CONNS
# sets wrk's connection count (default 256; 1 measures a lone client's
# round trips, where every request wakes the server). Example, the
# commit before a change against the change and tokio:
#
#   git worktree add /tmp/before HEAD~1
#   (cd /tmp/before && CARGO_TARGET_DIR=$PWD/../before-target cargo build --release -p kiwi-bench)
#   cargo build --release -p kiwi-bench
#   scripts/cpu-ab.sh 12 hyper 2 before=/tmp/before-target/release/kiwi-bench \
#       after=target/release/kiwi-bench tokio=target/release/kiwi-bench
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,24p "$0"; exit 2; }
rounds=$1 app=$2 workers=$3
shift 3
conns=${KIWI_AB_CONNS:-256}
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
server_cpus=0 wrk_cpus=1
if [ "$workers" -gt 1 ]; then server_cpus=0,1 wrk_cpus=0,1; fi

# One run: prints "label requests cpu_us_per_request".
run() {
    local label=$1 bin=$2 rt=kiwi
    [ "$label" = tokio ] && rt=tokio
    local port=$((20000 + RANDOM % 20000))
    sleep 30 | taskset -c $server_cpus "$bin" server $rt "$app" "$workers" $port >/dev/null 2>&1 &
    local pid=""
    for _ in $(seq 1 50); do
        pid=$(pgrep -f "server $rt $app $workers $port" | head -1) && break
        sleep 0.1
    done
    # Wait until it listens (a slow start once aborted a whole run here);
    # a server that never does is reported and its run skipped.
    local up=""
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { up=1; break; }
        sleep 0.1
    done
    if [ -z "$up" ] || [ -z "$pid" ]; then
        echo "$label: the server on port $port did not start; run skipped" >&2
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
        pkill -P $$ -x sleep || true
        wait 2>/dev/null || true
        return 0
    fi
    taskset -c 1 wrk -t1 -c$conns -d1s "http://127.0.0.1:$port/" >/dev/null
    local u0 s0 u1 s1 req
    read -r u0 s0 < <(awk '{print $14, $15}' /proc/"$pid"/stat)
    req=$(taskset -c $wrk_cpus wrk -t1 -c$conns -d3s "http://127.0.0.1:$port/" |
        awk '/requests in/ {print $1}')
    read -r u1 s1 < <(awk '{print $14, $15}' /proc/"$pid"/stat)
    kill "$pid"
    pkill -P $$ -x sleep || true # the server's stdin, which would live 30 s
    wait 2>/dev/null || true
    local hz
    hz=$(getconf CLK_TCK)
    # The last field is user time's share of the server's CPU time.
    awk -v l="$label" -v r="$req" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" \
        'BEGIN { if (r > 0 && u + s > 0) printf "%s %d %.3f %.3f\n", l, r, (u + s) * 1e6 / hz / r, u / (u + s) }'
}

for i in $(seq 1 "$rounds"); do
    for pair in "$@"; do
        run "${pair%%=*}" "${pair#*=}" >>"$out"
    done
    echo "round $i/$rounds done" >&2
done
python3 - "$out" <<'PY'
import statistics as st, sys
rows, users = {}, {}
for line in open(sys.argv[1]):
    label, req, cpu, user = line.split()
    rows.setdefault(label, []).append(float(cpu))
    users.setdefault(label, []).append(float(user))
base = st.median(rows["tokio"]) if "tokio" in rows else None
for label, v in rows.items():
    ratio = f"  {st.median(v) / base:.3f}x tokio" if base else ""
    print(f"{label:8} runs {len(v):2}  median {st.median(v):.2f} us/req"
          f"  range {min(v):.2f}-{max(v):.2f}{ratio}"
          f"  user {st.median(users[label]) * 100:.0f}%")
PY
