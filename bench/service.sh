#!/usr/bin/env bash
# bench/service.sh — the service's server with a long history: how fast it answers the jobs API,
# and what it weighs with a pool of idle agents.
#
#   api:  a store seeded directly (sqlite3) with --runs runs, each the run of a job (one result
#         each), then --requests timed GETs of /v1/jobs (the newest 200 jobs) and of one job
#         (/v1/jobs/ID), one at a time on loopback (curl's time_total: an upper bound of the server's
#         own time). Goal: p95 <= 50 ms for both.
#   rss:  a fresh store seeded with --rss-runs runs, --agents idle agents connected; the server's
#         resident memory (VmRSS). Recorded, with a goal of <= 200 MiB.
#
# Usage: bench/service.sh [--runs 10000] [--rss-runs 1000] [--agents 100] [--requests 200] [--out FILE]
# PUMMEL=path picks the binary (default target/release/pummel). The last line of stdout is the
# result as one JSON object (also written to FILE with --out).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=10000
RSS_RUNS=1000
AGENTS=100
REQUESTS=200
OUT=
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --rss-runs) RSS_RUNS=$2; shift 2 ;;
        --agents) AGENTS=$2; shift 2 ;;
        --requests) REQUESTS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

ensure_base_tools
need_cmd sqlite3 sqlite3
ensure_pummel

# seed DIR N : N finished runs, each with its job (test names cycling over 20), a result of a few
# KiB and one snapshot, written straight into the store's tables.
seed() {
    local dir=$1 n=$2
    sqlite3 "$dir/pummel.db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
INSERT INTO runs (id, owner, state, created_at, plan, agents, result, exit_code, message)
SELECT 'r' || i, 'bench', 'finished', 1700000000 + i,
       '{"kind":"bench","args":["http://127.0.0.1:1/","-n","100"]}', '[]',
       '{"requests":100,"pad":"' || printf('%.3000c', 'x') || '"}', 0, NULL FROM k;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
INSERT INTO jobs (id, seq, owner, source, test, spec, state, run_id, created_at, started_at,
                  finished_at, exit_code)
SELECT 'j' || i, i, 'bench', 'cli', 'test-' || (i % 20),
       '{"plan":{"kind":"bench","args":["http://127.0.0.1:1/","-n","100"]},"agents":1,"labels":{}}',
       'passed', 'r' || i, 1700000000 + i, 1700000000 + i, 1700000001 + i, 0 FROM k;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
INSERT INTO snapshots (run, agent, second, body) SELECT 'r' || i, 'a1', 0, '{}' FROM k;
SQL
}

# start_server DIR : sets SERVER_URL SERVER_PID CLIENT_TOKEN AGENT_TOKEN
start_server() {
    local dir=$1 port
    port=$(pick_port)
    SERVER_URL="http://127.0.0.1:$port"
    "$PUMMEL" server --listen "127.0.0.1:$port" --data-dir "$dir" 2>"$BENCH_TMP/server-$port.log" &
    SERVER_PID=$!
    track_pid "$SERVER_PID"
    wait_http "$SERVER_URL/healthz" || die "the server did not start: $(cat "$BENCH_TMP/server-$port.log")"
}

new_store() {
    local dir=$1
    "$PUMMEL" server init --data-dir "$dir" >/dev/null
    CLIENT_TOKEN=$("$PUMMEL" server token create --data-dir "$dir" --name bench --role client)
    AGENT_TOKEN=$("$PUMMEL" server token create --data-dir "$dir" --name agents --role agent)
}

# p95_ms PATH : REQUESTS timed GETs, the 95th percentile of their times in ms
p95_ms() {
    local path=$1 i
    for ((i = 0; i < REQUESTS; i++)); do
        curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $CLIENT_TOKEN" \
            "$SERVER_URL$path" || die "GET $path failed"
    done | sort -n | awk -v n="$REQUESTS" '{ v[NR] = $1 } END { i = int(n * 0.95); if (i < 1) i = 1; printf "%.2f\n", v[i] * 1000 }'
}

log "api: seeding $RUNS runs"
new_store "$BENCH_TMP/big"
seed "$BENCH_TMP/big" "$RUNS"
start_server "$BENCH_TMP/big"
list_p95=$(p95_ms /v1/jobs)
one_p95=$(p95_ms "/v1/jobs/j$((RUNS / 2))")
log "api: GET /v1/jobs p95 ${list_p95} ms, GET /v1/jobs/ID p95 ${one_p95} ms"
stop_pid "$SERVER_PID"

log "rss: $AGENTS idle agents, $RSS_RUNS stored runs"
new_store "$BENCH_TMP/pool"
seed "$BENCH_TMP/pool" "$RSS_RUNS"
start_server "$BENCH_TMP/pool"
for ((a = 1; a <= AGENTS; a++)); do
    "$PUMMEL" agent --server "$SERVER_URL" --token "$AGENT_TOKEN" --name "idle$a" 2>/dev/null &
    track_pid "$!"
done
idle=0
for ((i = 0; i < 600; i++)); do
    idle=$(PUMMEL_TOKEN=$CLIENT_TOKEN "$PUMMEL" agents --server "$SERVER_URL" --json |
        jq '[.[] | select(.state == "idle")] | length')
    [[ $idle -ge $AGENTS ]] && break
    sleep 0.2
done
[[ $idle -ge $AGENTS ]] || die "only $idle of $AGENTS agents idle"
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVER_PID/status")
rss_mib=$(calc "$rss_kb / 1024")
log "rss: ${rss_mib} MiB with $idle idle agents"

result=$(jq -nc --argjson runs "$RUNS" --argjson rss_runs "$RSS_RUNS" --argjson agents "$AGENTS" \
    --argjson requests "$REQUESTS" --argjson list "$list_p95" --argjson one "$one_p95" \
    --argjson rss "$rss_mib" --arg bin "$PUMMEL" --arg load "$(loadavg)" '
    { bench: "service", binary: $bin, load: $load,
      api: { runs: $runs, requests: $requests, list_p95_ms: $list, one_p95_ms: $one },
      rss: { runs: $rss_runs, idle_agents: $agents, server_rss_mib: $rss },
      goals_met: { list_p95: ($list <= 50), one_p95: ($one <= 50), rss: ($rss <= 200) } }')
finish_with_goals "$result"
