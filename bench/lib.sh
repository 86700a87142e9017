# shellcheck shell=bash
# shellcheck disable=SC2034  # globals (M_*, OHA, NGINX_*, TARGET_*) are read by the scripts that source this file
# bench/lib.sh — helpers shared by the bench/*.sh scripts. Source it; do not run it.
#
# What it gives:
#   need_cmd CMD DEB_PKG        install a Debian package if CMD is missing (apt-get, guarded)
#   ensure_base_tools           curl, jq, GNU time, taskset, ss, timeout
#   ensure_pummel               sets PUMMEL (env override; else target/release/pummel, built if missing)
#   ensure_oha [install]        sets OHA if oha is found (PATH or bench/.tools); installs with cargo if asked
#   start_nginx [NOFILE]        nginx, 1 worker on core 0, "hello\n" on /, sets NGINX_PORT / NGINX_URL;
#                               NGINX_EXTRA_LOCATIONS (nginx config text) adds locations to its server
#   start_target ARGS...        `pummel target --port 0 ARGS`, sets TARGET_URL
#   measure NAME CMD...         runs CMD under GNU time; sets M_USER_S M_SYS_S M_RSS_KB M_WALL_S M_RC,
#                               stdout in $BENCH_TMP/NAME.out, stderr in $BENCH_TMP/NAME.err
#   median N...                 median of numbers (mean of the two middle ones for an even count)
#   dur_secs 10s|2m|500ms|7     whole seconds (rounded up)
#   loadavg                     the 1-minute load average (other work on this shared machine)
#   track_pid PID               kill PID (and wait for it) when the script exits
#   finish_with_goals JSON      print (and write to $OUT) the result; exit 1 if it records a missed goal
#
# Every script that sources this file gets a temp dir ($BENCH_TMP) and an EXIT trap that stops every
# process registered with track_pid (nginx, targets, background samplers) and removes the temp dir.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$BENCH_DIR/.." && pwd)
BENCH_TOOLS="$BENCH_DIR/.tools"
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pummel-bench.XXXXXX")
CLIENT_CPU=${CLIENT_CPU:-1}   # core the load generators are pinned to
SERVER_CPU=${SERVER_CPU:-0}   # core nginx / the target is pinned to
TRACKED_PIDS=()

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 2; }

track_pid() { TRACKED_PIDS+=("$1"); }

# Stop one process: TERM, wait up to 5 s, then KILL.
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    for ((i = ${#TRACKED_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${TRACKED_PIDS[i]}"
    done
    if [[ -n ${BENCH_KEEP_TMP:-} ]]; then
        log "kept temp dir $BENCH_TMP"
    else
        rm -rf "$BENCH_TMP"
    fi
    exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------------
# Tools

APT_UPDATED=
need_cmd() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    [[ -x $cmd ]] && return 0
    log "installing $pkg (for $cmd)"
    local sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    if [[ -z $APT_UPDATED ]]; then
        "${sudo[@]}" apt-get update -qq >&2 || true
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$pkg" >&2 \
        || die "could not install $pkg"
    command -v "$cmd" >/dev/null 2>&1 || [[ -x $cmd ]] || die "$pkg installed but $cmd not found"
}

ensure_base_tools() {
    need_cmd curl curl
    need_cmd jq jq
    need_cmd /usr/bin/time time
    need_cmd taskset util-linux
    need_cmd ss iproute2
    need_cmd timeout coreutils
    need_cmd awk gawk
}

ensure_nginx() {
    export PATH="$PATH:/usr/sbin:/sbin"
    need_cmd nginx nginx-light
}

ensure_wrk() { need_cmd wrk wrk; }

ensure_pummel() {
    PUMMEL=${PUMMEL:-$ROOT_DIR/target/release/pummel}
    if [[ ! -x $PUMMEL ]]; then
        log "building pummel (cargo build --release -p pummel)"
        (cd "$ROOT_DIR" && cargo build --release -p pummel >&2) || die "cargo build failed"
    fi
    [[ -x $PUMMEL ]] || die "no pummel binary at $PUMMEL"
    # A binary older than the newest commit measures old code: say so (rebuilding is the caller's
    # choice — a release build takes minutes on a small machine).
    local commit_t
    commit_t=$(git -C "$ROOT_DIR" log -1 --format=%ct 2>/dev/null || echo 0)
    if [[ $PUMMEL == "$ROOT_DIR/target/release/pummel" && $(stat -c %Y "$PUMMEL") -lt ${commit_t:-0} ]]; then
        log "warning: $PUMMEL is older than the newest commit; run cargo build --release -p pummel"
    fi
}

# ensure_oha [install]: sets OHA to a usable oha, or leaves it empty. With "install", builds it with
# `cargo install oha --locked` into bench/.tools (a few minutes) when it is not there yet.
ensure_oha() {
    OHA=
    if [[ -x $BENCH_TOOLS/bin/oha ]]; then
        OHA=$BENCH_TOOLS/bin/oha
    elif command -v oha >/dev/null 2>&1; then
        OHA=$(command -v oha)
    elif [[ ${1:-} == install ]]; then
        log "installing oha into $BENCH_TOOLS (cargo install oha --locked; takes a few minutes)"
        cargo install oha --locked --root "$BENCH_TOOLS" >&2 || die "cargo install oha failed"
        OHA=$BENCH_TOOLS/bin/oha
    fi
}

# ---------------------------------------------------------------------------------------------------
# Numbers

# median 3 1 2 -> 2 ; median 1 2 3 4 -> 2.5 ; ignores empty / non-numeric arguments
median() {
    printf '%s\n' "$@" | awk '/^-?[0-9.]+([eE][-+]?[0-9]+)?$/' | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) printf "%.6g\n", v[(NR + 1) / 2]
            else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

# dur_secs 10s -> 10 ; 2m -> 120 ; 500ms -> 1 ; 7 -> 7
dur_secs() {
    local d=$1
    case $d in
        *ms) echo $(((${d%ms} + 999) / 1000)) ;;
        *s) echo "${d%s}" ;;
        *m) echo $((${d%m} * 60)) ;;
        *h) echo $((${d%h} * 3600)) ;;
        *[!0-9]* | '') die "bad duration: $d (use 10s, 2m, …)" ;;
        *) echo "$d" ;;
    esac
}

# loadavg -> the 1-minute load average, printed beside each figure: on a shared 2-core machine a
# value well above ~2 (the bench's own client and server) means someone else was using the CPUs.
loadavg() { awk '{ print $1 }' /proc/loadavg; }

# calc EXPR — floating-point arithmetic through awk ("nan" in, "nan" out)
calc() { awk "BEGIN { x = $*; printf \"%.6g\n\", x }" 2>/dev/null || echo nan; }

# ---------------------------------------------------------------------------------------------------
# Goals

# goals_missed RESULT_JSON -> the names of the goals the result records as missed, one a line: every
# false value under a `goals_met` object (at any depth), a false `goal_met`, and `off` figures (those
# further from the truth than allowed) when more than zero.
goals_missed() {
    jq -r '[paths(type == "boolean") as $p | select(getpath($p) == false)
            | select(($p | index("goals_met")) != null or $p[-1] == "goal_met") | $p | map(tostring) | join(".")]
           + (if (.off // 0) > 0 then ["off: \(.off) figures"] else [] end) | .[]' <<<"$1"
}

# finish_with_goals RESULT_JSON — the last call of every script: writes the result to $OUT (if
# set) and stdout, then exits 1 when a goal was missed (so a script or CI sees it), 0 otherwise. A
# result that is not JSON is a failure too: its goals cannot be read.
finish_with_goals() {
    local result=$1 missed
    [[ -n ${OUT:-} ]] && printf '%s\n' "$result" >"$OUT"
    printf '%s\n' "$result"
    if ! missed=$(goals_missed "$result"); then
        log "the result is not JSON: its goals cannot be judged"
        exit 1
    fi
    if [[ -n $missed ]]; then
        log "goal missed: $(tr '\n' ' ' <<<"$missed")"
        exit 1
    fi
    exit 0
}

# ---------------------------------------------------------------------------------------------------
# Measuring a client process

# measure NAME CMD... : run CMD under GNU time. The command should be bounded by itself; callers wrap
# it in `timeout` as a backstop. Sets M_USER_S M_SYS_S M_RSS_KB M_WALL_S M_RC.
measure() {
    local name=$1
    shift
    local tf="$BENCH_TMP/$name.time"
    M_RC=0
    /usr/bin/time -f '%U %S %M %e' -o "$tf" "$@" >"$BENCH_TMP/$name.out" 2>"$BENCH_TMP/$name.err" || M_RC=$?
    # GNU time writes "Command exited with non-zero status N" before the figures when the command fails.
    read -r M_USER_S M_SYS_S M_RSS_KB M_WALL_S < <(tail -n 1 "$tf")
}

# ---------------------------------------------------------------------------------------------------
# Servers

# wait_http URL [TRIES] : poll until the URL answers 2xx (0.1 s apart, default 100 tries = 10 s)
wait_http() {
    local url=$1 tries=${2:-100} i
    for ((i = 0; i < tries; i++)); do
        curl -sf -o /dev/null --max-time 1 "$url" && return 0
        sleep 0.1
    done
    return 1
}

# A port outside the ephemeral range (so 10k client connections cannot take it), not listening now.
pick_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12000))
        if [[ -z $(ss -Htln "sport = :$p") ]]; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# start_nginx [NOFILE] : nginx from a generated config in $BENCH_TMP/nginx; one worker pinned to
# SERVER_CPU; keep-alive for a million requests; `return 200 "hello\n"` on /, plus whatever
# NGINX_EXTRA_LOCATIONS holds (nginx config text, e.g. `location = /x { return 200 'x'; }`).
# Sets NGINX_PID NGINX_PORT NGINX_URL.
start_nginx() {
    local nofile=${1:-20000} dir="$BENCH_TMP/nginx" attempt mask
    ensure_nginx
    mkdir -p "$dir/tmp"
    mask=$(printf '%0*d' $((SERVER_CPU + 1)) 1) # core 0 -> 1, core 1 -> 10 (nginx CPU bitmask)
    for attempt in 1 2 3 4 5; do
        NGINX_PORT=$(pick_port)
        cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
worker_cpu_affinity $mask;
worker_rlimit_nofile $nofile;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 20000;
}
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        location / {
            return 200 "hello\n";
        }
${NGINX_EXTRA_LOCATIONS:-}
    }
}
EOF
        nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
        NGINX_PID=$!
        track_pid "$NGINX_PID"
        NGINX_URL="http://127.0.0.1:$NGINX_PORT/"
        local i
        for ((i = 0; i < 100; i++)); do
            if ! kill -0 "$NGINX_PID" 2>/dev/null; then
                break
            fi
            if curl -sf -o /dev/null --max-time 1 "$NGINX_URL"; then
                log "nginx $(nginx -v 2>&1 | sed 's/.*\///') on $NGINX_URL (pid $NGINX_PID, 1 worker on core $SERVER_CPU)"
                return 0
            fi
            sleep 0.1
        done
        stop_pid "$NGINX_PID"
        log "nginx did not start on port $NGINX_PORT (attempt $attempt): $(tail -n 3 "$dir/error.log" 2>/dev/null)"
    done
    die "nginx would not start; see $dir/error.log"
}

# server_cpu_s : CPU seconds (user + sys) used so far by nginx's worker(s); the difference over a run,
# divided by its wall time, tells whether the server (not the client) was the bottleneck.
server_cpu_s() {
    local pid total=0 hz
    hz=$(getconf CLK_TCK)
    for pid in $(pgrep -P "$NGINX_PID" || true); do
        # fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the command name
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
    done
    calc "$total / $hz"
}

# start_target NAME ARGS... : `pummel target --port 0 ARGS` pinned to TARGET_CPU (default SERVER_CPU;
# set TARGET_CPU= (empty) for no pinning); sets TARGET_URL
# (base URL with a trailing slash) and TARGET_PID. Waits for the address line, then (unless the
# target has a planned stall) for an HTTP answer.
start_target() {
    local name=$1 out i
    shift
    out="$BENCH_TMP/target-$name.log"
    local pin=()
    [[ -n ${TARGET_CPU-$SERVER_CPU} ]] && pin=(taskset -c "${TARGET_CPU-$SERVER_CPU}")
    "${pin[@]}" "$PUMMEL" target --port 0 "$@" >"$out" 2>&1 &
    TARGET_PID=$!
    track_pid "$TARGET_PID"
    TARGET_URL=
    for ((i = 0; i < 100; i++)); do
        TARGET_URL=$(grep -o 'http://[0-9.:]*/' "$out" | head -n 1 || true)
        [[ -n $TARGET_URL ]] && break
        kill -0 "$TARGET_PID" 2>/dev/null || die "pummel target exited: $(cat "$out")"
        sleep 0.1
    done
    [[ -n $TARGET_URL ]] || die "pummel target printed no address: $(cat "$out")"
    # The address line is printed once the socket is bound. A planned stall counts from the first
    # request, so a target started with --stall-after must not be probed with HTTP.
    if [[ " $* " != *" --stall-after "* ]]; then
        wait_http "$TARGET_URL" || die "pummel target at $TARGET_URL does not answer"
    fi
    log "pummel target ($name) on $TARGET_URL (pid $TARGET_PID${pin[*]:+, ${pin[*]}})"
}
