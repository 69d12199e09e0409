#!/usr/bin/env bash
# SIGTERM under load, for each example server (echo, http_hello, mini_redis, chat), release
# builds. Per server: start it on a free loopback port, put a large reply in flight to a
# client that reads slowly (echo: 8 MiB echoed; http_hello: 20,000 pipelined GETs;
# mini_redis: a 32 MiB GET; chat: 400 lines of 1 KB broadcast to a slow reader) plus 5 idle
# keep-alive clients, send SIGTERM, and print the exit code, the drain time (SIGTERM to
# exit), whether the large reply arrived whole and whether the idle clients were closed.
# Then, per server, a second SIGTERM during a long drain (a client that never reads,
# --drain-timeout 30) must make it exit at once with a non-zero code.
#
# With --shards N, echo and http_hello run N shards (`--shards N`: one loop per thread, one
# SO_REUSEPORT listener each); the signal handling and drain must cover every shard.
#
# Usage: bash scripts/sigterm-drain.sh [--no-build] [--servers echo,http_hello,mini_redis,chat]
#            [--shards N]
# Bounded: every wait has a timeout; leftovers are killed by a trap. Needs python3.
set -u
cd "$(dirname "$0")/.."

BUILD=1
SERVERS="echo,http_hello,mini_redis,chat"
SHARDS=1
usage() { echo "usage: bash scripts/sigterm-drain.sh [--no-build] [--servers LIST] [--shards N]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) BUILD=0 ;;
        --servers) [ $# -ge 2 ] || usage; SERVERS="$2"; shift ;;
        --shards) [ $# -ge 2 ] || usage; SHARDS="$2"; shift ;;
        *) usage ;;
    esac
    shift
done
case "$SHARDS" in '' | *[!0-9]* | 0) echo "sigterm-drain.sh: --shards takes a whole number >= 1" >&2; usage ;; esac

BIN=target/release/examples
WORK=$(mktemp -d /tmp/sigterm-drain.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

if [ "$BUILD" = 1 ]; then
    cargo build --release --example echo --example http_hello --example mini_redis \
        --example chat >/dev/null 2>"$WORK/build.log" || { cat "$WORK/build.log"; exit 1; }
fi

cat >"$WORK/client.py" <<'PY'
import socket, sys, threading, time

mode, server, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ADDR = ("127.0.0.1", port)

def say(*a):
    print(*a, flush=True)

def conn(rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(ADDR)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def read_until(s, token, limit=10.0):
    s.settimeout(limit)
    got = b""
    while token not in got:
        b = s.recv(65536)
        if not b:
            break
        got += b
    return got

def read_to_eof(s, pause=0.0, on_bytes=None, limit=60.0):
    """Everything until EOF; None on a reset or timeout."""
    s.settimeout(limit)
    chunks, n = [], 0
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)
            n += len(b)
            if on_bytes:
                on_bytes(n)
            if pause:
                time.sleep(pause)
    except (ConnectionResetError, socket.timeout, OSError):
        return None

def ready_after(threshold):
    state = {"said": False}
    def f(n):
        if not state["said"] and n >= threshold:
            state["said"] = True
            say("READY")
    return f

def verdict(ok, detail):
    say("WHOLE " + ("yes" if ok else "no") + " " + detail)

if mode == "idle":
    n = int(sys.argv[4])
    socks = []
    for i in range(n):
        s = conn()
        if server == "echo":
            s.sendall(b"ping\n"); read_until(s, b"ping\n")
        elif server == "http_hello":
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); read_until(s, b"Hello, World!")
        elif server == "mini_redis":
            s.sendall(b"PING\r\n"); read_until(s, b"+PONG\r\n")
        else:
            read_until(s, b"* welcome")
        socks.append(s)
    say("READY")
    closed = 0
    for s in socks:
        if read_to_eof(s, limit=15.0) is not None:
            closed += 1
    say(f"IDLE_CLOSED {closed}/{n}")

elif mode == "large":
    if server == "echo":
        total = 8 * 1024 * 1024
        data = bytes(i % 251 for i in range(65536)) * (total // 65536)
        s = conn(rcvbuf=16384)
        def write():
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        threading.Thread(target=write, daemon=True).start()
        got = read_to_eof(s, pause=0.0005, on_bytes=ready_after(1 << 20))
        verdict(got == data, f"got={len(got) if got is not None else 'reset'} want={total}")
    elif server == "http_hello":
        n = 20000
        s = conn(rcvbuf=8192)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * n)
        got = read_to_eof(s, pause=0.0005, on_bytes=ready_after(64 * 1024))
        answers = got.count(b"HTTP/1.1 200 OK\r\n") if got is not None else -1
        verdict(answers == n, f"answers={answers} want={n}")
    elif server == "mini_redis":
        total = 32 * 1024 * 1024
        value = bytes(i % 253 for i in range(65536)) * (total // 65536)
        s = conn()
        s.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % total + value + b"\r\n")
        read_until(s, b"+OK\r\n", limit=30.0)
        s.close()
        s = conn(rcvbuf=16384)
        s.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n")
        want = b"$%d\r\n" % total + value + b"\r\n"
        got = read_to_eof(s, pause=0.0002, on_bytes=ready_after(1 << 20))
        verdict(got == want, f"got={len(got) if got is not None else 'reset'} want={len(want)}")
    else:  # chat
        lines = 400
        reader = conn(rcvbuf=4096)
        read_until(reader, b"* welcome")
        sender = conn()
        read_until(sender, b"* welcome")
        for i in range(lines):
            sender.sendall(b"%04d " % i + b"x" * 1000 + b"\n")
        time.sleep(0.05)
        got = read_to_eof(reader, pause=0.002, on_bytes=ready_after(32 * 1024))
        heard = [l for l in (got or b"").split(b"\n") if b": " in l and not l.startswith(b"*")]
        ordered = all(l.split(b": ", 1)[1].startswith(b"%04d " % i) for i, l in enumerate(heard))
        ok = got is not None and len(heard) == lines and ordered
        verdict(ok, f"lines={len(heard)} want={lines}")

elif mode == "stuck":
    # Never reads: keeps the drain from finishing.
    s = conn(rcvbuf=4096)
    if server == "chat":
        read_until(s, b"* welcome")
        sender = conn()
        read_until(sender, b"* welcome")
        for i in range(8000):  # 8 MB: more than the kernel buffers take
            sender.sendall(b"x" * 1000 + b"\n")
    else:
        flood = {"echo": b"x" * 65536, "http_hello": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 2000,
                 "mini_redis": b"PING\r\n" * 10000}[server]
        s.settimeout(0.5)
        try:
            for _ in range(100):
                s.sendall(flood)
        except (socket.timeout, OSError):
            pass
    say("READY")
    time.sleep(60)
PY

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

now() { date +%s.%N; }

# wait_for FILE TEXT SECS
wait_for() {
    local i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -gt $(( $3 * 20 )) ] && return 1
        sleep 0.05
    done
}

# start NAME PORT DRAIN_TIMEOUT [ARGS...] -> sets SERVER_PID
start() {
    local name=$1 port=$2 drain=$3
    shift 3
    local sharded=()
    case "$name" in echo | http_hello) [ "$SHARDS" != 1 ] && sharded=(--shards "$SHARDS") ;; esac
    "$BIN/$name" "127.0.0.1:$port" --drain-timeout "$drain" "${sharded[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_for "$WORK/$name.out" "listening" 10
}

# wait_exit PID SECS -> sets RC (124 if still running after SECS, then killed)
wait_exit() {
    local i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt $(( $2 * 100 )) ]; then kill -KILL "$1"; wait "$1" 2>/dev/null; RC=124; return; fi
        sleep 0.01
    done
    wait "$1"; RC=$?
}

printf '%-11s %-5s %-9s %-45s %s\n' server exit drain large_reply idle_clients
IFS=, read -ra LIST <<<"$SERVERS"
for s in "${LIST[@]}"; do
    port=$(free_port)
    if ! start "$s" "$port" 10; then
        printf '%-11s did not start: %s\n' "$s" "$(cat "$WORK/$s.err")"; continue
    fi
    python3 "$WORK/client.py" idle "$s" "$port" 5 >"$WORK/$s.idle" 2>&1 & PIDS+=($!); idle=$!
    python3 "$WORK/client.py" large "$s" "$port" >"$WORK/$s.large" 2>&1 & PIDS+=($!); large=$!
    if ! wait_for "$WORK/$s.idle" READY 20 || ! wait_for "$WORK/$s.large" READY 60; then
        printf '%-11s clients not ready: %s %s\n' "$s" "$(cat "$WORK/$s.idle")" "$(cat "$WORK/$s.large")"
        kill -KILL "$SERVER_PID" "$idle" "$large" 2>/dev/null; continue
    fi
    t0=$(now)
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID" 15
    t1=$(now)
    wait_exit "$large" 60; wait_exit "$idle" 20
    whole=$(grep -o 'WHOLE .*' "$WORK/$s.large" || echo "WHOLE no (client: $(tail -1 "$WORK/$s.large"))")
    closed=$(grep -o 'IDLE_CLOSED .*' "$WORK/$s.idle" || echo "IDLE_CLOSED ?")
    printf '%-11s %-5s %-9s %-45s %s\n' "$s" "$RC" "$(printf '%.3fs' "$(echo "$t1 - $t0" | bc)")" \
        "${whole#WHOLE }" "${closed#IDLE_CLOSED } closed"
done

echo
printf '%-11s %-32s %-9s %s\n' server "second SIGTERM (drain 30 s)" exit after_2nd
for s in "${LIST[@]}"; do
    port=$(free_port)
    # chat: room for the never-reader's backlog in the server (past what the kernel takes),
    # and no stall cut-off, so that only the second signal can end the drain early.
    extra=()
    [ "$s" = chat ] && extra=(--max-backlog 67108864 --stall-timeout-ms 60000)
    start "$s" "$port" 30 "${extra[@]}" || { printf '%-11s did not start\n' "$s"; continue; }
    python3 "$WORK/client.py" stuck "$s" "$port" >"$WORK/$s.stuck" 2>&1 & PIDS+=($!); stuck=$!
    wait_for "$WORK/$s.stuck" READY 20 || { printf '%-11s stuck client not ready\n' "$s"; continue; }
    kill -TERM "$SERVER_PID"
    sleep 0.5
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        wait "$SERVER_PID"; printf '%-11s %-32s %-9s\n' "$s" "drain ended by itself (no check)" "$?"
        { kill -KILL "$stuck"; wait "$stuck"; } 2>/dev/null; continue
    fi
    t0=$(now)
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID" 5
    t1=$(now)
    { kill -KILL "$stuck"; wait "$stuck"; } 2>/dev/null
    verdict=$([ "$RC" != 0 ] && [ "$RC" != 124 ] && echo "exited at once" || echo "FAILED")
    printf '%-11s %-32s %-9s %s  (%s)\n' "$s" "$verdict" "$RC" \
        "$(printf '%.3fs' "$(echo "$t1 - $t0" | bc)")" "$(tail -1 "$WORK/$s.err")"
done
