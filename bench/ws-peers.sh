#!/usr/bin/env bash
# bench/ws-peers.sh — WebSocket echo: pummel against Artillery on one client core, and pummel holding
# 10,000 sockets.
#
# Throughput: `pummel target --threads 1` (core 0) serves /ws/echo. On core 1, alternately (the first
# tool rotates each round):
#   pummel bench ws://…/ws/echo -c 50 --threads 1 -z 10s -d '{"n":1}' --json
#   artillery run (engine ws, WORKERS=1): 50 VUs, each one socket looping send '{"n":1}' → wait for
#     the echo (a `match` on $.n) for 10 s (a `whileTrue` processor with a shared deadline)
# Both keep one message in flight per socket. Per run: messages/s (pummel: messages_received /
# duration_s; Artillery: websocket.messages_received over its first-to-last counter time), client CPU
# per message ((user+sys)/messages, µs, GNU time), peak RSS, the target's CPU %, the load average.
# Artillery spends seconds of CPU starting up (loading Node modules), so its CPU per message is also
# given over its run window only: its CPU time is sampled every 0.25 s (/proc) and interpolated at its
# first and last counter timestamps.
# Artillery is installed on first use with npm into bench/.tools/artillery (gitignored; ~460 MB,
# ~1 min; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1), telemetry off (ARTILLERY_DISABLE_TELEMETRY).
#
# Hold: a fresh `pummel target` (another process, core 0) and
#   pummel bench ws://…/ws/echo -c 10000 -q 1000 -z 30s --json   (ulimit -n 20000, core 1)
# Reports the client's peak RSS (goal <= 100 MB) and the JSON's `websocket` section; every socket must
# be accounted for: connected + connect errors = connects = 10,000, open_max = 10,000, open_at_end =
# connected (a socket that is neither open at the end nor counted as failed is unaccounted for).
#
# Usage: bench/ws-peers.sh [--rounds 5] [--duration 10s] [--connections 50] [--no-artillery]
#        [--hold-connections 10000] [--hold-rate 1000] [--hold-duration 30s] [--no-hold] [--out FILE]
# The last line of stdout is the result as one JSON object (also written to FILE with --out).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=5
DURATION=10s
CONNS=50
WITH_ARTILLERY=1
HOLD=1
HOLD_CONNS=10000
HOLD_RATE=1000
HOLD_DURATION=30s
OUT=
MESSAGE='{"n":1}'
HOLD_GOAL_MB=100
ARTILLERY_VERSION=2.0.34
usage() { sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --duration | -z) DURATION=$2; shift 2 ;;
        --connections | -c) CONNS=$2; shift 2 ;;
        --no-artillery) WITH_ARTILLERY=; shift ;;
        --hold-connections) HOLD_CONNS=$2; shift 2 ;;
        --hold-rate) HOLD_RATE=$2; shift 2 ;;
        --hold-duration) HOLD_DURATION=$2; shift 2 ;;
        --no-hold) HOLD=; shift ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number"
[[ $CONNS =~ ^[1-9][0-9]*$ && $HOLD_CONNS =~ ^[1-9][0-9]*$ ]] || die "connection counts must be positive numbers"
SECS=$(dur_secs "$DURATION")
HOLD_SECS=$(dur_secs "$HOLD_DURATION")
LIMIT=$((SECS + 60)) # backstop per client run (Artillery takes a few seconds to start)

NOFILE=20000
if [[ $(ulimit -Hn) != unlimited && $(ulimit -Hn) -lt $NOFILE ]]; then
    ulimit -Hn "$NOFILE" 2>/dev/null || die "cannot raise the open-files limit to $NOFILE (hard limit $(ulimit -Hn))"
fi
ulimit -Sn "$NOFILE"
((HOLD_CONNS + 100 <= NOFILE)) || die "--hold-connections $HOLD_CONNS needs more than $NOFILE open files"

ensure_base_tools
ensure_pummel

# ensure_artillery : sets ARTILLERY to bench/.tools/artillery's binary, installing it with npm when
# missing; leaves it empty (and the comparison skipped) when that fails.
ARTILLERY=
ensure_artillery() {
    local dir="$BENCH_TOOLS/artillery"
    if [[ ! -x $dir/node_modules/.bin/artillery ]]; then
        need_cmd node nodejs
        need_cmd npm npm
        log "installing artillery@$ARTILLERY_VERSION into $dir (npm; about a minute, ~460 MB)"
        mkdir -p "$dir"
        if ! (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 900 npm install --no-audit --no-fund \
            --loglevel=error "artillery@$ARTILLERY_VERSION" >&2); then
            log "npm install artillery failed: Artillery skipped"
            return 0
        fi
    fi
    ARTILLERY=$dir/node_modules/.bin/artillery
}
[[ -n $WITH_ARTILLERY ]] && ensure_artillery
export ARTILLERY_DISABLE_TELEMETRY=1 # no calls home: every packet of this bench stays on 127.0.0.1

# proc_cpu_s PID : CPU seconds (user + sys) a process has used so far
proc_cpu_s() {
    local hz
    hz=$(getconf CLK_TCK)
    calc "$(sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }') / $hz"
}

start_target echo --threads 1
ECHO_PID=$TARGET_PID
WS_URL="ws://${TARGET_URL#http://}ws/echo"

# Artillery's script: 50 VUs arrive within its first second; each opens one socket and loops
# send → wait for the echo until a deadline shared by the worker's VUs (set at the first loop test).
if [[ -n $ARTILLERY ]]; then
    cat >"$BENCH_TMP/artillery-proc.js" <<'EOF'
'use strict';
// Generated by bench/ws-peers.sh. Every VU loops until one deadline, WS_BENCH_DURATION_MS after the
// first loop test in this worker (WORKERS=1: one worker, so one deadline for all VUs).
const DURATION_MS = Number(process.env.WS_BENCH_DURATION_MS || 10000);
let deadline = 0;
module.exports = {
  running(context, done) {
    const now = Date.now();
    if (deadline === 0) deadline = now + DURATION_MS;
    return done(now < deadline);
  },
};
EOF
    cat >"$BENCH_TMP/artillery.yaml" <<EOF
# generated by bench/ws-peers.sh
config:
  target: "$WS_URL"
  processor: "$BENCH_TMP/artillery-proc.js"
  phases:
    - duration: 1
      arrivalCount: $CONNS
scenarios:
  - engine: ws
    flow:
      - loop:
          - send:
              payload: '$MESSAGE'
              match:
                json: "\$.n"
                value: 1
        whileTrue: running
EOF
fi

# sample_cpu FILE PATTERN : every 0.25 s, "epoch_ms cpu_ticks" summed over the processes whose command
# line matches PATTERN (a path inside this run's temp dir), until killed. Reads /proc only.
sample_cpu() {
    local file=$1 pattern=$2 pid ticks
    while true; do
        ticks=0
        for pid in $(pgrep -f -- "$pattern" || true); do
            ticks=$((ticks + $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0)))
        done
        printf '%s %s\n' "$(date +%s%3N)" "$ticks" >>"$file"
        sleep 0.25
    done
}

# cpu_between FILE FROM_MS TO_MS : CPU seconds used between two moments, interpolated from sample_cpu's
# samples ("nan" when the samples do not cover both moments)
cpu_between() {
    awk -v a="$2" -v b="$3" -v hz="$(getconf CLK_TCK)" '
        function at(t,   i) {
            for (i = 2; i <= n; i++) if (ts[i] >= t && ts[i - 1] <= t)
                return tk[i - 1] + (tk[i] - tk[i - 1]) * (t - ts[i - 1]) / (ts[i] - ts[i - 1] + 1e-9)
            return "nan"
        }
        { n++; ts[n] = $1; tk[n] = $2 }
        END { x = at(a); y = at(b); if (x == "nan" || y == "nan") print "nan"; else printf "%.4f\n", (y - x) / hz }' "$1"
}

# run_tool TOOL NAME : one bounded run; sets R_MPS R_MSGS R_ERRS R_CPU_US R_CPU_WIN_US R_RSS_MB
# R_SRV_PCT R_LOAD R_NOTE
run_tool() {
    local tool=$1 name=$2 out srv0 span sampler win_s
    local pin=(timeout -k 5 "$LIMIT" taskset -c "$CLIENT_CPU")
    R_NOTE=
    srv0=$(proc_cpu_s "$ECHO_PID")
    case $tool in
        pummel)
            measure "$name" "${pin[@]}" "$PUMMEL" bench "$WS_URL" -c "$CONNS" --threads 1 -z "$DURATION" \
                -d "$MESSAGE" --json
            out="$BENCH_TMP/$name.out"
            R_MSGS=$(jq -r '.websocket.messages_received // 0' "$out" 2>/dev/null || echo 0)
            R_MPS=$(jq -r '.websocket.messages_received / .duration_s' "$out" 2>/dev/null || echo nan)
            R_ERRS=$(jq -r '([.errors[]?] | add // 0) + ([.websocket.connect_errors[]?] | add // 0)' "$out" \
                2>/dev/null || echo "?")
            win_s=
            ;;
        artillery)
            : >"$BENCH_TMP/$name.cpu"
            sample_cpu "$BENCH_TMP/$name.cpu" "$BENCH_TMP/$name.json" &
            sampler=$!
            track_pid "$sampler"
            measure "$name" env WORKERS=1 WS_BENCH_DURATION_MS="$((SECS * 1000))" "${pin[@]}" "$ARTILLERY" run \
                --output "$BENCH_TMP/$name.json" "$BENCH_TMP/artillery.yaml"
            stop_pid "$sampler"
            out="$BENCH_TMP/$name.json"
            R_MSGS=$(jq -r '.aggregate.counters["websocket.messages_received"] // 0' "$out" 2>/dev/null || echo 0)
            span=$(jq -r '(.aggregate.lastCounterAt - .aggregate.firstCounterAt) / 1000' "$out" 2>/dev/null || echo 0)
            R_MPS=$(calc "$R_MSGS / $span")
            win_s=$(cpu_between "$BENCH_TMP/$name.cpu" \
                "$(jq -r '.aggregate.firstCounterAt' "$out" 2>/dev/null || echo 0)" \
                "$(jq -r '.aggregate.lastCounterAt' "$out" 2>/dev/null || echo 0)")
            R_ERRS=$(jq -r '([.aggregate.counters | to_entries[] | select(.key | startswith("errors.")) | .value] | add // 0)
                + (.aggregate.counters["vusers.failed"] // 0)' "$out" 2>/dev/null || echo "?")
            ;;
    esac
    R_LOAD=$(loadavg)
    if [[ $M_RC -ne 0 ]]; then
        R_NOTE="exit $M_RC: $(tail -n 2 "$BENCH_TMP/$name.err" | tr '\n' ' ')"
    fi
    [[ ${R_MSGS:-0} =~ ^[0-9]+$ ]] || R_MSGS=0
    [[ -n ${R_ERRS:-} ]] || R_ERRS="?"
    R_CPU_US=nan R_CPU_WIN_US=nan
    if [[ $R_MSGS -gt 0 ]]; then
        R_CPU_US=$(calc "($M_USER_S + $M_SYS_S) * 1000000 / $R_MSGS")
        # pummel: its whole run is the window (it starts in milliseconds)
        R_CPU_WIN_US=$R_CPU_US
        [[ -n $win_s ]] && R_CPU_WIN_US=$(calc "$win_s * 1000000 / $R_MSGS")
    fi
    R_RSS_MB=$(calc "$M_RSS_KB / 1024")
    R_SRV_PCT=$(calc "100 * ($(proc_cpu_s "$ECHO_PID") - $srv0) / $M_WALL_S")
}

TOOLS=(pummel)
printf 'ws-peers: WebSocket echo, %s rounds of %s, %s sockets, one message in flight per socket, message %s\n' \
    "$ROUNDS" "$DURATION" "$CONNS" "$MESSAGE"
printf '  clients on core %s (1 thread); pummel target --threads 1 on core %s\n' "$CLIENT_CPU" "$SERVER_CPU"
if [[ -n $ARTILLERY ]]; then
    TOOLS+=(artillery)
    printf 'versions: pummel %s; artillery %s (node %s)\n' "$("$PUMMEL" --version | awk '{print $2}')" \
        "$ARTILLERY_VERSION" "$(node --version)"
else
    printf 'versions: pummel %s; artillery skipped\n' "$("$PUMMEL" --version | awk '{print $2}')"
fi

declare -A MPS CPU CPUX RSS SRV LOAD
RATIOS=()
for ((r = 1; r <= ROUNDS; r++)); do
    printf '\nround %d/%d\n' "$r" "$ROUNDS"
    printf '  %-9s %10s %10s %11s %13s %8s %7s %9s %6s\n' tool "msg/s" messages "cpu µs/msg" "µs/msg window" \
        "rss MB" errors "target %" load
    n=${#TOOLS[@]}
    for ((k = 0; k < n; k++)); do
        tool=${TOOLS[(r - 1 + k) % n]}
        run_tool "$tool" "r$r-$tool"
        MPS[$tool,$r]=$R_MPS
        CPU[$tool,$r]=$R_CPU_US
        CPUX[$tool,$r]=$R_CPU_WIN_US
        RSS[$tool,$r]=$R_RSS_MB
        SRV[$tool,$r]=$R_SRV_PCT
        LOAD[$tool,$r]=$R_LOAD
        printf '  %-9s %10.0f %10d %11.2f %13.2f %8.1f %7s %9.0f %6s %s\n' "$tool" "$R_MPS" "$R_MSGS" "$R_CPU_US" \
            "${CPUX[$tool,$r]}" "$R_RSS_MB" "$R_ERRS" "$R_SRV_PCT" "$R_LOAD" "$R_NOTE"
    done
    if [[ -n $ARTILLERY ]]; then
        RATIOS+=("$(calc "${MPS[pummel,$r]} / ${MPS[artillery,$r]}")")
    fi
done

printf '\nsummary: medians over %d rounds\n' "$ROUNDS"
printf '  %-9s %10s %11s %13s %8s %9s %6s\n' tool "msg/s" "cpu µs/msg" "µs/msg window" "rss MB" "target %" load
declare -A MED_MPS MED_CPU MED_CPUX
summary_json='{}'
for tool in "${TOOLS[@]}"; do
    mps=() cpu=() cpux=() rss=() srv=() lds=()
    for ((r = 1; r <= ROUNDS; r++)); do
        mps+=("${MPS[$tool,$r]}")
        cpu+=("${CPU[$tool,$r]}")
        cpux+=("${CPUX[$tool,$r]}")
        rss+=("${RSS[$tool,$r]}")
        srv+=("${SRV[$tool,$r]}")
        lds+=("${LOAD[$tool,$r]}")
    done
    MED_MPS[$tool]=$(median "${mps[@]}")
    MED_CPU[$tool]=$(median "${cpu[@]}")
    MED_CPUX[$tool]=$(median "${cpux[@]}")
    med_rss=$(median "${rss[@]}")
    med_srv=$(median "${srv[@]}")
    med_load=$(median "${lds[@]}")
    printf '  %-9s %10.0f %11.2f %13.2f %8.1f %9.0f %6s\n' "$tool" "${MED_MPS[$tool]}" "${MED_CPU[$tool]}" \
        "${MED_CPUX[$tool]}" "$med_rss" "$med_srv" "$med_load"
    summary_json=$(jq -c --arg t "$tool" --arg m "${MED_MPS[$tool]}" --arg c "${MED_CPU[$tool]}" \
        --arg cx "${MED_CPUX[$tool]}" --arg rss "$med_rss" --arg srv "$med_srv" --arg ld "$med_load" '.[$t] = {
            messages_per_s: ($m | tonumber? // null), cpu_us_per_message: ($c | tonumber? // null),
            cpu_us_per_message_in_window: ($cx | tonumber? // null), peak_rss_mb: ($rss | tonumber? // null),
            target_cpu_pct: ($srv | tonumber? // null), load_avg_1m: ($ld | tonumber? // null)}' <<<"$summary_json")
done
ratios_json=null
if [[ -n $ARTILLERY ]]; then
    ratio=$(calc "${MED_MPS[pummel]} / ${MED_MPS[artillery]}")
    ratio_rounds=$(median "${RATIOS[@]}")
    ratio_cpu=$(calc "${MED_CPU[pummel]} / ${MED_CPU[artillery]}")
    ratio_cpux=$(calc "${MED_CPUX[pummel]} / ${MED_CPUX[artillery]}")
    printf '\n  pummel/artillery msg/s          %7.2f   (median of the per-round ratios %.2f)\n' "$ratio" "$ratio_rounds"
    printf '  pummel/artillery cpu per msg    %7.3f   (%.3f over the run window, without Artillery'"'"'s start-up)\n' \
        "$ratio_cpu" "$ratio_cpux"
    ratios_json=$(jq -c -n --arg r "$ratio" --arg rr "$ratio_rounds" --arg c "$ratio_cpu" --arg cx "$ratio_cpux" '{
        messages_per_s: ($r | tonumber? // null), messages_per_s_median_of_rounds: ($rr | tonumber? // null),
        cpu_per_message: ($c | tonumber? // null), cpu_per_message_in_window: ($cx | tonumber? // null)}')
fi

hold_json=null
if [[ -n $HOLD ]]; then
    start_target hold
    HOLD_PID=$TARGET_PID
    HOLD_URL="ws://${TARGET_URL#http://}ws/echo"
    hold_port=${TARGET_URL%/}
    hold_port=${hold_port##*:}
    samples="$BENCH_TMP/hold.est"
    : >"$samples"
    (
        for ((i = 0; i < HOLD_SECS + 60; i++)); do
            ss -Htn state established "( dport = :$hold_port )" | wc -l >>"$samples"
            sleep 1
        done
    ) &
    sampler=$!
    track_pid "$sampler"
    printf '\nhold: pummel bench %s -c %s -q %s -z %s --json (core %s, ulimit -n %s); target: another process\n' \
        "$HOLD_URL" "$HOLD_CONNS" "$HOLD_RATE" "$HOLD_DURATION" "$CLIENT_CPU" "$NOFILE"
    measure hold timeout -k 5 "$((HOLD_SECS + 60))" taskset -c "$CLIENT_CPU" \
        "$PUMMEL" bench "$HOLD_URL" -c "$HOLD_CONNS" -q "$HOLD_RATE" -z "$HOLD_DURATION" -d "$MESSAGE" --json
    stop_pid "$sampler"
    hold_load=$(loadavg)
    hold_rc=$M_RC
    [[ $hold_rc -eq 0 ]] || log "pummel (hold) exited with status $hold_rc: $(tail -n 3 "$BENCH_TMP/hold.err" | tr '\n' ' ')"
    hold_rss_mb=$(calc "$M_RSS_KB / 1024")
    target_hwm_mb=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$HOLD_PID/status" 2>/dev/null || echo nan)
    max_est=$(sort -n "$samples" | tail -n 1)
    max_est=${max_est:-0}
    ws=$(jq -c '.websocket // null' "$BENCH_TMP/hold.out" 2>/dev/null || echo null)
    msgs=$(jq -c '{messages_sent: .websocket.messages_sent, messages_received: .websocket.messages_received,
        errors: .errors, aborted: .aborted, late: .open_model.late, dropped: .open_model.dropped,
        p99_ms: .latency_ms.p99}' "$BENCH_TMP/hold.out" 2>/dev/null || echo null)
    rss_ok=$(awk -v x="$hold_rss_mb" -v g="$HOLD_GOAL_MB" 'BEGIN { print (x == x + 0 && x <= g) ? "true" : "false" }')
    # Accounting: every attempt connected or failed with a kind; every connected socket still open at the
    # end or counted as failed (an error kind); every socket was open at once.
    acct=$(jq -c --argjson n "$HOLD_CONNS" '.websocket as $w | ([.errors[]?] | add // 0) as $e |
        ([$w.connect_errors[]?] | add // 0) as $ce | {
        connects_add_up: ($w.connects == $w.connected + $ce and $w.connects >= $n),
        all_connected: ($w.connected >= $n and $ce == 0),
        all_open_at_once: ($w.open_max >= $n),
        open_at_end_or_failed: ($w.open_at_end + $e >= $w.connected),
        unaccounted: ([0, $w.connected - $w.open_at_end - $e] | max)}' "$BENCH_TMP/hold.out" 2>/dev/null \
        || echo '{"connects_add_up":false,"all_connected":false,"all_open_at_once":false,"open_at_end_or_failed":false,"unaccounted":null}')
    all_acct=$(jq -r '.connects_add_up and .all_connected and .all_open_at_once and .open_at_end_or_failed' <<<"$acct")
    printf '  client peak RSS %.1f MB (goal <= %d MB: %s); target peak RSS %s MB; most ESTABLISHED (ss) %s/%s; load %s%s\n' \
        "$hold_rss_mb" "$HOLD_GOAL_MB" "$([[ $rss_ok == true ]] && echo met || echo MISSED)" "$target_hwm_mb" \
        "$max_est" "$HOLD_CONNS" "$hold_load" "$([[ $hold_rc -ne 0 ]] && echo " (exit $hold_rc)")"
    printf '  websocket: %s\n' "$(jq -c '{connects, connected, connect_errors, open_at_end, open_max, messages_sent,
        messages_received}' <<<"$ws" 2>/dev/null || echo "$ws")"
    printf '  messages: %s\n' "$msgs"
    printf '  every socket accounted for: %s   %s\n' "$([[ $all_acct == true ]] && echo yes || echo NO)" "$acct"
    hold_json=$(jq -c -n --arg rss "$hold_rss_mb" --arg thwm "$target_hwm_mb" --argjson est "$max_est" \
        --argjson ws "$ws" --argjson msgs "$msgs" --argjson acct "$acct" --argjson rc "$hold_rc" \
        --argjson c "$HOLD_CONNS" --argjson q "$HOLD_RATE" --arg d "$HOLD_DURATION" --arg ld "$hold_load" \
        --argjson rss_ok "$rss_ok" --argjson all "$all_acct" '{connections: $c, rate: $q, duration: $d,
            client_peak_rss_mb: ($rss | tonumber? // null), target_peak_rss_mb: ($thwm | tonumber? // null),
            max_established: $est, websocket: $ws, messages: $msgs, accounting: $acct, exit_code: $rc,
            load_avg_1m: ($ld | tonumber? // null),
            goals_met: {rss_le_100mb: $rss_ok, every_socket_accounted_for: $all}}')
fi

result=$(jq -c -n --argjson tools "$summary_json" --argjson ratios "$ratios_json" --argjson hold "$hold_json" \
    --arg d "$DURATION" --argjson c "$CONNS" --argjson n "$ROUNDS" '{
        bench: "ws-peers", duration: $d, connections: $c, rounds: $n, medians: $tools,
        pummel_over_artillery: $ratios, hold: $hold}')
finish_with_goals "$result"
