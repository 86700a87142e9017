#!/usr/bin/env bash
# bench/distributed.sh — what distribution costs: a run through `pummel server` and its agents
# against the same run on one machine, on loopback.
#
#   rps:   `pummel bench` on nginx, closed model, locally and through a server with one agent,
#          alternated --runs times; ratio of the medians. Goal: >= 0.97.
#   skew:  three agents run `bench -c 3` (one connection each) against a recording server
#          (python3) that notes each connection's first request: start skew = latest first request
#          minus earliest. Median of --runs. Goal: <= 5 ms; again with one agent's clock 2 s ahead
#          (PUMMEL_TEST_CLOCK_OFFSET_MS, a test-only setting), which the offset measurement must
#          cancel.
#   cpu:   50 agents run a scenario of 40 request steps (40 metric keys) at 50 iterations/s for
#          --duration: every agent sends one snapshot a second. The server's CPU time (user + sys,
#          /proc) over the run's wall time. Goal: <= 5% of a core.
#   lag:   the client prints each merged second as it arrives; lag = when the line for second k
#          was printed minus (start + k s), median over the run. Goal: <= 1.5 s.
#
# Usage: bench/distributed.sh [--duration 10s] [--runs 3] [--agents 50] [--out FILE]
# The last line of stdout is the result as one JSON object (also written to FILE with --out).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=10s
RUNS=3
MANY=50
OUT=
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --duration | -z) DURATION=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --agents) MANY=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
SECS=$(dur_secs "$DURATION")
LIMIT=$((SECS + 60))

ensure_base_tools
need_cmd python3 python3
ensure_pummel
start_nginx 20000

DATA="$BENCH_TMP/server"
"$PUMMEL" server init --data-dir "$DATA" >/dev/null
CLIENT_TOKEN=$("$PUMMEL" server token create --data-dir "$DATA" --name bench --role client)
AGENT_TOKEN=$("$PUMMEL" server token create --data-dir "$DATA" --name agents --role agent)
PORT=$(pick_port)
SERVER_URL="http://127.0.0.1:$PORT"
"$PUMMEL" server --trust-clients --listen "127.0.0.1:$PORT" --data-dir "$DATA" 2>"$BENCH_TMP/server.log" &
SERVER_PID=$!
track_pid "$SERVER_PID"
wait_http "$SERVER_URL/healthz" || die "the server did not start: $(cat "$BENCH_TMP/server.log")"
export PUMMEL_SERVER=$SERVER_URL PUMMEL_TOKEN=$CLIENT_TOKEN

# start_agent NAME [ENV=VALUE...]
start_agent() {
    local name=$1
    shift
    env "$@" "$PUMMEL" agent --server "$SERVER_URL" --token "$AGENT_TOKEN" --name "$name" \
        2>"$BENCH_TMP/agent-$name.log" &
    track_pid "$!"
    AGENT_PIDS+=("$!")
}

# wait_idle N : until N agents are idle
wait_idle() {
    local i
    for ((i = 0; i < 300; i++)); do
        [[ $("$PUMMEL" agents --json | jq '[.[] | select(.state == "idle")] | length') -ge $1 ]] && return 0
        sleep 0.1
    done
    die "fewer than $1 agents idle: $("$PUMMEL" agents)"
}

# stop_agents : ends every agent started so far
stop_agents() {
    local pid
    for pid in "${AGENT_PIDS[@]}"; do stop_pid "$pid"; done
    AGENT_PIDS=()
    # The server keeps them as lost; new ones get new names.
}
AGENT_PIDS=()

# --- rps: local against one agent -----------------------------------------------------------------
start_agent solo
wait_idle 1
local_rps=() dist_rps=()
for ((r = 1; r <= RUNS; r++)); do
    timeout "$LIMIT" "$PUMMEL" bench "$NGINX_URL" -c 50 -z "$DURATION" --json >"$BENCH_TMP/local.json"
    local_rps+=("$(jq .rps "$BENCH_TMP/local.json")")
    timeout "$LIMIT" "$PUMMEL" bench "$NGINX_URL" -c 50 -z "$DURATION" --json --server "$SERVER_URL" \
        --agents 1 >"$BENCH_TMP/dist.json" 2>"$BENCH_TMP/dist.err"
    dist_rps+=("$(jq .rps "$BENCH_TMP/dist.json")")
    log "run $r: local ${local_rps[-1]} req/s, through the server ${dist_rps[-1]} req/s (load $(loadavg))"
done
LOCAL_RPS=$(median "${local_rps[@]}")
DIST_RPS=$(median "${dist_rps[@]}")
RPS_RATIO=$(calc "$DIST_RPS / $LOCAL_RPS")
stop_agents

# --- skew: three agents' first requests ---------------------------------------------------------
RECORDER="$BENCH_TMP/recorder.py"
cat >"$RECORDER" <<'PY'
import asyncio, sys, time
import itertools
firsts = {}
numbers = itertools.count()
async def handle(reader, writer):
    conn = next(numbers)
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            firsts.setdefault(conn, time.time_ns())
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        ts = sorted(firsts.values())
        print(f"{(ts[-1] - ts[0]) / 1e6:.3f}" if len(ts) > 1 else "nan", flush=True)
        firsts.clear()
asyncio.run(main())
PY
# skew_runs [ENV=VALUE for the third agent] -> median skew in ms over RUNS
skew_runs() {
    local skews=() r
    start_agent "skew1-$1" && start_agent "skew2-$1" && start_agent "skew3-$1" "$2"
    wait_idle 3
    coproc REC { python3 -u "$RECORDER" 2>/dev/null; }
    local port
    read -r port <&"${REC[0]}"
    for ((r = 1; r <= RUNS; r++)); do
        "$PUMMEL" bench "http://127.0.0.1:$port/" -c 3 -n 300 --server "$SERVER_URL" --agents 3 >/dev/null 2>&1 \
            || die "the skew run failed"
        echo >&"${REC[1]}"
        local s
        read -r s <&"${REC[0]}"
        skews+=("$s")
    done
    kill "$REC_PID" 2>/dev/null || true
    stop_agents
    log "start skew ($1): ${skews[*]} ms"
    median "${skews[@]}"
}
SKEW_MS=$(skew_runs plain "PUMMEL_TEST_CLOCK_OFFSET_MS=0")
SKEW_OFFSET_MS=$(skew_runs offset "PUMMEL_TEST_CLOCK_OFFSET_MS=2000")

# --- cpu and lag: many agents, many keys --------------------------------------------------------
SCENARIO="$BENCH_TMP/keys.yaml"
{
    echo "target: ${NGINX_URL%/}"
    echo "load: { rate: $MANY, duration: $DURATION }"
    echo "scenarios:"
    echo "  - name: many"
    echo "    steps:"
    for ((k = 1; k <= 40; k++)); do echo "      - { name: step$k, request: GET /k$k }"; done
} >"$SCENARIO"
for ((a = 1; a <= MANY; a++)); do start_agent "many$a" "PUMMEL_TEST_CLOCK_OFFSET_MS=0"; done
wait_idle "$MANY"
cpu_before=$(sed 's/.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }')
t0=$(date +%s%N)
: >"$BENCH_TMP/lag.lines"
timeout "$LIMIT" "$PUMMEL" run "$SCENARIO" --server "$SERVER_URL" --agents "$MANY" --json \
    2> >(while IFS= read -r line; do printf '%s %s\n' "$(date +%s%3N)" "$line"; done >>"$BENCH_TMP/lag.lines") \
    >"$BENCH_TMP/many.json" || die "the many-agent run failed: $(tail -n 5 "$BENCH_TMP/lag.lines")"
t1=$(date +%s%N)
cpu_after=$(sed 's/.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }')
HZ=$(getconf CLK_TCK)
SERVER_CPU_PCT=$(calc "100 * ($cpu_after - $cpu_before) / $HZ / (($t1 - $t0) / 1e9)")
sleep 1 # the process substitution's last lines
start_ms=$(grep -o 'started [0-9T:.-]*Z' "$BENCH_TMP/lag.lines" | head -n 1 | cut -d' ' -f2)
start_ms=$(date -d "$start_ms" +%s%3N)
mapfile -t lags < <(sed -n 's/^\([0-9]*\) \[ *\([0-9]*\)s\].*/\1 \2/p' "$BENCH_TMP/lag.lines" |
    awk -v s="$start_ms" '{ print ($1 - s - $2 * 1000) / 1000 }')
LAG_S=$(median "${lags[@]}")
MANY_REQUESTS=$(jq .requests "$BENCH_TMP/many.json")
stop_agents

result=$(jq -n \
    --argjson local_rps "$LOCAL_RPS" --argjson dist_rps "$DIST_RPS" --argjson ratio "$RPS_RATIO" \
    --argjson skew "$SKEW_MS" --argjson skew_offset "$SKEW_OFFSET_MS" \
    --argjson cpu "$SERVER_CPU_PCT" --argjson lag "$LAG_S" --argjson many "$MANY" \
    --argjson many_requests "$MANY_REQUESTS" --arg duration "$DURATION" --argjson runs "$RUNS" \
    --arg load "$(loadavg)" '{
      bench: "distributed", duration: $duration, runs: $runs, load_avg: $load,
      rps: { local: $local_rps, through_server_one_agent: $dist_rps, ratio: $ratio },
      start_skew_ms: { three_agents: $skew, one_agent_clock_plus_2s: $skew_offset },
      server_cpu_percent: { agents: $many, keys_per_snapshot: 40, percent_of_a_core: $cpu, requests: $many_requests },
      live_progress_lag_s: $lag,
      goals_met: { rps_ratio: ($ratio >= 0.97), skew: ($skew <= 5), skew_with_offset: ($skew_offset <= 5),
                   server_cpu: ($cpu <= 5), progress_lag: ($lag <= 1.5) }
    }')
finish_with_goals "$result"
