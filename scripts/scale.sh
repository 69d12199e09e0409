#!/usr/bin/env bash
# Many cores (issue 13): how corio's shards and tokio's multi-thread runtime scale with CPUs.
#
# Runs `corio-bench scale`: for N = 1..MAX, corio with N shards (shard::Pool, one
# SO_REUSEPORT listener per shard) and tokio-mt with N worker threads, the server child
# pinned to N CPUs with sched_setaffinity (what `taskset -c 0..N-1` does; the tool does it
# itself, no taskset needed) and the load generator to the CPUs left (one corio loop per
# CPU, up to 4). Prints what the machine is, the sweep's full table, and the scale table:
# req/s, req/s against the same variant's 1-shard cell, and server CPU µs/req per N.
#
# Meant for a machine with many cores. The load generator is on the same machine (loopback
# only), and it costs about what the server does per request, so it needs as many CPUs as
# the server's largest cell: MAX defaults to half the usable CPUs (8 on 16), and the load
# generator gets CPUS - MAX threads, one per CPU, the same for every cell (so the curve
# is the server's, not a load generator growing with the free CPUs). A larger --max-shards
# leaves it fewer CPUs than the server: req/s there is a lower bound, and server CPU µs/req
# (the server's own user+system time per request) is the figure. On a 2-CPU machine the
# sweep is 1 shard only; `corio-bench echo --shards 1,2` shows 2 with shared CPUs.
#
# Bounds: loopback only; each cell is capped by the tool's own deadlines, the whole run by
# `timeout` (cells × (secs + warmup + 20 s)).
#
# Usage: bash scripts/scale.sh [--max-shards N] [--conns N] [--secs S] [--workload echo|http]
#                               [--repeats N] [--out DIR] [--no-build]
set -u
cd "$(dirname "$0")/.." || exit 2

MAX=""
CONNS=256
SECS=3
WORKLOAD=echo
REPEATS=1
OUT=""
BUILD=1
usage() {
    echo "usage: bash scripts/scale.sh [--max-shards N] [--conns N] [--secs S] [--workload echo|http] [--repeats N] [--out DIR] [--no-build]" >&2
    exit 2
}
need() { [ "$2" -ge 2 ] || usage; }
while [ $# -gt 0 ]; do
    case "$1" in
    --max-shards) need "$1" $#; MAX=$2; shift 2 ;;
    --conns) need "$1" $#; CONNS=$2; shift 2 ;;
    --secs) need "$1" $#; SECS=$2; shift 2 ;;
    --workload) need "$1" $#; WORKLOAD=$2; shift 2 ;;
    --repeats) need "$1" $#; REPEATS=$2; shift 2 ;;
    --out) need "$1" $#; OUT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) usage ;;
    *) echo "scale.sh: unknown argument: $1" >&2; usage ;;
    esac
done
for n in "$CONNS" "$REPEATS" ${MAX:+"$MAX"}; do
    case "$n" in '' | *[!0-9]*) echo "scale.sh: not a whole number: $n" >&2; usage ;; esac
done

CPUS=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
if [ -z "$MAX" ]; then
    MAX=$((CPUS / 2 > 0 ? CPUS / 2 : 1))
fi
CLIENT_THREADS=$((CPUS - MAX > 0 ? CPUS - MAX : 1))

echo "## machine"
echo
echo "- usable CPUs: $CPUS (nproc); shards swept: 1..$MAX; load generator: $CLIENT_THREADS thread(s)"
if command -v lscpu >/dev/null; then
    lscpu | grep -E '^(Model name|Socket\(s\)|Core\(s\) per socket|Thread\(s\) per core|NUMA node\(s\)|L3 cache)' |
        sed 's/^/- /; s/  */ /g'
fi
echo "- kernel: $(uname -srm)"
if [ -r /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor ]; then
    echo "- cpufreq governor: $(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor)"
fi
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
if [ "$MAX" -gt "$CLIENT_THREADS" ]; then
    echo "- note: beyond $CLIENT_THREADS shards the load generator has fewer CPUs than the server: req/s there is a lower bound"
fi
echo

if [ "$BUILD" = 1 ]; then
    cargo build --release -p corio-bench >&2 || exit 1
fi
BIN=target/release/corio-bench
[ -x "$BIN" ] || { echo "scale.sh: $BIN is missing (build it, or drop --no-build)" >&2; exit 1; }

VARIANTS=2
CELLS=$((MAX * VARIANTS * REPEATS))
LIMIT=$((CELLS * (${SECS%.*} + 1 + 20) + 60))
args=(scale --max-shards "$MAX" --conns "$CONNS" --secs "$SECS" --workload "$WORKLOAD"
    --repeats "$REPEATS" --client-threads "$CLIENT_THREADS")
[ -n "$OUT" ] && args+=(--out "$OUT")
echo "command: $BIN ${args[*]}"
echo
timeout "$LIMIT" "$BIN" "${args[@]}"
