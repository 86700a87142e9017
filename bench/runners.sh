#!/usr/bin/env bash
# bench/runners.sh — what the runner protocol carries, and journeys in Python and JavaScript beside
# YAML and Locust.
#
# 1. Protocol: one Python runner process (--runner-processes 1) whose test reports 100 stubbed hits
#    per iteration (bench/runners/stub.py: no HTTP at all), 4 VUs, for DURATION; pummel and the
#    runner pinned to core CLIENT_CPU. Figure: hits per second pummel recorded. Goal: >= 20,000/s.
# 2. Journey: the marketplace's browse journey (4 GETs and their checks, no think time) against
#    `pummel target` (core SERVER_CPU), 10 VUs for DURATION, each client pinned to core CLIENT_CPU:
#    pummel YAML, pummel + Python runner (one process), pummel + Node runner (one process), and
#    Locust (one process, HttpUser, same requests and checks). Figures: requests/s, p50 and p99 as
#    each tool reports them. Goal: Python runner >= Locust's requests/s (both on one core).
# 3. Memory: the Python runner process's RSS with 10 and with 1,010 idle VUs (threads sleeping in
#    their iteration); (RSS(1010) - RSS(10)) / 1000 per idle VU.
#
# Needs the runner venv and Node project (scripts/test-deps.d/50-runners.sh); installs Locust into
# the venv if missing.
#
# Usage: bench/runners.sh [--duration 10s] [--out FILE]
# The last line of stdout is the result as one JSON object (also written to FILE with --out).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=10s
OUT=
usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --duration | -z) DURATION=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
SECS=$(dur_secs "$DURATION")

ensure_base_tools
ensure_pummel
VENV="$ROOT_DIR/target/runner-venv"
NODE_DIR="$ROOT_DIR/target/runner-node"
[[ -x $VENV/bin/python && -f $NODE_DIR/node_modules/pummel/runner.mjs ]] ||
    die "the runner venv and Node project are missing: run scripts/install-test-deps"
"$VENV/bin/python" -c 'import locust' 2>/dev/null || "$VENV/bin/pip" install -q locust >&2 ||
    die "cannot install locust into $VENV"
export PUMMEL_PYTHON="$VENV/bin/python"
PIN=(taskset -c "$CLIENT_CPU")
RUNNERS="$BENCH_DIR/runners"

# 1. The protocol's throughput, HTTP stubbed.
log "protocol: stubbed hits from one Python runner process for $DURATION"
(cd "$NODE_DIR" && "${PIN[@]}" timeout $((SECS + 60)) "$PUMMEL" run --runner python "$RUNNERS/stub.py:Stub.test_hits" \
    --vus 4 --duration "$DURATION" --runner-processes 1 --json >"$BENCH_TMP/stub.json" 2>"$BENCH_TMP/stub.err") ||
    die "the stub run failed: $(tail -5 "$BENCH_TMP/stub.err")"
HITS_PER_S=$(jq '.requests / .duration_s | floor' "$BENCH_TMP/stub.json")
log "protocol: $HITS_PER_S hits/s"

# 2. The journey, four ways.
start_target runners
export TARGET=${TARGET_URL%/} VUS=10 DURATION
sed -e "s|\${TARGET}|$TARGET|" -e "s|\${VUS}|$VUS|" -e "s|\${DURATION}|$DURATION|" "$RUNNERS/browse.yaml" >"$BENCH_TMP/browse.yaml"
# pummel_journey NAME ARGS... : prints "rps p50 p99 failed_checks"
pummel_journey() {
    local name=$1
    shift
    (cd "$NODE_DIR" && "${PIN[@]}" timeout $((SECS + 60)) "$PUMMEL" run "$@" --json -e "TARGET=$TARGET" \
        >"$BENCH_TMP/$name.json" 2>"$BENCH_TMP/$name.err") || die "$name failed: $(tail -5 "$BENCH_TMP/$name.err")"
    jq -r '"\(.rps) \(.latency_ms.p50) \(.latency_ms.p99) \(.checks.failed // 0)"' "$BENCH_TMP/$name.json"
}
log "journey: YAML"
read -r YAML_RPS YAML_P50 YAML_P99 YAML_FAILED < <(pummel_journey yaml "$BENCH_TMP/browse.yaml")
log "journey: Python runner"
read -r PY_RPS PY_P50 PY_P99 PY_FAILED < <(pummel_journey python --runner python "$RUNNERS/browse.py:Browse.test_browse" \
    --vus "$VUS" --duration "$DURATION" --runner-processes 1)
log "journey: Node runner"
read -r JS_RPS JS_P50 JS_P99 JS_FAILED < <(pummel_journey node --runner node "$RUNNERS/browse.mjs" \
    --vus "$VUS" --duration "$DURATION" --runner-processes 1)
log "journey: Locust"
(cd "$BENCH_TMP" && "${PIN[@]}" timeout $((SECS + 60)) "$VENV/bin/locust" -f "$RUNNERS/locustfile.py" --headless \
    -u "$VUS" -r "$VUS" -t "${SECS}s" --host "$TARGET" --csv "$BENCH_TMP/locust" --only-summary \
    >"$BENCH_TMP/locust.out" 2>"$BENCH_TMP/locust.err") || true
[[ -f $BENCH_TMP/locust_stats.csv ]] || die "locust wrote no statistics: $(tail -5 "$BENCH_TMP/locust.err")"
# The Aggregated row: requests/s, 50% and 99% (ms).
read -r LOCUST_RPS LOCUST_P50 LOCUST_P99 LOCUST_FAILED < <(python3 - "$BENCH_TMP/locust_stats.csv" <<'PY'
import csv, sys
for row in csv.DictReader(open(sys.argv[1])):
    if row["Name"] == "Aggregated":
        print(row["Requests/s"], row["50%"], row["99%"], row["Failure Count"])
PY
)

# 3. Memory per idle Python VU: the runner process's RSS with few and many sleeping VUs.
# idle_rss N : the Python runner's VmRSS (KiB) 4 s after the run started, its VUs asleep.
idle_rss() {
    local n=$1 pid child rss=
    (cd "$NODE_DIR" && exec "$PUMMEL" run --runner python "$RUNNERS/idle.py:Idle.test_idle" --vus "$n" --duration 8s \
        --runner-processes 1 --iteration-timeout 60s >/dev/null 2>&1) &
    pid=$!
    track_pid "$pid"
    sleep 5
    child=$(pgrep -P "$pid" -f pummel.runner | head -n 1 || true)
    [[ -n $child ]] && rss=$(awk '/^VmRSS/ {print $2}' "/proc/$child/status" 2>/dev/null || true)
    stop_pid "$pid"
    echo "${rss:-nan}"
}
RSS_10=$(idle_rss 10)
RSS_1010=$(idle_rss 1010)
log "memory: RSS $RSS_10 KiB with 10 idle VUs, $RSS_1010 KiB with 1,010"

RESULT=$(jq -n \
    --argjson hits "$HITS_PER_S" \
    --argjson yr "$YAML_RPS" --argjson y50 "$YAML_P50" --argjson y99 "$YAML_P99" --argjson yf "$YAML_FAILED" \
    --argjson pr "$PY_RPS" --argjson p50 "$PY_P50" --argjson p99 "$PY_P99" --argjson pf "$PY_FAILED" \
    --argjson jr "$JS_RPS" --argjson j50 "$JS_P50" --argjson j99 "$JS_P99" --argjson jf "$JS_FAILED" \
    --argjson lr "$LOCUST_RPS" --argjson l50 "$LOCUST_P50" --argjson l99 "$LOCUST_P99" --argjson lf "$LOCUST_FAILED" \
    --arg r10 "$RSS_10" --arg r1010 "$RSS_1010" --arg load "$(loadavg)" '
    {
      bench: "runners",
      protocol: { hits_per_s: $hits, goal: 20000, goal_met: ($hits >= 20000) },
      journey: {
        yaml:   { rps: $yr, p50_ms: $y50, p99_ms: $y99, checks_failed: $yf },
        python: { rps: $pr, p50_ms: $p50, p99_ms: $p99, checks_failed: $pf },
        node:   { rps: $jr, p50_ms: $j50, p99_ms: $j99, checks_failed: $jf },
        locust: { rps: $lr, p50_ms: $l50, p99_ms: $l99, failures: $lf },
        python_over_locust: (if $lr > 0 then ($pr / $lr * 100 | round) / 100 else null end),
        goal_met: ($pr >= $lr)
      },
      memory: {
        rss_kib_10_vus: ($r10 | tonumber? // null),
        rss_kib_1010_vus: ($r1010 | tonumber? // null),
        kib_per_idle_vu: (if ($r10 | tonumber? // null) != null and ($r1010 | tonumber? // null) != null
                          then (((($r1010 | tonumber) - ($r10 | tonumber)) / 1000 * 10 | round) / 10) else null end)
      },
      load_average: $load
    }')
finish_with_goals "$RESULT"
