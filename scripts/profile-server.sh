#!/usr/bin/env bash
# Where one server's CPU goes per message (issue 17): corio's loop against tokio's, both
# saturated, over the same window, with the load generator on the other CPU.
#
# For each server (interleaved, REPEATS times) this starts it pinned to CPU 0, loads it
# with `corio-bench echo|http --target ADDR --conns N` pinned to CPU 1, waits until every
# connection is up and warm, and then over WINDOW seconds reads, for the server process only:
#   - its user and system CPU time (/proc/PID/stat), divided by the messages it answered;
#   - its syscalls (`perf stat` on the syscalls:sys_enter_* tracepoints): sends (one per
#     answered message: sendto or write), reads, epoll_wait calls (so messages per wake);
#   - with --perf, a `perf record -e cpu-clock -g` profile (kernel symbols included), and
#     the top symbols of it per message (`perf report --no-children --sort sym`).
# Servers: `corio` and `tokio` are the bench tool's own (`corio-bench serve`); `example` is
# examples/echo (drain-aware, what a user runs), `mio` the hand-written floor.
#
# Needs perf and root (it sets kernel.perf_event_paranoid=-1 and kptr_restrict=0). Loopback
# only; every child is killed at the end of its cell, the load tool stops by itself.
#
# Usage: bash scripts/profile-server.sh [--conns N] [--workload echo|http] [--repeats N]
#            [--window S] [--servers corio,tokio,example,mio] [--rate MSGS_PER_SEC] [--perf]
#            [--out DIR] [--no-build]
# --rate paces the load (see `corio-bench echo --help`): both servers then run below
# saturation at the same offered load, the fairest comparison of CPU per message.
set -u
cd "$(dirname "$0")/.." || exit 2

CONNS=5000
WORKLOAD=echo
REPEATS=3
WINDOW=4
SERVERS=corio,tokio
PERF=0
RATE=""
OUT=/tmp/profile-server
BUILD=1
usage() {
    echo "usage: bash scripts/profile-server.sh [--conns N] [--workload echo|http] [--repeats N] [--window S] [--servers LIST] [--rate N] [--perf] [--out DIR] [--no-build]" >&2
    exit 2
}
need() { [ "$2" -ge 2 ] || usage; }
while [ $# -gt 0 ]; do
    case "$1" in
    --conns) need "$1" $#; CONNS=$2; shift 2 ;;
    --workload) need "$1" $#; WORKLOAD=$2; shift 2 ;;
    --repeats) need "$1" $#; REPEATS=$2; shift 2 ;;
    --window) need "$1" $#; WINDOW=$2; shift 2 ;;
    --servers) need "$1" $#; SERVERS=$2; shift 2 ;;
    --perf) PERF=1; shift ;;
    --rate) need "$1" $#; RATE=$2; shift 2 ;;
    --out) need "$1" $#; OUT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) usage ;;
    *) echo "profile-server.sh: unknown argument: $1" >&2; usage ;;
    esac
done
for n in "$CONNS" "$REPEATS" "$WINDOW" ${RATE:+"$RATE"}; do
    case "$n" in '' | *[!0-9]*) echo "profile-server.sh: not a whole number: $n" >&2; usage ;; esac
done
case "$WORKLOAD" in echo | http) ;; *) echo "profile-server.sh: workload is echo or http" >&2; usage ;; esac
if [ "$(nproc)" -lt 2 ]; then
    echo "profile-server.sh: needs 2 CPUs (server on 0, load on 1)" >&2
    exit 2
fi
command -v perf >/dev/null || { echo "profile-server.sh: perf not found" >&2; exit 2; }
echo -1 >/proc/sys/kernel/perf_event_paranoid 2>/dev/null
echo 0 >/proc/sys/kernel/kptr_restrict 2>/dev/null
ulimit -n 20000 2>/dev/null || true

if [ "$BUILD" = 1 ]; then
    cargo build --release -q -p corio-bench || exit 1
    case ",$SERVERS," in
    *,example,*)
        example=echo
        [ "$WORKLOAD" = http ] && example=http_hello
        cargo build --release -q --example "$example" || exit 1
        ;;
    esac
fi
BENCH=target/release/corio-bench
mkdir -p "$OUT"
TICKS=$(getconf CLK_TCK)
# The load runs longer than the wait for the connections plus the window.
SETTLE=5
LOAD_SECS=$((SETTLE + WINDOW + 3))

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

start_server() { # name -> sets PID and ADDR
    local name=$1 log="$OUT/$1.server.log"
    case "$name" in
    corio | tokio | mio | smol)
        "$BENCH" serve --variant "$name" --workload "$WORKLOAD" --cpu 0 >"$log" 2>&1 &
        PID=$!
        ;;
    example)
        if [ "$WORKLOAD" = echo ]; then
            taskset -c 0 target/release/examples/echo 127.0.0.1:0 >"$log" 2>&1 &
        else
            taskset -c 0 target/release/examples/http_hello 127.0.0.1:0 >"$log" 2>&1 &
        fi
        PID=$!
        ;;
    *) echo "profile-server.sh: unknown server $name" >&2; exit 2 ;;
    esac
    ADDR=""
    for _ in $(seq 100); do
        ADDR=$(grep -oE '127\.0\.0\.1:[0-9]+' "$log" | head -1)
        [ -n "$ADDR" ] && break
        sleep 0.05
    done
    [ -n "$ADDR" ] || { echo "profile-server.sh: $name printed no address" >&2; cat "$log" >&2; exit 1; }
}

SYSCALLS="syscalls:sys_enter_sendto,syscalls:sys_enter_write,syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_epoll_wait"
echo "| run | server | msgs/s | CPU µs/msg | of which sys µs | epoll_wait per 1k msgs | reads per msg |"
echo "|---:|---|---:|---:|---:|---:|---:|"
IFS=, read -r -a NAMES <<<"$SERVERS"
for run in $(seq "$REPEATS"); do
    for name in "${NAMES[@]}"; do
        start_server "$name"
        "$BENCH" "$WORKLOAD" --target "$ADDR" --conns "$CONNS" --secs "$LOAD_SECS" --warmup 1 \
            --client-cpu 1 ${RATE:+--rate "$RATE"} --quiet >"$OUT/$name.$run.load.txt" 2>&1 &
        LOAD=$!
        sleep "$SETTLE"
        read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$PID/stat")
        stat="$OUT/$name.$run.stat.txt"
        if [ "$PERF" = 1 ]; then
            perf record -q -e cpu-clock -g -p "$PID" -o "$OUT/$name.$run.perf.data" -- \
                perf stat -x, -e "$SYSCALLS" -p "$PID" -o "$stat" -- sleep "$WINDOW" 2>/dev/null
        else
            perf stat -x, -e "$SYSCALLS" -p "$PID" -o "$stat" -- sleep "$WINDOW" 2>/dev/null
        fi
        read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$PID/stat")
        wait "$LOAD"
        kill "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
        count() { awk -F, -v ev="$1" '$3 == ev { print $1 }' "$stat"; }
        sends=$(( $(count syscalls:sys_enter_sendto) + $(count syscalls:sys_enter_write) ))
        reads=$(( $(count syscalls:sys_enter_recvfrom) + $(count syscalls:sys_enter_read) ))
        waits=$(count syscalls:sys_enter_epoll_wait)
        awk -v run="$run" -v name="$name" -v sends="$sends" -v reads="$reads" -v waits="$waits" \
            -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$TICKS" -v win="$WINDOW" 'BEGIN {
            if (sends == 0) { printf "| %d | %s | no messages |||||\n", run, name; exit }
            printf "| %d | %s | %.0f | %.2f | %.2f | %.1f | %.3f |\n", run, name, sends / win,
                (u + s) / hz * 1e6 / sends, s / hz * 1e6 / sends, waits * 1000 / sends, reads / sends
        }'
        if [ "$PERF" = 1 ]; then
            perf report -q -i "$OUT/$name.$run.perf.data" --no-children --sort sym -g none \
                --percent-limit 0.7 2>/dev/null | sed '/^$/d' | head -25 >"$OUT/$name.$run.top.txt"
        fi
    done
done
echo
echo "- window ${WINDOW}s per cell after ${SETTLE}s; $CONNS connections; $WORKLOAD; ${RATE:+paced at $RATE msgs/s; }server on CPU 0, load on CPU 1"
[ "$PERF" = 1 ] && echo "- top symbols per cell: $OUT/NAME.RUN.top.txt (perf data beside them)"
exit 0
