#!/usr/bin/env bash
# mini_redis against the memory attacks of issue 11 ("Fair under load"), on loopback, each
# case in a fresh server under `prlimit --as=2147483648` (2 GiB of address space, as in the
# issue). For each case: the server's peak RSS (VmHWM), its RSS after the case (VmRSS), and
# whether it survived (still answers PING). The client is python3.
#
#   1. SET k <1 MB>, then 3,000 x GET k in one send; the client does not read for 2 s, then
#      reads slowly for 1 s, then reads all 3 GB and checks every byte count (target: peak
#      RSS under 64 MiB; before the fix: killed, "memory allocation of 4096040960 bytes").
#   2. 10 clients each holding an unfinished 16 MiB SET (all but its last byte), with
#      --request-timeout 3: RSS while held, then after the server cut them.
#   2b. the same with --max-request-len 4194304: refused at 4 MiB each.
#   3. SET k <16 MiB>, 10 clients GET k and never read, with --idle-timeout 3: RSS while
#      the replies are pending (sent from the stored value, not copied), then after the cut.
#
# Usage: scripts/redis-limits.sh        (builds the release example first)
# Exit status: 0 when every case survived and case 1 stayed under 64 MiB, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example mini_redis >&2
exec python3 - target/release/examples/mini_redis <<'PY'
import os, socket, subprocess, sys, time

BIN = sys.argv[1]
LIMIT = ["prlimit", "--as=2147483648"]
MIB = 1024 * 1024
failed = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid, field):
    """A /proc/PID/status field in KiB (VmHWM, VmRSS), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return None


def mib(kib):
    return "gone" if kib is None else f"{kib / 1024:.1f} MiB"


class Server:
    def __init__(self, *flags):
        self.port = free_port()
        # prlimit sets the limit on itself and execs the server: same PID.
        self.proc = subprocess.Popen(LIMIT + [BIN, f"127.0.0.1:{self.port}", *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening" not in line:
            raise SystemExit(f"server did not start: {line!r} {self.proc.stderr.read()}")

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def hwm(self):
        return status(self.proc.pid, "VmHWM")

    def rss(self):
        return status(self.proc.pid, "VmRSS")

    def alive(self):
        """Still running and answering PING on a new connection."""
        if self.proc.poll() is not None:
            return False
        try:
            with self.connect() as s:
                s.sendall(b"PING\r\n")
                return s.recv(16) == b"+PONG\r\n"
        except OSError:
            return False

    def stop(self):
        code = self.proc.poll()
        if code is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            return "ok"
        return f"died (exit {code}): {self.proc.stderr.read().strip()[-200:]}"


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_exactly(s, n):
    got = 0
    while got < n:
        chunk = s.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError(f"EOF after {got} of {n} bytes")
        got += len(chunk)


def report(name, srv, extra, target_mib=None):
    peak = srv.hwm()
    survived = srv.alive()
    verdict = "survived" if survived else "DID NOT SURVIVE"
    line = f"{name}: peak RSS {mib(peak)}; {extra}; server {verdict}"
    if target_mib is not None:
        within = peak is not None and peak / 1024 < target_mib
        line += f" (target < {target_mib} MiB: {'met' if within else 'MISSED'})"
        if not within:
            failed.append(name)
    if not survived:
        failed.append(name)
    print(line + f"; stop: {srv.stop()}", flush=True)


# ---- 1. 3,000 x GET of a 1 MB value in one send ----
srv = Server()
value = b"v" * 1_000_000
c = srv.connect()
c.sendall(command(b"SET", b"k", value))
assert c.recv(5) == b"+OK\r\n"
c.sendall(command(b"GET", b"k") * 3000)
time.sleep(2)
unread = srv.rss()
reply = len(b"$1000000\r\n") + len(value) + 2
total = 3000 * reply
taken = 0
for _ in range(200):  # slowly: 64 KiB every 5 ms
    chunk = c.recv(64 * 1024)
    taken += len(chunk)
    time.sleep(0.005)
slow = srv.rss()
started = time.time()
read_exactly(c, total - taken)
secs = time.time() - started
c.close()
report("1. SET 1 MB + 3000 x GET, one send", srv,
       f"RSS {mib(unread)} while unread, {mib(slow)} while read slowly; "
       f"all {total / 1e9:.1f} GB of replies arrived ({secs:.1f} s)", target_mib=64)

# ---- 2. ten unfinished 16 MiB SETs ----
for name, flags in [("2. 10 x unfinished 16 MiB SET", ["--request-timeout", "3"]),
                    ("2b. same, --max-request-len 4 MiB", ["--max-request-len", str(4 * MIB)])]:
    srv = Server(*flags)
    header = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (16 * MIB)
    clients, refused = [], 0
    for _ in range(10):
        s = srv.connect()
        try:
            s.sendall(header + b"x" * (16 * MIB - 1))
        except OSError:
            refused += 1
        clients.append(s)
    time.sleep(1)
    held = srv.rss()
    cut = 0
    for s in clients:
        s.settimeout(10)
        try:
            while s.recv(65536):
                pass
            cut += 1
        except OSError:
            cut += 1
        s.close()
    time.sleep(0.5)
    report(name, srv, f"RSS {mib(held)} while held; {cut}/10 closed by the server"
           f"{f' ({refused} refused while sending)' if refused else ''}; "
           f"RSS {mib(srv.rss())} after")

# ---- 3. ten clients never reading a 16 MiB GET ----
srv = Server("--idle-timeout", "3")
c = srv.connect()
c.sendall(command(b"SET", b"k", b"g" * (16 * MIB)))
assert c.recv(5) == b"+OK\r\n"
readers = []
for _ in range(10):
    s = srv.connect()
    s.sendall(command(b"GET", b"k"))
    readers.append(s)
time.sleep(1)
held = srv.rss()
time.sleep(4)  # past the idle timeout: the server drops the non-readers
after = srv.rss()
for s in readers:
    s.close()
c.close()
report("3. 10 x never-read GET of a 16 MiB value", srv,
       f"RSS {mib(held)} while pending, {mib(after)} after the idle timeout cut them")

sys.exit(1 if failed else 0)
PY
