#!/usr/bin/env bash
# Fair under load, on the example servers (issue 11): with one hostile client pipelining
# without pause, does a well-behaved client still get its answers quickly?
#
# For each of http_hello, mini_redis and echo (release builds): start it on a free loopback
# port, then run `corio-bench canary` against it for --secs seconds (default 5): one hog
# connection that writes pipelined batches continuously while reading every reply
# (http_hello: `GET / HTTP/1.1` in batches of 3,640 per write; mini_redis: PING/GET pairs;
# echo: 64 KiB writes of 64-byte messages), and beside it one canary connection doing single
# round trips every 10 ms. Prints the canary's p50/p99/max round trip in ms per server and
# whether max < 50 ms (the issue's target), then stops the server.
#
# Bounds: loopback only; every client run is capped by `timeout` (secs + 30 s); servers are
# killed by PID on exit (trap), however the script ends. The server is pinned to the first
# usable CPU and the client to the second when `taskset` is there and 2+ CPUs are usable
# (CANARY_PIN=0 turns that off), as corio-bench pins its own runs.
#
# Exit status: 0 when every server met the target, 1 when one missed it (or would not start,
# or could not be measured), 2 on bad arguments.
#
# Usage: bash scripts/canary.sh [--secs N] [--runs N] [--servers http_hello,mini_redis,echo] [--no-build]
#        (--runs N: measure each server N times, a fresh server each time; one row per run)
set -u
cd "$(dirname "$0")/.." || exit 2

SECS=5
RUNS=1
SERVERS="http_hello,mini_redis,echo"
BUILD=1
TARGET_MS=50
usage() {
    echo "usage: bash scripts/canary.sh [--secs N] [--runs N] [--servers http_hello,mini_redis,echo] [--no-build]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --secs)
        [ $# -ge 2 ] || usage
        SECS=$2
        shift 2
        ;;
    --runs)
        [ $# -ge 2 ] || usage
        RUNS=$2
        shift 2
        ;;
    --servers)
        [ $# -ge 2 ] || usage
        SERVERS=$2
        shift 2
        ;;
    --no-build)
        BUILD=0
        shift
        ;;
    -h | --help) usage ;;
    *)
        echo "canary: unknown argument '$1'" >&2
        usage
        ;;
    esac
done
if ! [[ "$SECS" =~ ^[0-9]+$ ]] || [ "$SECS" -lt 1 ] || [ "$SECS" -gt 600 ]; then
    echo "canary: --secs takes whole seconds from 1 to 600, not '$SECS'" >&2
    exit 2
fi
if ! [[ "$RUNS" =~ ^[0-9]+$ ]] || [ "$RUNS" -lt 1 ] || [ "$RUNS" -gt 20 ]; then
    echo "canary: --runs takes a count from 1 to 20, not '$RUNS'" >&2
    exit 2
fi
IFS=',' read -r -a WANTED <<<"$SERVERS"
for s in "${WANTED[@]}"; do
    case "$s" in
    http_hello | mini_redis | echo) ;;
    *)
        echo "canary: unknown server '$s' (http_hello, mini_redis, echo)" >&2
        exit 2
        ;;
    esac
done

BIN=target/release/examples
BENCH=target/release/corio-bench
LOGDIR=$(mktemp -d)
PIDS=()
log() { printf 'canary: %s\n' "$*"; }

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    rm -rf "$LOGDIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# CPU pinning: server on the first usable CPU, client on the second.
SERVER_PIN=()
CLIENT_PIN=()
if [ "${CANARY_PIN:-1}" != 0 ] && command -v taskset >/dev/null 2>&1; then
    # The usable CPUs, one a line, from a mask like "0-3,6".
    cpus=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //' | tr ',' '\n' |
        while IFS=- read -r a b; do seq "$a" "${b:-$a}"; done)
    first=$(printf '%s\n' "$cpus" | sed -n 1p)
    second=$(printf '%s\n' "$cpus" | sed -n 2p)
    if [ -n "$first" ] && [ -n "$second" ]; then
        SERVER_PIN=(taskset -c "$first")
        CLIENT_PIN=(taskset -c "$second")
        log "server pinned to CPU $first, client to CPU $second"
    fi
fi

if [ $BUILD -eq 1 ]; then
    log "building the examples and corio-bench (release)"
    if ! cargo build --release --examples --quiet || ! cargo build --release -p corio-bench --quiet; then
        log "cargo build failed"
        exit 1
    fi
fi
for exe in "$BENCH" "$BIN/echo" "$BIN/http_hello" "$BIN/mini_redis"; do
    if [ ! -x "$exe" ]; then
        log "$exe is missing (run without --no-build)"
        exit 1
    fi
done

# Is something accepting on 127.0.0.1:$1?
accepting() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The first port from $1 on where nobody listens.
free_port() {
    local port=$1
    while accepting "$port"; do
        port=$((port + 1))
    done
    echo "$port"
}

# start NAME PORT: start the example, wait until it accepts. Sets SERVER_PID.
start() {
    local name=$1 port=$2 i
    "${SERVER_PIN[@]}" "$BIN/$name" "127.0.0.1:$port" >"$LOGDIR/$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for i in $(seq 1 100); do
        accepting "$port" && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "$name did not start on port $port:"
    sed 's/^/    /' "$LOGDIR/$name.log"
    return 1
}

# A number field of corio-bench canary's one-line JSON.
field() {
    printf '%s' "$2" | sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p"
}
ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }

ROWS=()
FAILED=0
measure() {
    local name=$1 proto=$2 base=$3 port json
    port=$(free_port "$base")
    if ! start "$name" "$port"; then
        ROWS+=("$(printf '%-11s %10s %10s %10s  %s' "$name" - - - "FAIL (did not start)")")
        FAILED=1
        return
    fi
    log "$name on 127.0.0.1:$port: one pipelining hog + one canary for $SECS s"
    json=$(timeout $((SECS + 30)) "${CLIENT_PIN[@]}" "$BENCH" canary --addr "127.0.0.1:$port" \
        --proto "$proto" --secs "$SECS" --target-ms "$TARGET_MS" --json 2>"$LOGDIR/$name.client")
    local rc=$?
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        log "$name died under the load:"
        sed 's/^/    /' "$LOGDIR/$name.log" | tail -5
    fi
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    if [ $rc -ne 0 ] || [ -z "$json" ]; then
        log "$name: the canary client failed (exit $rc):"
        sed 's/^/    /' "$LOGDIR/$name.client" | tail -5
        ROWS+=("$(printf '%-11s %10s %10s %10s  %s' "$name" - - - "FAIL (not measured)")")
        FAILED=1
        return
    fi
    local verdict="yes" extra=""
    if ! printf '%s' "$json" | grep -q '"target_met":true'; then
        verdict="NO"
        FAILED=1
    fi
    local stuck errors rps
    stuck=$(field stuck_at_end "$json")
    errors=$(($(field canary_errors "$json") + $(field hog_errors "$json")))
    rps=$(awk -v r="$(field hog_replies_per_sec "$json")" 'BEGIN { printf "%.0f", r }')
    [ "${stuck:-0}" != 0 ] && extra="$extra; $stuck round trip(s) unanswered at the end (max is a lower bound)"
    [ "$errors" != 0 ] && extra="$extra; $errors connection error(s)"
    local stall
    stall=$(field client_stall_max_us "$json")
    if awk -v s="${stall:-0}" 'BEGIN { exit !(s > 10000) }'; then
        extra="$extra; the client itself stalled up to $(ms "$stall") ms (busy machine)"
    fi
    ROWS+=("$(printf '%-11s %10s %10s %10s  %-4s %s' "$name" "$(ms "$(field p50_us "$json")")" \
        "$(ms "$(field p99_us "$json")")" "$(ms "$(field max_us "$json")")" "$verdict" \
        "($(field canary_round_trips "$json") round trips; hog $rps replies/s$extra)")")
}

for run in $(seq 1 "$RUNS"); do
    for s in "${WANTED[@]}"; do
        case "$s" in
        http_hello) measure http_hello http 28080 ;;
        mini_redis) measure mini_redis redis 26379 ;;
        echo) measure echo echo 27000 ;;
        esac
    done
done

echo
printf '%-11s %10s %10s %10s  %s\n' "server" "p50 ms" "p99 ms" "max ms" "max < $TARGET_MS ms"
for row in "${ROWS[@]}"; do
    printf '%s\n' "$row"
done
exit $FAILED
