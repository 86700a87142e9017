#!/usr/bin/env bash
# bench/web.sh — how fast the server's web pages are with a long history: 10,000 runs in the store.
#
#   The store gets --runs-stored runs (half of them the signed-in user's, half another's; each with a
#   1 KiB plan and a 4 KiB result, so the table has realistic rows to skip over). Signed in as an
#   admin (who sees every run), each page is fetched --requests times with curl, one at a time; the
#   figure is the server's own time for the page, from the `Server-Timing: app;dur=MS` header the
#   server sets (store queries and templates; not the network, not the client).
#
#   Pages: the runs list (first page, and page 100: an offset of 4,950), its table fragment (what
#   htmx polls every 2 s), a run page. Goal: p95 <= 50 ms for the list and the run page.
#
#   Then the live chart's lag: one agent joins, a run of --lag-seconds (2 VUs against `pummel
#   target`) is started from the new-run form, and its run page's event stream (what the live
#   chart draws) is read as a browser reads it. For each point: the time it arrived minus the end
#   of the second it describes (the run's start instant, which the stream's `state` event gives,
#   plus the point's t + its length). Server, agent and reader share one clock. Goal: p95 <= 2 s.
#
# Usage: bench/web.sh [--runs-stored 10000] [--requests 200] [--lag-seconds 20] [--out FILE]
# PUMMEL=path/to/pummel measures that binary (default target/release/pummel).
# The last line of stdout is the result as one JSON object (also written to FILE with --out).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STORED=10000
REQUESTS=200
LAG_SECONDS=20
OUT=
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs-stored) STORED=$2; shift 2 ;;
        --requests) REQUESTS=$2; shift 2 ;;
        --lag-seconds) LAG_SECONDS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
ensure_base_tools
need_cmd sqlite3 sqlite3
need_cmd python3 python3
ensure_pummel

DATA="$BENCH_TMP/data"
"$PUMMEL" server init --data-dir "$DATA" >/dev/null
PASSWORD=bench-password-1
PUMMEL_BENCH_PW=$PASSWORD "$PUMMEL" server user create bench --role admin \
    --password-from-env PUMMEL_BENCH_PW --data-dir "$DATA" 2>/dev/null
AGENT_TOKEN=$("$PUMMEL" server token create --data-dir "$DATA" --name agents --role agent)

log "storing $STORED runs"
# One transaction, rows made by SQLite itself (a recursive CTE), so filling takes seconds.
sqlite3 "$DATA/pummel.db" <<SQL
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $STORED)
INSERT INTO runs (id, owner, state, created_at, plan, agents, result, exit_code, message)
SELECT printf('r%010d-bench', i), CASE i % 2 WHEN 0 THEN 'bench' ELSE 'other' END,
       CASE i % 10 WHEN 0 THEN 'failed' ELSE 'finished' END, 1700000000 + i * 60,
       '{"kind":"scenario","file_name":"bench.yaml","text":"' || hex(randomblob(480)) || '","files":{},"env":{},"overrides":[]}',
       '[{"name":"a1"}]', '{"padding":"' || hex(randomblob(2048)) || '"}',
       CASE i % 10 WHEN 0 THEN 99 ELSE 0 END, NULL
FROM n;
COMMIT;
SQL

PORT=$(pick_port)
"$PUMMEL" server --data-dir "$DATA" --listen "127.0.0.1:$PORT" 2>"$BENCH_TMP/server.log" &
SERVER_PID=$!
track_pid "$SERVER_PID"
URL="http://127.0.0.1:$PORT"
wait_http "$URL/healthz" || die "the server did not come up: $(cat "$BENCH_TMP/server.log")"

JAR="$BENCH_TMP/cookies"
csrf=$(curl -sf -c "$JAR" "$URL/login" | grep -o 'name="csrf" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$JAR" -c "$JAR" \
    --data-urlencode "csrf=$csrf" --data-urlencode name=bench --data-urlencode "password=$PASSWORD" "$URL/login")
[[ $code == 303 ]] || die "sign-in answered $code"

# p95_of PATH : the 95th percentile of the server's own time (ms) over $REQUESTS fetches of PATH.
p95_of() {
    local path=$1 i
    for ((i = 0; i < REQUESTS; i++)); do
        curl -s -o /dev/null -D - -b "$JAR" "$URL$path" | tr -d '\r' |
            sed -n 's/^server-timing: app;dur=//Ip'
    done | sort -g | awk '{ v[NR] = $1 } END { i = int(NR * 0.95 + 0.999); if (i < 1) i = 1; print v[i] }'
}

RUN_ID=$(printf 'r%010d-bench' $((STORED / 2)))
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$JAR" "$URL/runs/$RUN_ID")
[[ $code == 200 ]] || die "the run page answered $code"
LIST=$(p95_of /runs)
DEEP=$(p95_of '/runs?page=100')
TABLE=$(p95_of /runs/table)
RUN=$(p95_of "/runs/$RUN_ID")
RSS_KB=$(awk '/VmRSS/ { print $2 }' "/proc/$SERVER_PID/status")

# --- the live chart's lag -------------------------------------------------------------------------
start_target lag
"$PUMMEL" agent --server "$URL" --token "$AGENT_TOKEN" --name a1 2>"$BENCH_TMP/agent.log" &
track_pid $!
for ((i = 0; i < 100; i++)); do
    curl -s -b "$JAR" "$URL/agents/table" | grep -q 'state-idle' && break
    sleep 0.1
done
curl -s -b "$JAR" "$URL/agents/table" | grep -q 'state-idle' || die "the agent did not join: $(cat "$BENCH_TMP/agent.log")"
form_csrf=$(curl -sf -b "$JAR" "$URL/runs/new" | grep -o 'name="csrf" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')
SCENARIO="target: ${TARGET_URL%/}
load: { vus: 2, duration: ${LAG_SECONDS}s }
scenarios:
  - name: browse
    steps:
      - request: GET /
      - think: 10ms"
location=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$JAR" --data-urlencode "csrf=$form_csrf" \
    --data-urlencode file_name=lag.yaml --data-urlencode "scenario=$SCENARIO" --data-urlencode agents=1 \
    "$URL/runs/new")
LAG_JOB=${location##*/jobs/}
[[ -n $location && $LAG_JOB != "$location" ]] || die "the new-run form did not lead to a job page: ${location:-no redirect}"
# The job's page leads on to its run once the queue has started it.
LAG_RUN=
for ((i = 0; i < 100; i++)); do
    location=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$JAR" "$URL/jobs/$LAG_JOB")
    [[ $location == */runs/* ]] && { LAG_RUN=${location##*/runs/}; break; }
    sleep 0.1
done
[[ -n $LAG_RUN ]] || die "job $LAG_JOB did not start: $(curl -s -b "$JAR" "$URL/jobs/$LAG_JOB" | grep -o 'state-[a-z]*' | head -n 1)"
log "run $LAG_RUN for ${LAG_SECONDS}s on one agent; reading its live page's event stream"
# The reader stamps each line as it arrives (curl -N passes them on unbuffered).
LAG=$({ timeout $((LAG_SECONDS + 60)) curl -sN -b "$JAR" "$URL/runs/$LAG_RUN/events" || true; } | python3 -u -c '
import json, sys, time
start = None
lags = []
event = None
for raw in sys.stdin.buffer:
    now_ms = time.time() * 1000.0
    line = raw.decode("utf-8", "replace").rstrip("\r\n")
    if line.startswith("event: "):
        event = line[7:]
    elif line.startswith("data: "):
        data = json.loads(line[6:])
        if event == "state" and data.get("start_unix_ms"):
            start = data["start_unix_ms"]
        elif event == "point" and start is not None:
            # Points replayed before the reader knew the start (it connects at the start) are
            # left out; so is the last, partial second (its end is the run end, not a second).
            if data["duration_s"] >= 0.999:
                lags.append(now_ms - (start + (data["t"] + data["duration_s"]) * 1000.0))
        elif event == "ended":
            break
lags.sort()
def q(p):
    return round(lags[min(len(lags) - 1, max(0, int(len(lags) * p + 0.999) - 1))], 1) if lags else None
print(json.dumps({"points": len(lags), "median_ms": q(0.5), "p95_ms": q(0.95), "max_ms": q(1.0)}))
')
log "live chart lag: $LAG"
[[ $(jq -r .points <<<"$LAG") -ge $((LAG_SECONDS / 2)) ]] || die "too few points measured: $LAG"

result=$(jq -n --argjson stored "$STORED" --argjson requests "$REQUESTS" \
    --argjson list "$LIST" --argjson deep "$DEEP" --argjson table "$TABLE" --argjson run "$RUN" \
    --argjson rss "$RSS_KB" --argjson lag "$LAG" --argjson lag_seconds "$LAG_SECONDS" \
    --arg binary "$PUMMEL" --arg load "$(loadavg)" '{
      bench: "web", runs_stored: $stored, requests_per_page: $requests, binary: $binary, load_avg: $load,
      p95_ms_server_side: { runs_list: $list, runs_list_page_100: $deep, runs_table: $table, run_page: $run },
      server_rss_kb: $rss,
      live_chart_lag_ms: ($lag + { run_seconds: $lag_seconds }),
      goals_met: { runs_list: ($list <= 50), runs_list_page_100: ($deep <= 50), run_page: ($run <= 50),
                   live_chart_lag: ($lag.p95_ms <= 2000) }
    }')
finish_with_goals "$result"
