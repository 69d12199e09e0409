#!/usr/bin/env bash
# Drive the example servers with real clients nobody here wrote: curl and wrk against
# http_hello and hyper_hello (HTTP/1.1 and h2c), curl and openssl s_client against
# https_hello, curl's WebSocket upgrade against ws_echo (plus a python3 frame round trip),
# redis-cli and redis-benchmark against mini_redis; echo and chat are checked with bash's
# own /dev/tcp (always available). http_get (the pooled client) is run against hyper_hello.
#
# Installs nothing. A client that is missing is reported and its checks are skipped.
# Each server is built in release mode, started on a free loopback port, driven for a few
# seconds, checked, and stopped by its PID. One summary line per server at the end.
#
# Exit status: 0 unless a client that is present got a wrong answer (or a server would
# not start); missing clients never fail the run.
#
# Usage: bash scripts/real-clients.sh        (from anywhere; it cds to the repository)
#        REAL_CLIENTS_SKIP="wrk curl" bash scripts/real-clients.sh   (treat those as missing)
set -u
cd "$(dirname "$0")/.." || exit 2

BIN=target/release/examples
FAILED=0
SUMMARY=()
PIDS=()

log() { printf 'real-clients: %s\n' "$*"; }
# REAL_CLIENTS_SKIP="wrk redis-cli" pretends those clients are missing (to try that path).
have() {
    case " ${REAL_CLIENTS_SKIP:-} " in
    *" $1 "*) return 1 ;;
    esac
    command -v "$1" >/dev/null 2>&1
}

# Run a command with a time limit when coreutils' timeout is there.
limited() {
    local secs=$1
    shift
    if have timeout; then timeout "$secs" "$@"; else "$@"; fi
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
}
trap cleanup EXIT

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

# start NAME PORT [ARGS..]: start the example, wait until it accepts. Sets SERVER_PID.
start() {
    local name=$1 port=$2
    shift 2
    "$BIN/$name" "127.0.0.1:$port" "$@" >"$LOGDIR/$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local i
    for i in $(seq 1 100); do
        if accepting "$port"; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    log "$name did not start on port $port:"
    sed 's/^/    /' "$LOGDIR/$name.log"
    return 1
}

stop() {
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
}

# check DESCRIPTION EXPECTED ACTUAL: compare, log a mismatch, count failures in $BAD.
check() {
    if [ "$2" == "$3" ]; then
        return 0
    fi
    log "WRONG: $1: expected '$2', got '$3'"
    BAD=$((BAD + 1))
    return 1
}

# The arguments joined with "; ".
joined() {
    local out=$1
    shift
    local note
    for note in "$@"; do
        out="$out; $note"
    done
    printf '%s' "$out"
}

summary() {
    SUMMARY+=("$(printf '%-11s %-5s %s' "$1" "$2" "$3")")
    if [ "$2" == "FAIL" ]; then
        FAILED=1
    fi
}

# wrk_load URL: 3 s of wrk -t1 -c50 against URL, no non-2xx answers allowed; appends a note
# to the caller's `notes` array (bash locals are visible to the functions a function calls).
wrk_load() {
    if ! have wrk; then
        notes+=("wrk missing")
        return
    fi
    local out rps non2xx
    out=$(limited 30 wrk -t1 -c50 -d3s "$1" 2>&1)
    rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ {print $2}')
    non2xx=$(printf '%s\n' "$out" | awk '/Non-2xx or 3xx responses:/ {print $NF}')
    check "wrk non-2xx responses" "0" "${non2xx:-0}"
    if [ -z "$rps" ]; then
        check "wrk ran" "Requests/sec line" "$out"
    else
        local errors
        errors=$(printf '%s\n' "$out" | grep 'Socket errors' | sed 's/^ *//')
        notes+=("wrk -t1 -c50 -d3s: $rps req/s${errors:+ ($errors)}")
    fi
}

# finish NAME: stop the server and write its summary line from $BAD and the caller's `notes`.
finish() {
    stop
    if [ $BAD -eq 0 ]; then
        summary "$1" ok "$(joined "${notes[@]}")"
    else
        summary "$1" FAIL "$BAD wrong answers; $(joined "${notes[@]}")"
    fi
}

LOGDIR=$(mktemp -d)
log "building the examples (release)"
# --features hyper: the hyper examples (hyper_hello, https_hello, http_get) need it.
if ! cargo build --release --examples --features hyper --quiet; then
    log "cargo build failed"
    exit 1
fi

missing=()
for client in curl wrk redis-cli redis-benchmark openssl python3; do
    have "$client" || missing+=("$client")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "missing clients (their checks are skipped): ${missing[*]}"
fi

# ---- echo: bash /dev/tcp ----
echo_server() {
    local port
    port=$(free_port 17000)
    start echo "$port" || { summary echo FAIL "did not start"; return; }
    BAD=0
    local got rounds=0 i
    if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
        for i in $(seq 1 200); do
            printf 'line %d of the echo check\n' "$i" >&3
            IFS= read -r -t 5 got <&3 || got="<nothing>"
            check "echo round trip $i" "line $i of the echo check" "$got" || break
            rounds=$i
        done
        exec 3>&-
    else
        check "echo connect" "connected" "refused"
    fi
    stop
    if [ $BAD -eq 0 ]; then
        summary echo ok "$rounds round trips over one connection (bash /dev/tcp)"
    else
        summary echo FAIL "$BAD wrong answers"
    fi
}

# ---- http_hello: curl, wrk, and a malformed request over /dev/tcp ----
http_server() {
    local port url
    port=$(free_port 18080)
    url="http://127.0.0.1:$port"
    start http_hello "$port" || { summary http_hello FAIL "did not start"; return; }
    BAD=0
    local notes=()
    if have curl; then
        check "curl GET / body" "Hello, World!" "$(limited 10 curl -s "$url/")"
        check "curl GET / status" "200" "$(limited 10 curl -s -o /dev/null -w '%{http_code}' "$url/")"
        check "curl GET /nope status" "404" \
            "$(limited 10 curl -s -o /dev/null -w '%{http_code}' "$url/nope")"
        # Two URLs in one curl run share one keep-alive connection.
        local reuse
        reuse=$(limited 10 curl -sv "$url/" "$url/" 2>&1 | grep -ci 're-using\|reusing')
        check "curl keep-alive reuse" "1" "$reuse"
        notes+=("curl 200/404/keep-alive ok")
    else
        notes+=("curl missing")
    fi
    # A malformed request line: 400, then the server closes.
    local status=""
    if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
        printf 'NOT HTTP AT ALL\r\n\r\n' >&3
        IFS= read -r -t 5 status <&3
        exec 3>&-
    fi
    check "malformed request" "HTTP/1.1 400 Bad Request" "${status%$'\r'}"
    wrk_load "$url/"
    finish http_hello
}

# ---- mini_redis: redis-cli, redis-benchmark ----
redis_server() {
    local port
    port=$(free_port 16379)
    start mini_redis "$port" || { summary mini_redis FAIL "did not start"; return; }
    BAD=0
    local notes=()
    if have redis-cli; then
        local cli=(limited 10 redis-cli -h 127.0.0.1 -p "$port")
        check "PING" "PONG" "$("${cli[@]}" PING)"
        check "SET EX" "OK" "$("${cli[@]}" SET greeting hello EX 100)"
        check "GET" "hello" "$("${cli[@]}" GET greeting)"
        check "TTL" "100" "$("${cli[@]}" TTL greeting)"
        check "INCR new" "1" "$("${cli[@]}" INCR hits)"
        check "INCR again" "2" "$("${cli[@]}" INCR hits)"
        check "INCR non-integer" "ERR value is not an integer or out of range" \
            "$("${cli[@]}" INCR greeting 2>&1)"
        check "SET PX" "OK" "$("${cli[@]}" SET brief x PX 100)"
        sleep 0.3
        check "GET after PX expiry" "" "$("${cli[@]}" GET brief)"
        check "TTL after expiry" "-2" "$("${cli[@]}" TTL brief)"
        check "EXISTS/DEL" "1 1 0" \
            "$("${cli[@]}" EXISTS greeting) $("${cli[@]}" DEL greeting) $("${cli[@]}" EXISTS greeting)"
        local unknown
        unknown=$("${cli[@]}" NOSUCHCOMMAND 2>&1)
        check "unknown command" "ERR unknown command" "${unknown:0:19}"
        notes+=("redis-cli ok")
    else
        notes+=("redis-cli missing")
    fi
    if have redis-benchmark; then
        local out rates count
        out=$(limited 60 redis-benchmark -h 127.0.0.1 -p "$port" -q -n 20000 \
            -t ping,set,get,incr -P 1 2>&1 | tr '\r' '\n' | grep 'requests per second')
        count=$(printf '%s\n' "$out" | grep -c 'requests per second')
        check "redis-benchmark tests reported" "5" "$count"
        rates=$(printf '%s\n' "$out" | awk -F'[:,]' '{gsub(/ requests per second/, "", $2); printf "%s%s", sep, $1 $2; sep=", "}')
        if have redis-cli; then
            # 20000 INCRs of redis-benchmark's one key.
            check "INCR count after redis-benchmark" "20000" \
                "$(limited 10 redis-cli -h 127.0.0.1 -p "$port" GET 'counter:__rand_int__')"
        fi
        notes+=("redis-benchmark -n 20000 -P 1 ops/s: $rates")
    else
        notes+=("redis-benchmark missing")
    fi
    finish mini_redis
}

# ---- chat: two bash /dev/tcp clients ----
# expect_line FD WANT: read up to 5 lines from FD until one equals WANT (other notices, such
# as the readiness probe's own join and leave, may come first).
expect_line() {
    local fd=$1 want=$2 line="" i
    for i in 1 2 3 4 5; do
        IFS= read -r -t 5 line <&"$fd" || break
        [ "$line" == "$want" ] && return 0
    done
    check "chat line" "$want" "$line"
}

chat_server() {
    local port
    port=$(free_port 17002)
    start chat "$port" || { summary chat FAIL "did not start"; return; }
    BAD=0
    local one="" two=""
    # Names are given in arrival order; the readiness probe took one, so read them.
    if exec 3<>"/dev/tcp/127.0.0.1/$port" && IFS= read -r -t 5 one <&3 &&
        exec 4<>"/dev/tcp/127.0.0.1/$port" && IFS= read -r -t 5 two <&4; then
        one=${one#'* welcome '} two=${two#'* welcome '}
        one=${one%%;*} two=${two%%;*}
        check "chat welcome names" "guest" "${two:0:5}"
        expect_line 3 "* $two joined"
        printf 'hello from one\n' >&3
        expect_line 4 "$one: hello from one"
        printf 'hello from two\n' >&4
        expect_line 3 "$two: hello from two"
        exec 4>&-
        expect_line 3 "* $two left"
        exec 3>&-
    else
        check "chat connect" "two clients in" "failed"
    fi
    stop
    if [ $BAD -eq 0 ]; then
        summary chat ok "join, fan-out both ways, leave (bash /dev/tcp)"
    else
        summary chat FAIL "$BAD wrong answers"
    fi
}

# ---- hyper_hello: curl (HTTP/1.1 and h2c), wrk, and http_get (the pooled client) ----
hyper_server() {
    local port url
    port=$(free_port 18081)
    url="http://127.0.0.1:$port"
    start hyper_hello "$port" || { summary hyper_hello FAIL "did not start"; return; }
    BAD=0
    local notes=()
    if have curl; then
        check "curl GET / body" "Hello, World!" "$(limited 10 curl -s "$url/")"
        check "curl GET /nope status" "404" \
            "$(limited 10 curl -s -o /dev/null -w '%{http_code}' "$url/nope")"
        check "curl h2c body" "Hello, World!" "$(limited 10 curl -s --http2-prior-knowledge "$url/")"
        check "curl h2c version" "2" \
            "$(limited 10 curl -s -o /dev/null -w '%{http_version}' --http2-prior-knowledge "$url/")"
        notes+=("curl HTTP/1.1 + h2c ok")
    else
        notes+=("curl missing")
    fi
    # The pooled client: 1000 sequential GETs should take one connection.
    local got
    got=$(limited 60 "$BIN/http_get" "$url/" 1000 2>&1 | tail -1)
    check "http_get connections" "1 connection(s) opened" \
        "$(printf '%s' "$got" | grep -o '[0-9]* connection(s) opened')"
    notes+=("http_get: $(printf '%s' "$got" | sed 's/^http_get: //')")
    wrk_load "$url/"
    finish hyper_hello
}

# ---- https_hello: curl --cacert, openssl s_client ----
https_server() {
    local port cert
    port=$(free_port 18443)
    cert="$LOGDIR/https_hello.pem"
    start https_hello "$port" "$cert" || { summary https_hello FAIL "did not start"; return; }
    BAD=0
    local notes=()
    if have curl; then
        check "curl --cacert body" "Hello, World!" \
            "$(limited 10 curl -s --cacert "$cert" "https://localhost:$port/")"
        # Without the certificate the handshake must fail verification (curl exit 60).
        limited 10 curl -s -o /dev/null "https://localhost:$port/"
        check "curl without --cacert" "60" "$?"
        notes+=("curl --cacert ok, unverified refused")
    else
        notes+=("curl missing")
    fi
    if have openssl; then
        local verify
        verify=$(echo | limited 10 openssl s_client -connect "127.0.0.1:$port" \
            -servername localhost -CAfile "$cert" 2>/dev/null | grep -m1 'Verify return code')
        check "openssl s_client verify" "Verify return code: 0 (ok)" "$(printf '%s' "$verify" | sed 's/^ *//')"
        notes+=("openssl s_client verified")
    else
        notes+=("openssl missing")
    fi
    finish https_hello
}

# ---- ws_echo: curl's upgrade request, a python3 frame round trip ----
ws_server() {
    local port
    port=$(free_port 19001)
    start ws_echo "$port" || { summary ws_echo FAIL "did not start"; return; }
    BAD=0
    local notes=()
    if have curl; then
        local status
        status=$(limited 10 curl -s -i -N --max-time 2 -H 'Connection: Upgrade' \
            -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
            -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "http://127.0.0.1:$port/" | head -1)
        check "curl upgrade" "HTTP/1.1 101 Switching Protocols" "${status%$'\r'}"
        notes+=("curl upgrade 101")
    else
        notes+=("curl missing")
    fi
    if have python3; then
        # RFC 6455 by hand: handshake, one masked text frame, read the echoed frame back.
        local echoed
        echoed=$(limited 10 python3 - "$port" <<'PY'
import base64, os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
payload, mask = b"hello ws", os.urandom(4)
s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
hdr = s.recv(2)
body = b""
while len(body) < hdr[1] & 0x7F:
    body += s.recv(64)
print(body.decode())
PY
)
        check "python3 ws echo" "hello ws" "$echoed"
        notes+=("python3 text frame echoed")
    else
        notes+=("python3 missing")
    fi
    finish ws_echo
}

echo_server
http_server
redis_server
chat_server
hyper_server
https_server
ws_server

log "summary"
for line in "${SUMMARY[@]}"; do
    printf '  %s\n' "$line"
done
rm -rf "$LOGDIR"
exit $FAILED
