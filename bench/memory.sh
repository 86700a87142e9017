#!/usr/bin/env bash
# bench/memory.sh — does pummel's memory stay flat over a long run? One run at full speed against
# nginx (50 connections, 1 thread on core 1; nginx 1 worker on core 0); VmRSS from /proc/PID/status
# is sampled every second. Compares the RSS at 5 s with the RSS 2 s before the end (58 s of a 60 s
# run). Goal: growth <= 10 %.
#
# Usage: bench/memory.sh [--duration 60s] [--connections 50] [--threads 1] [--out FILE]
# (--duration 15s for a quick check: samples at 5 s and 13 s.)
# The last line of stdout is the result as one JSON object (also written to FILE with --out).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=60s
CONNS=50
THREADS=1
OUT=
EARLY=5
GOAL_PCT=10
usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --duration | -z) DURATION=$2; shift 2 ;;
        --connections | -c) CONNS=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
SECS=$(dur_secs "$DURATION")
((SECS >= 10)) || die "--duration must be at least 10s (samples at ${EARLY}s and 2 s before the end)"
LATE=$((SECS - 2))
LIMIT=$((SECS + 30))

ensure_base_tools
ensure_pummel
start_nginx 20000

printf 'memory: pummel at full speed for %s, %s connections, %s thread(s) on core %s; RSS at %ss vs %ss\n' \
    "$DURATION" "$CONNS" "$THREADS" "$CLIENT_CPU" "$EARLY" "$LATE"
# taskset execs pummel, so $! is pummel itself and /proc/$!/status is its memory.
taskset -c "$CLIENT_CPU" "$PUMMEL" bench "$NGINX_URL" -c "$CONNS" --threads "$THREADS" -z "$DURATION" --json \
    >"$BENCH_TMP/memory.out" 2>"$BENCH_TMP/memory.err" &
PID=$!
track_pid "$PID"
t0=$(date +%s.%N)

# One sample per second, on a fixed schedule from t0, until pummel exits or LIMIT seconds pass.
samples="$BENCH_TMP/memory.samples" # "elapsed_s rss_kb hwm_kb"
: >"$samples"
for ((i = 1; i <= LIMIT; i++)); do
    wait_s=$(awk -v t0="$t0" -v i="$i" -v now="$(date +%s.%N)" 'BEGIN { w = t0 + i - now; print (w > 0) ? w : 0 }')
    sleep "$wait_s"
    status=$(cat "/proc/$PID/status" 2>/dev/null) || break
    [[ $status == *VmRSS:* ]] || break # exited (a zombie has no memory lines)
    awk -v t="$(awk -v t0="$t0" -v now="$(date +%s.%N)" 'BEGIN { printf "%.2f", now - t0 }')" '
        /^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { if (r) print t, r, h }' <<<"$status" >>"$samples"
done
if kill -0 "$PID" 2>/dev/null; then
    log "pummel still running after ${LIMIT}s: stopping it"
    stop_pid "$PID"
fi
rc=0
wait "$PID" 2>/dev/null || rc=$?
[[ $rc -eq 0 ]] || log "pummel exited with status $rc: $(tail -n 3 "$BENCH_TMP/memory.err" | tr '\n' ' ')"

# The sample nearest to a time: rss_at SECONDS -> kB
rss_at() {
    awk -v want="$1" 'BEGIN { best = -1 } {
        d = $1 - want; if (d < 0) d = -d
        if (best < 0 || d < best) { best = d; v = $2 } } END { print (best < 0 || best > 1.5) ? "nan" : v }' "$samples"
}
early_kb=$(rss_at "$EARLY")
late_kb=$(rss_at "$LATE")
hwm_kb=$(awk 'END { print $3 + 0 }' "$samples")
growth=$(calc "100 * ($late_kb - $early_kb) / $early_kb")
ok=$(awk -v g="$growth" -v goal="$GOAL_PCT" 'BEGIN { print (g == g + 0 && g <= goal) ? "true" : "false" }')
out="$BENCH_TMP/memory.out"

printf '  RSS MB each second: %s\n' "$(awk '{ printf "%s%.1f", (NR > 1 ? " " : ""), $2 / 1024 }' "$samples")"
printf '  RSS at %ss: %.2f MB   at %ss: %.2f MB   growth %+.1f%% (goal <= %d%%: %s)   peak (VmHWM) %.2f MB\n' \
    "$EARLY" "$(calc "$early_kb / 1024")" "$LATE" "$(calc "$late_kb / 1024")" "$growth" "$GOAL_PCT" \
    "$([[ $ok == true ]] && echo met || echo MISSED)" "$(calc "$hwm_kb / 1024")"
run=$(jq -c '{requests, rps, errors}' "$out" 2>/dev/null || echo null)
printf '  run: %s\n' "$run"

result=$(jq -c -n --arg d "$DURATION" --argjson c "$CONNS" --arg e "$early_kb" --arg l "$late_kb" \
    --arg h "$hwm_kb" --arg g "$growth" --argjson ok "$ok" --argjson run "$run" --argjson rc "$rc" \
    --argjson early_s "$EARLY" --argjson late_s "$LATE" '{bench: "memory", duration: $d, connections: $c,
    rss_kb: {at_s: [$early_s, $late_s], early: ($e | tonumber? // null), late: ($l | tonumber? // null),
    peak: ($h | tonumber? // null)}, growth_pct: ($g | tonumber? // null), goal_met: $ok, run: $run,
    exit_code: $rc}')
finish_with_goals "$result"
