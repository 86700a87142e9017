#!/usr/bin/env bash
# bench/latency-truth.sh — are pummel's percentiles true? Loads `pummel target` endpoints whose
# latency is known in advance and prints reported vs truth:
#
#   closed /delay/20             every response takes 20 ms         p50 = p99 = 20 ms
#   closed /delay/10?jitter=20   uniform 10–30 ms                   p50 = 20 ms, p99 = 29.8 ms
#   open   -q 200 -z 10s, target frozen for 2 s, 3 s after its first request:
#          a request scheduled t s into the freeze waits (2 − t) s, so with 2,000 requests
#          p90 = 1.0 s, p95 = 1.5 s, p99 = 1.9 s (from the scheduled start, as wrk2 measures)
#
# Truth excludes the few tens of µs loopback and server overhead, and the server's timer rounds a
# sleep up to the next millisecond: a reported figure a little above the truth is expected.
# A figure counts as ok when it is within max(2 ms, 5 %) of the truth.
# For the two closed-model cases wrk (-t1, --latency) is run too, for comparison (Debian's wrk has
# no -R, so it cannot run the open-model case).
#
# Usage: bench/latency-truth.sh [--duration 10s] [--connections 50] [--no-wrk] [--out FILE]
# The last line of stdout is the result as one JSON object (also written to FILE with --out).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=10s
CONNS=50
WITH_WRK=1
OUT=
usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --duration | -z) DURATION=$2; shift 2 ;;
        --connections | -c) CONNS=$2; shift 2 ;;
        --no-wrk) WITH_WRK=; shift ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
SECS=$(dur_secs "$DURATION")
LIMIT=$((SECS + 30))
STALL_RATE=200
STALL_AFTER=3
STALL_FOR=2
STALL_SECS=10
# The target only sleeps, but its timers fire late when its one core is busy: let it use every core
# (override with TARGET_CPU=0 to pin it). The client stays on core CLIENT_CPU, one thread.
TARGET_CPU=${TARGET_CPU-}

ensure_base_tools
ensure_pummel
if [[ -n $WITH_WRK ]]; then ensure_wrk; fi

# wrk_ms FILE PCT : wrk's --latency percentile (e.g. 50, 99) in ms
wrk_ms() {
    awk -v pct="$2%" '
        /Latency Distribution/ { on = 1; next }
        on && $1 == pct {
            v = $2; unit = v; sub(/^[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
            f = (unit == "us") ? 0.001 : (unit == "ms") ? 1 : (unit == "s") ? 1000 : (unit == "m") ? 60000 : 0
            printf "%.3f\n", v * f; exit
        }' "$1"
}

CHECKS='[]'
FAILED=0
# check CASE TOOL METRIC REPORTED_MS TRUTH_MS : prints one row, records it
check() {
    local case=$1 tool=$2 metric=$3 got=$4 truth=$5 diff pct ok
    diff=$(calc "$got - $truth")
    pct=$(calc "100 * ($got - $truth) / $truth")
    ok=$(awk -v d="$diff" -v t="$truth" 'BEGIN { if (d != d + 0) { print "false"; exit }
        a = d < 0 ? -d : d; tol = 0.05 * t; if (tol < 2) tol = 2; print (a <= tol) ? "true" : "false" }')
    [[ $ok == true ]] || FAILED=$((FAILED + 1))
    printf '  %-26s %-7s %-5s %10.2f %10.2f %+10.2f %+8.1f%%  %s\n' "$case" "$tool" "$metric" "$got" "$truth" \
        "$diff" "$pct" "$([[ $ok == true ]] && echo ok || echo OFF)"
    CHECKS=$(jq -c --arg c "$case" --arg t "$tool" --arg m "$metric" --arg g "$got" --arg tr "$truth" \
        --argjson ok "$ok" '. + [{case: $c, tool: $t, metric: $m, reported_ms: ($g | tonumber? // null),
        truth_ms: ($tr | tonumber), ok: $ok}]' <<<"$CHECKS")
}

# Closed-model cases
start_target delay
printf 'latency-truth: closed model %s connections for %s; open model %s/s for %ss with a %ss stall\n' \
    "$CONNS" "$DURATION" "$STALL_RATE" "$STALL_SECS" "$STALL_FOR"
printf '  %-26s %-7s %-5s %10s %10s %10s %9s\n' case tool pct "reported" "truth" "diff ms" "diff"
for spec in "delay/20|20|20" "delay/10?jitter=20|20|29.8"; do
    IFS='|' read -r path t50 t99 <<<"$spec"
    name="closed-${path//[^a-z0-9]/_}"
    measure "$name" timeout -k 5 "$LIMIT" taskset -c "$CLIENT_CPU" \
        "$PUMMEL" bench "$TARGET_URL$path" -c "$CONNS" --threads 1 -z "$DURATION" --json
    [[ $M_RC -eq 0 ]] || log "pummel exited with status $M_RC: $(tail -n 3 "$BENCH_TMP/$name.err" | tr '\n' ' ')"
    out="$BENCH_TMP/$name.out"
    errs=$(jq -c '.errors // {}' "$out" 2>/dev/null || echo '"no JSON"')
    [[ $errs == '{}' ]] || log "pummel errors on /$path: $errs"
    check "/$path" pummel p50 "$(jq -r '.latency_ms.p50' "$out" 2>/dev/null || echo nan)" "$t50"
    check "/$path" pummel p99 "$(jq -r '.latency_ms.p99' "$out" 2>/dev/null || echo nan)" "$t99"
    if [[ -n $WITH_WRK ]]; then
        measure "$name-wrk" timeout -k 5 "$LIMIT" taskset -c "$CLIENT_CPU" \
            wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$TARGET_URL$path"
        check "/$path" wrk p50 "$(wrk_ms "$BENCH_TMP/$name-wrk.out" 50)" "$t50"
        check "/$path" wrk p99 "$(wrk_ms "$BENCH_TMP/$name-wrk.out" 99)" "$t99"
    fi
done
stop_pid "$TARGET_PID"

# Open-model stall case: a fresh target, so its stall clock starts with pummel's first request.
start_target stall --stall-after "${STALL_AFTER}s" --stall-for "${STALL_FOR}s"
name=open-stall
measure "$name" timeout -k 5 $((STALL_SECS + 30)) taskset -c "$CLIENT_CPU" \
    "$PUMMEL" bench "$TARGET_URL" -q "$STALL_RATE" -z "${STALL_SECS}s" --threads 1 --json
[[ $M_RC -eq 0 ]] || log "pummel exited with status $M_RC: $(tail -n 3 "$BENCH_TMP/$name.err" | tr '\n' ' ')"
out="$BENCH_TMP/$name.out"
errs=$(jq -c '.errors // {}' "$out" 2>/dev/null || echo '"no JSON"')
[[ $errs == '{}' ]] || log "pummel errors in the stall run: $errs"
for q in 90 95 99; do
    # p_q = stall − (1 − q) × run length, in ms
    truth=$(calc "1000 * ($STALL_FOR - (1 - $q / 100) * $STALL_SECS)")
    check "stall ${STALL_FOR}s @${STALL_RATE}/s" pummel "p$q" "$(jq -r ".latency_ms.p$q" "$out" 2>/dev/null || echo nan)" "$truth"
done
stop_pid "$TARGET_PID"
stall_info=$(jq -c '{requests, rps, p50_ms: .latency_ms.p50, max_ms: .latency_ms.max, errors,
    uncorrected_p50_ms: .open_model.uncorrected_latency_ms.p50?, uncorrected_p90_ms: .open_model.uncorrected_latency_ms.p90?,
    uncorrected_p99_ms: .open_model.uncorrected_latency_ms.p99?, late: .open_model.late?}' "$out" 2>/dev/null || echo null)
printf '  stall run: %s\n' "$stall_info"

printf '\n  %d of %d figures off by more than max(2 ms, 5 %%)\n' "$FAILED" "$(jq length <<<"$CHECKS")"
result=$(jq -c -n --argjson checks "$CHECKS" --argjson stall "$stall_info" --argjson failed "$FAILED" \
    --arg d "$DURATION" --argjson c "$CONNS" '{bench: "latency-truth", duration: $d, connections: $c,
    checks: $checks, stall_run: $stall, off: $failed}')
finish_with_goals "$result"
