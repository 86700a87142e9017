#!/usr/bin/env bash
# bench/connections.sh — memory of many open connections: pummel vs wrk, each holding 10,000
# keep-alive connections to nginx for 10 s.
#
# Reports each client's peak RSS (GNU time), the most connections seen ESTABLISHED at once (ss,
# sampled every second on the client side), requests/s and errors (pummel's JSON errors map; wrk's
# socket errors). Goal: pummel peak RSS <= 64 MB with every connection established.
#
# The open-files limit is raised to 20,000 for the clients (ulimit) and for nginx (worker_rlimit_nofile).
#
# Usage: bench/connections.sh [--connections 10000] [--duration 10s] [--threads 2] [--out FILE]
# The last line of stdout is the result as one JSON object (also written to FILE with --out).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNS=10000
DURATION=10s
THREADS=2
OUT=
GOAL_MB=64
usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --connections | -c) CONNS=$2; shift 2 ;;
        --duration | -z) DURATION=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "--connections wants a positive number"
SECS=$(dur_secs "$DURATION")
LIMIT=$((SECS + 60))

NOFILE=20000
if [[ $(ulimit -Hn) != unlimited && $(ulimit -Hn) -lt $NOFILE ]]; then
    ulimit -Hn "$NOFILE" 2>/dev/null || die "cannot raise the open-files limit to $NOFILE (hard limit $(ulimit -Hn))"
fi
ulimit -Sn "$NOFILE"
((CONNS + 100 <= NOFILE)) || die "--connections $CONNS needs more than $NOFILE open files"

ensure_base_tools
ensure_wrk
ensure_pummel
start_nginx "$NOFILE"
URL=$NGINX_URL

# sample_established FILE : every second, the number of client sockets ESTABLISHED to nginx,
# one line each, for at most LIMIT seconds.
sample_established() {
    local file=$1 i
    for ((i = 0; i < LIMIT; i++)); do
        ss -Htn state established "( dport = :$NGINX_PORT )" | wc -l >>"$file"
        sleep 1
    done
}

# run_client TOOL : sets C_RSS_MB C_MAX_EST C_REQS C_RPS C_ERRS (text) C_ERRS_N C_RC
run_client() {
    local tool=$1 name="conn-$1" samples="$BENCH_TMP/conn-$1.est" sampler out
    : >"$samples"
    sample_established "$samples" &
    sampler=$!
    track_pid "$sampler"
    case $tool in
        pummel)
            measure "$name" timeout -k 5 "$LIMIT" taskset -c "$CLIENT_CPU" \
                "$PUMMEL" bench "$URL" -c "$CONNS" --threads "$THREADS" -z "$DURATION" --json
            ;;
        wrk)
            measure "$name" timeout -k 5 "$LIMIT" taskset -c "$CLIENT_CPU" \
                wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$URL"
            ;;
    esac
    stop_pid "$sampler"
    out="$BENCH_TMP/$name.out"
    C_RC=$M_RC
    C_RSS_MB=$(calc "$M_RSS_KB / 1024")
    C_MAX_EST=$(sort -n "$samples" | tail -n 1)
    C_MAX_EST=${C_MAX_EST:-0}
    case $tool in
        pummel)
            C_REQS=$(jq -r '.requests // 0' "$out" 2>/dev/null || echo 0)
            C_RPS=$(jq -r '.rps // "nan"' "$out" 2>/dev/null || echo nan)
            C_ERRS=$(jq -c '.errors // {}' "$out" 2>/dev/null || echo '"no JSON"')
            C_ERRS_N=$(jq -r '[.errors[]?] | add // 0' "$out" 2>/dev/null || echo 1)
            ;;
        wrk)
            C_REQS=$(awk '/ requests in /{print $1; exit}' "$out")
            C_RPS=$(awk '/^Requests\/sec:/{print $2; exit}' "$out")
            C_ERRS=$(grep -E 'Socket errors|Non-2xx' "$out" | sed 's/^ *//' | paste -sd ';' - || true)
            C_ERRS_N=$(awk '/Socket errors:/{gsub(/,/, ""); s += $4 + $6 + $8 + $10}
                            /Non-2xx or 3xx responses:/{s += $NF} END {print s + 0}' "$out")
            ;;
    esac
    C_REQS=${C_REQS:-0}
    C_RPS=${C_RPS:-nan}
    [[ -n $C_ERRS ]] || C_ERRS=none
    if [[ $C_RC -ne 0 ]]; then
        log "$tool exited with status $C_RC: $(tail -n 3 "$BENCH_TMP/$name.err" | tr '\n' ' ')"
    fi
}

printf 'connections: %s connections for %s, %s client threads on core %s, nginx 1 worker on core %s\n' \
    "$CONNS" "$DURATION" "$THREADS" "$CLIENT_CPU" "$SERVER_CPU"
printf '  %-7s %10s %14s %12s %10s  %s\n' tool "rss MB" "max estab." requests rps errors
declare -A RES
for tool in pummel wrk; do
    run_client "$tool"
    printf '  %-7s %10.1f %8d/%-5d %12d %10.0f  %s%s\n' "$tool" "$C_RSS_MB" "$C_MAX_EST" "$CONNS" "$C_REQS" \
        "$C_RPS" "$C_ERRS" "$([[ $C_RC -ne 0 ]] && echo " (exit $C_RC)")"
    RES[$tool]=$(jq -c -n --arg rss "$C_RSS_MB" --argjson est "$C_MAX_EST" --argjson reqs "$C_REQS" \
        --arg rps "$C_RPS" --arg errs "$C_ERRS" --argjson nerr "$C_ERRS_N" --argjson rc "$C_RC" '{
            peak_rss_mb: ($rss | tonumber? // null), max_established: $est, requests: $reqs,
            rps: ($rps | tonumber? // null), errors: ($errs | fromjson? // $errs), error_count: $nerr,
            exit_code: $rc}')
done

pummel_rss=$(jq -r '.peak_rss_mb' <<<"${RES[pummel]}")
pummel_est=$(jq -r '.max_established' <<<"${RES[pummel]}")
pummel_err=$(jq -r '.error_count' <<<"${RES[pummel]}")
rss_ok=$(awk -v x="$pummel_rss" -v g="$GOAL_MB" 'BEGIN { print (x + 0 <= g) ? "true" : "false" }')
all_ok=$([[ $pummel_est -ge $CONNS && $pummel_err -eq 0 ]] && echo true || echo false)
printf '\n  pummel peak RSS %.1f MB (goal <= %d MB: %s); all %d connections established without error: %s\n' \
    "$pummel_rss" "$GOAL_MB" "$([[ $rss_ok == true ]] && echo met || echo MISSED)" "$CONNS" \
    "$([[ $all_ok == true ]] && echo yes || echo NO)"
printf '  pummel/wrk peak RSS %.2f\n' "$(calc "$pummel_rss / $(jq -r '.peak_rss_mb' <<<"${RES[wrk]}")")"

result=$(jq -c -n --argjson p "${RES[pummel]}" --argjson w "${RES[wrk]}" --argjson c "$CONNS" \
    --arg d "$DURATION" --argjson rss_ok "$rss_ok" --argjson all_ok "$all_ok" '{
        bench: "connections", connections: $c, duration: $d, pummel: $p, wrk: $w,
        goals_met: {rss_le_64mb: $rss_ok, all_established: $all_ok}}')
finish_with_goals "$result"
