#!/usr/bin/env bash
# Leak check under `valgrind --leak-check=full`, on release builds:
# 1. the `echo` example, driven with about 1,000 echo round trips over a few loopback
#    connections, then stopped with SIGINT (the example's ctrl_c handler prints its summary
#    and exits 0);
# 2. the `tasks` example (100,000 sleeping tasks, the blocking pool, a JoinSet), which returns
#    from main, so the runtime is dropped and everything it allocated must be freed.
# Fails (exit 3) when valgrind finds a definite leak or a memory error; prints each
# LEAK SUMMARY either way.
#
#   bash scripts/leaks.sh                 # 127.0.0.1:17100, 4 connections x 250 round trips
#   CONNS=8 ROUNDS=500 bash scripts/leaks.sh
#
# "Still reachable" blocks are expected: the example exits from inside the running loop
# (std::process::exit), so the runtime, its task slab and thread-locals are still referenced.
set -euo pipefail
cd "$(dirname "$0")/.."

ADDR="${ADDR:-127.0.0.1:17100}"
CONNS="${CONNS:-4}"
ROUNDS="${ROUNDS:-250}"
out="target/leaks"
mkdir -p "$out"

if ! command -v valgrind >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "leaks.sh: installing valgrind"
        apt-get install -y valgrind >/dev/null || { apt-get update >/dev/null && apt-get install -y valgrind >/dev/null; }
    else
        echo "leaks.sh: valgrind is missing (apt-get install valgrind)" >&2
        exit 2
    fi
fi
command -v python3 >/dev/null || { echo "leaks.sh: python3 is needed for the client" >&2; exit 2; }

cargo build --release --example echo --example tasks
bin=target/release/examples/echo

rm -f "$out/valgrind-echo.log" "$out/echo.out"
valgrind --leak-check=full --show-leak-kinds=definite,possible \
    --errors-for-leak-kinds=definite --error-exitcode=3 \
    --log-file="$out/valgrind-echo.log" \
    "$bin" "$ADDR" >"$out/echo.out" 2>&1 &
pid=$!   # valgrind runs the program in this very process
cleanup() { kill -KILL "$pid" 2>/dev/null || true; }
trap cleanup EXIT

# Valgrind starts slowly: wait for the example's "listening" line.
for _ in $(seq 1 300); do
    grep -q "listening on" "$out/echo.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$out/echo.out" "$out/valgrind-echo.log"; exit 1; }
    sleep 0.1
done
grep -q "listening on" "$out/echo.out" || { echo "leaks.sh: echo did not start" >&2; exit 1; }

start=$(date +%s.%N)
python3 - "$ADDR" "$CONNS" "$ROUNDS" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
conns, rounds = int(sys.argv[2]), int(sys.argv[3])
socks = [socket.create_connection((host, int(port)), timeout=30) for _ in range(conns)]
total = 0
for r in range(rounds):
    for i, s in enumerate(socks):
        msg = bytes((r * 31 + i * 7 + k) % 251 for k in range(1 + (r * 997 + i * 131) % 3000))
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(65536)
            if not chunk:
                sys.exit(f"connection {i} closed at round {r}")
            got += chunk
        if got != msg:
            sys.exit(f"connection {i} round {r}: echo differs")
        total += len(msg)
for s in socks:
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        sys.exit("data after the last echo")
    s.close()
print(f"client: {conns} connections x {rounds} round trips, {total} bytes echoed and verified")
PY
end=$(date +%s.%N)

kill -INT "$pid"
set +e
wait "$pid"
status=$?
set -e
trap - EXIT

cat "$out/echo.out"
echo "--- valgrind ($out/valgrind-echo.log)"
sed -n '/HEAP SUMMARY/,/total heap usage/p; /LEAK SUMMARY/,/suppressed:/p; /ERROR SUMMARY/p' "$out/valgrind-echo.log" | sed 's/^==[0-9]*== //'
definite=$(grep -o 'definitely lost: [0-9,]* bytes in [0-9,]* blocks' "$out/valgrind-echo.log" || echo "definitely lost: 0 bytes (no leak summary: nothing leaked)")
printf 'LEAKS echo: %s; client phase %.1fs under valgrind; exit status %s\n' "$definite" "$(echo "$end - $start" | bc)" "$status"

echo "--- valgrind on the tasks example ($out/valgrind-tasks.log)"
set +e
valgrind --leak-check=full --show-leak-kinds=definite,possible \
    --errors-for-leak-kinds=definite --error-exitcode=3 \
    --log-file="$out/valgrind-tasks.log" target/release/examples/tasks
tasks_status=$?
set -e
sed -n '/HEAP SUMMARY/,/total heap usage/p; /LEAK SUMMARY/,/suppressed:/p; /ERROR SUMMARY/p' "$out/valgrind-tasks.log" | sed 's/^==[0-9]*== //'
tasks_definite=$(grep -o 'definitely lost: [0-9,]* bytes in [0-9,]* blocks' "$out/valgrind-tasks.log" || echo "definitely lost: 0 bytes (no leak summary: nothing leaked)")
tasks_heap=$(grep -o 'total heap usage: .*' "$out/valgrind-tasks.log" || true)
printf 'LEAKS tasks: %s; %s; exit status %s\n' "$tasks_definite" "$tasks_heap" "$tasks_status"

if [ "$status" -ne 0 ] || [ "$tasks_status" -ne 0 ]; then
    echo "leaks.sh: valgrind reported errors or definite leaks (echo exit $status, tasks exit $tasks_status)" >&2
    exit 3
fi
