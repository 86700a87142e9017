#!/usr/bin/env bash
# bench/peers.sh — pummel against wrk (and oha) on the same nginx, one client core each.
#
# nginx: 1 worker pinned to core 0, `return 200 "hello\n"`, keep-alive. Each client: pinned to core 1
# with taskset, one thread, N keep-alive connections, GET /. The tools run alternately within every
# round (the starting tool rotates), so a noisy neighbour hurts them alike; the summary takes medians
# over rounds.
#
# Per run: requests/s, client CPU per request ((user+sys)/requests, µs) and peak RSS (GNU time).
# Goals: pummel/wrk rps >= 1.00, pummel/wrk CPU per request <= 1.00.
#
# --with-metrics adds "pummel-m": pummel with --metrics-listen, its endpoint scraped every second by
# curl during the run (as Prometheus would), to show what live metrics cost: its ratio against wrk
# beside plain pummel's, and pummel-m/pummel.
#
# Usage: bench/peers.sh [--rounds 5] [--duration 10s] [--connections 50] [--with-oha] [--with-metrics] [--out FILE]
# The last line of stdout is the summary as one JSON object (also written to FILE with --out).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=5
DURATION=10s
CONNS=50
WITH_OHA=
OUT=
WITH_METRICS=
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --duration | -z) DURATION=$2; shift 2 ;;
        --connections | -c) CONNS=$2; shift 2 ;;
        --with-oha) WITH_OHA=1; shift ;;
        --with-metrics) WITH_METRICS=1; shift ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number"
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "--connections wants a positive number"
SECS=$(dur_secs "$DURATION")
LIMIT=$((SECS + 30)) # backstop: no client runs longer than this

ensure_base_tools
ensure_wrk
ensure_pummel
if [[ -n $WITH_OHA ]]; then ensure_oha install; else ensure_oha; fi
TOOLS=(wrk pummel)
[[ -z $WITH_METRICS ]] || TOOLS+=(pummel-m)
if [[ -n $OHA ]]; then
    TOOLS+=(oha)
    # oha 1.x: JSON is --output-format json in newer releases, --json in older ones; its runtime
    # defaults to one thread per physical core whatever the affinity, so ask for one.
    oha_help=$("$OHA" --help 2>&1 || true)
    if [[ $oha_help == *--output-format* ]]; then OHA_ARGS=(--output-format json); else OHA_ARGS=(--json); fi
    if [[ $oha_help == *--worker-threads* ]]; then OHA_ARGS+=(--worker-threads 1); fi
else
    log "oha not installed: skipped (add --with-oha to build it into bench/.tools with cargo)"
fi

start_nginx 20000
URL=$NGINX_URL

# run_tool TOOL NAME : one bounded run; sets R_RPS R_REQS R_ERRS R_CPU_US R_RSS_MB R_SRV_PCT R_NOTE
run_tool() {
    local tool=$1 name=$2 out
    local pin=(timeout -k 5 "$LIMIT" taskset -c "$CLIENT_CPU")
    R_NOTE=
    local srv0
    srv0=$(server_cpu_s)
    case $tool in
        wrk)
            measure "$name" "${pin[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" "$URL"
            out="$BENCH_TMP/$name.out"
            R_REQS=$(awk '/ requests in /{print $1; exit}' "$out")
            R_RPS=$(awk '/^Requests\/sec:/{print $2; exit}' "$out")
            R_ERRS=$(awk '/Socket errors:/{gsub(/,/, ""); s += $4 + $6 + $8 + $10}
                          /Non-2xx or 3xx responses:/{s += $NF} END {print s + 0}' "$out")
            ;;
        pummel)
            measure "$name" "${pin[@]}" "$PUMMEL" bench "$URL" -c "$CONNS" --threads 1 -z "$DURATION" --json
            out="$BENCH_TMP/$name.out"
            R_REQS=$(jq -r '.requests' "$out" 2>/dev/null || echo 0)
            R_RPS=$(jq -r '.rps' "$out" 2>/dev/null || echo nan)
            R_ERRS=$(jq -r '([.errors[]?] | add // 0) + ([.status | to_entries[]? | select(.key | test("^[23]") | not) | .value] | add // 0)' "$out" 2>/dev/null || echo "?")
            ;;
        pummel-m)
            # The scraper runs beside the client, unpinned and unmeasured, as Prometheus would. It
            # counts the scrapes that returned the request counter, so a run whose endpoint never
            # answered cannot pass for a run with live metrics.
            local mport scraper scrapes
            mport=$(pick_port)
            scrapes="$BENCH_TMP/$name.scrapes"
            : >"$scrapes"
            (
                while true; do
                    if curl -sf "http://127.0.0.1:$mport/metrics" 2>/dev/null | grep -q '^pummel_requests_total'; then
                        echo >>"$scrapes"
                    fi
                    sleep 1
                done
            ) &
            scraper=$!
            track_pid "$scraper"
            measure "$name" "${pin[@]}" "$PUMMEL" bench "$URL" -c "$CONNS" --threads 1 -z "$DURATION" --json \
                --metrics-listen "127.0.0.1:$mport" --metrics-linger 0s
            stop_pid "$scraper"
            R_NOTE="$(wc -l <"$scrapes") scrapes"
            out="$BENCH_TMP/$name.out"
            R_REQS=$(jq -r '.requests' "$out" 2>/dev/null || echo 0)
            R_RPS=$(jq -r '.rps' "$out" 2>/dev/null || echo nan)
            R_ERRS=$(jq -r '([.errors[]?] | add // 0) + ([.status | to_entries[]? | select(.key | test("^[23]") | not) | .value] | add // 0)' "$out" 2>/dev/null || echo "?")
            ;;
        oha)
            measure "$name" "${pin[@]}" "$OHA" -c "$CONNS" -z "$DURATION" --no-tui "${OHA_ARGS[@]}" "$URL"
            out="$BENCH_TMP/$name.out"
            # Completed responses only: oha counts the requests cut off at the deadline as errors
            # ("aborted due to deadline") and in its requestsPerSec; wrk and pummel count neither.
            R_REQS=$(jq -r '[.statusCodeDistribution[]?] | add // 0' "$out" 2>/dev/null || echo 0)
            R_RPS=$(jq -r '([.statusCodeDistribution[]?] | add // 0) / .summary.total' "$out" 2>/dev/null || echo nan)
            R_ERRS=$(jq -r '([.errorDistribution | to_entries[]? | select(.key != "aborted due to deadline") | .value] | add // 0)
                + ([.statusCodeDistribution | to_entries[]? | select(.key | test("^[23]") | not) | .value] | add // 0)' "$out" 2>/dev/null || echo "?")
            ;;
    esac
    if [[ $M_RC -ne 0 ]]; then
        R_NOTE="exit $M_RC: $(tail -n 2 "$BENCH_TMP/$name.err" | tr '\n' ' ')"
    fi
    [[ ${R_REQS:-0} =~ ^[0-9]+$ ]] || R_REQS=0
    R_RPS=${R_RPS:-nan}
    [[ -n ${R_ERRS:-} ]] || R_ERRS="?"
    if [[ $R_REQS -gt 0 ]]; then
        R_CPU_US=$(calc "($M_USER_S + $M_SYS_S) * 1000000 / $R_REQS")
    else
        R_CPU_US=nan
    fi
    R_RSS_MB=$(calc "$M_RSS_KB / 1024")
    # nginx's CPU use over the run, in % of its one core: near 100, the server was the limit.
    R_SRV_PCT=$(calc "100 * ($(server_cpu_s) - $srv0) / $M_WALL_S")
}

declare -A RPS CPU RSS SRV
printf 'peers: %s rounds of %s, %s connections, 1 client thread on core %s, nginx 1 worker on core %s\n' \
    "$ROUNDS" "$DURATION" "$CONNS" "$CLIENT_CPU" "$SERVER_CPU"
printf 'versions: pummel %s; %s; nginx %s%s\n' \
    "$("$PUMMEL" --version | awk '{print $2}')" "$(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}')" \
    "$(nginx -v 2>&1 | sed 's/.*\///')" "${OHA:+; $("$OHA" --version 2>/dev/null | head -n 1)}"
for ((r = 1; r <= ROUNDS; r++)); do
    printf '\nround %d/%d\n' "$r" "$ROUNDS"
    printf '  %-7s %12s %12s %14s %10s %8s %8s\n' tool rps requests "cpu µs/req" "rss MB" errors "nginx %"
    n=${#TOOLS[@]}
    for ((k = 0; k < n; k++)); do
        tool=${TOOLS[(r - 1 + k) % n]}
        run_tool "$tool" "r$r-$tool"
        RPS[$tool,$r]=$R_RPS
        CPU[$tool,$r]=$R_CPU_US
        RSS[$tool,$r]=$R_RSS_MB
        SRV[$tool,$r]=$R_SRV_PCT
        printf '  %-7s %12.0f %12d %14.3f %10.1f %8s %8.0f %s\n' "$tool" "$R_RPS" "$R_REQS" "$R_CPU_US" \
            "$R_RSS_MB" "$R_ERRS" "$R_SRV_PCT" "$R_NOTE"
    done
done

printf '\nsummary: medians over %d rounds\n' "$ROUNDS"
printf '  %-7s %12s %14s %10s %8s\n' tool rps "cpu µs/req" "rss MB" "nginx %"
declare -A MED_RPS MED_CPU MED_RSS
summary_json='{}'
for tool in "${TOOLS[@]}"; do
    rps=() cpu=() rss=() srv=()
    for ((r = 1; r <= ROUNDS; r++)); do
        rps+=("${RPS[$tool,$r]}")
        cpu+=("${CPU[$tool,$r]}")
        rss+=("${RSS[$tool,$r]}")
        srv+=("${SRV[$tool,$r]}")
    done
    MED_RPS[$tool]=$(median "${rps[@]}")
    MED_CPU[$tool]=$(median "${cpu[@]}")
    MED_RSS[$tool]=$(median "${rss[@]}")
    med_srv=$(median "${srv[@]}")
    printf '  %-7s %12.0f %14.3f %10.1f %8.0f\n' "$tool" "${MED_RPS[$tool]}" "${MED_CPU[$tool]}" "${MED_RSS[$tool]}" "$med_srv"
    summary_json=$(jq -c --arg t "$tool" --arg rps "${MED_RPS[$tool]}" --arg cpu "${MED_CPU[$tool]}" \
        --arg rss "${MED_RSS[$tool]}" --arg srv "$med_srv" '.[$t] = {rps: ($rps | tonumber? // null),
            cpu_us_per_request: ($cpu | tonumber? // null), peak_rss_mb: ($rss | tonumber? // null),
            nginx_cpu_pct: ($srv | tonumber? // null)}' <<<"$summary_json")
done

ratio_rps=$(calc "${MED_RPS[pummel]} / ${MED_RPS[wrk]}")
ratio_cpu=$(calc "${MED_CPU[pummel]} / ${MED_CPU[wrk]}")
verdict() { awk -v x="$1" -v goal="$2" -v op="$3" 'BEGIN {
    if (x != x + 0) { print "n/a"; exit }
    ok = (op == ">=") ? (x >= goal) : (x <= goal); print ok ? "met" : "MISSED" }'; }
printf '\n  pummel/wrk rps          %6.3f   (goal >= 1.00: %s)\n' "$ratio_rps" "$(verdict "$ratio_rps" 1 '>=')"
printf '  pummel/wrk cpu per req  %6.3f   (goal <= 1.00: %s)\n' "$ratio_cpu" "$(verdict "$ratio_cpu" 1 '<=')"
if [[ -n $WITH_METRICS ]]; then
    printf '  pummel-m/wrk rps        %6.3f   (pummel with --metrics-listen, scraped every second)\n' \
        "$(calc "${MED_RPS[pummel-m]} / ${MED_RPS[wrk]}")"
    printf '  pummel-m/wrk cpu per req %5.3f\n' "$(calc "${MED_CPU[pummel-m]} / ${MED_CPU[wrk]}")"
    printf '  pummel-m/pummel rps     %6.3f\n' "$(calc "${MED_RPS[pummel-m]} / ${MED_RPS[pummel]}")"
fi
if [[ -n $OHA ]]; then
    printf '  pummel/oha rps          %6.3f\n' "$(calc "${MED_RPS[pummel]} / ${MED_RPS[oha]}")"
    printf '  pummel/oha cpu per req  %6.3f\n' "$(calc "${MED_CPU[pummel]} / ${MED_CPU[oha]}")"
fi

result=$(jq -c -n --argjson tools "$summary_json" --arg rr "$ratio_rps" --arg rc "$ratio_cpu" \
    --arg d "$DURATION" --argjson c "$CONNS" --argjson n "$ROUNDS" '{
        bench: "peers", duration: $d, connections: $c, rounds: $n, medians: $tools,
        pummel_over_wrk: {rps: ($rr | tonumber? // null), cpu_per_request: ($rc | tonumber? // null)},
        goals_met: {rps: (($rr | tonumber? // 0) >= 1), cpu_per_request: (($rc | tonumber? // 99) <= 1)}}')
finish_with_goals "$result"
