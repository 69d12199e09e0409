//! Soak tests: corio under sustained load, ignored by default. `scripts/soak.sh` runs them in
//! release mode, one at a time, and prints the `SOAK` lines they report.
//!
//! * `c10k_loopback_connections_held_open_with_traffic_lose_nothing` — 10,000 concurrent
//!   loopback TCP connections (client runtime on the test thread, echo server on a runtime of
//!   its own thread) held open for `CORIO_SOAK_SECS` (default 60) with traffic on every
//!   tenth: every byte sent comes back verified, no connection is dropped, RSS stays bounded.
//! * `a_million_timers_fire_once_never_early_and_cancelled_ones_never` — 1,000,000 timers
//!   (`sleep_until` in as many tasks) armed at once over 2 s, a quarter aborted; then
//!   1,000,000 timeouts armed and cancelled in a row.
//! * `a_million_tasks_spawned_in_waves_leave_nothing_behind` — 10 waves of 100,000 tasks.
//! * `slow_loris_clients_are_cut_by_http_hello_idle_timeout` — 1,000 slow-loris connections
//!   against the `http_hello` example server; each is closed one idle timeout after its last
//!   byte while a well-behaved client keeps being served.
//!
//! Each one checks at the end that the number of open file descriptors (`/proc/self/fd`) and
//! `corio::task::active_count()` are back to their baselines.
//!
//! File-descriptor limit: 10,000 connections with both ends in this process need 20,000+ fds.
//! The root package has no `libc` (and this suite may not add one), so the test raises
//! `RLIMIT_NOFILE` for itself with util-linux `prlimit(1)` on its own pid when the soft limit is
//! too low; `scripts/soak.sh` also raises it with `ulimit -n` before running. Raising the hard
//! limit needs root (or CAP_SYS_RESOURCE); without it the test says what to do.

#![cfg(target_os = "linux")]

/// The example's module tree (see tests/example_http_hello.rs for why the `#[path]` names
/// the directory).
#[allow(dead_code)]
#[path = "../examples/http_hello"]
mod http_hello {
    pub mod date;
    pub mod parse;
    pub mod server;
}

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io::ErrorKind;
use std::io::{BufRead, BufReader, Lines};
use std::net::{Shutdown, SocketAddr};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::rc::Rc;
use std::sync::Mutex;
use std::task::Poll;
use std::time::{Duration, Instant};

use corio::net::{TcpListener, TcpStream};
use corio::sync::{Event, Semaphore};
use corio::task::{active_count, yield_now, JoinSet};
use corio::time::{sleep, sleep_until, timeout};

/// The soak tests measure the whole process (fds, RSS): never two at once.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    reset_peak_rss();
    guard
}

fn env_or(key: &str, default: u64) -> u64 {
    match std::env::var(key) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{key} must be a whole number, not {v:?}")),
        Err(_) => default,
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// (VmRSS, VmHWM) of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    memory_kib_of("/proc/self/status")
}

/// (VmRSS, VmHWM) from a /proc/PID/status file, in KiB.
fn memory_kib_of(path: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(path).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Reset VmHWM to the current RSS (Linux >= 4.0), so each soak reports its own peak.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn rss_kib() -> u64 {
    memory_kib().0
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// (soft, hard) RLIMIT_NOFILE from /proc/self/limits.
fn nofile_limits() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("no 'Max open files' in /proc/self/limits");
    let mut numbers = line.split_whitespace().filter_map(|w| {
        w.parse::<u64>()
            .ok()
            .or((w == "unlimited").then_some(u64::MAX))
    });
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// Make sure this process may open `need` file descriptors.
fn ensure_nofile(need: u64) {
    let (soft, hard) = nofile_limits();
    if soft >= need {
        return;
    }
    let target = hard.max(need);
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={target}:{target}"))
        .status();
    let (soft, hard) = nofile_limits();
    assert!(
        soft >= need,
        "this soak needs {need} file descriptors but RLIMIT_NOFILE is {soft} (hard {hard}) and \
         `prlimit` could not raise it ({status:?}); run it through scripts/soak.sh as root, or \
         raise the limit first (`ulimit -n {need}`)"
    );
}

/// Run `future` on a fresh runtime; checks that fds come back to their count before the
/// runtime existed.
fn run_checked<F: Future>(name: &str, future: F) -> F::Output {
    let fds_before = open_fds();
    let out = corio::run(future);
    let fds_after = open_fds();
    assert_eq!(
        fds_after, fds_before,
        "{name}: file descriptors leaked ({fds_before} before the runtime, {fds_after} after)"
    );
    out
}

/// A 64-bit mixer for payloads and jitter.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

// ---------------------------------------------------------------------------------------
// 10,000 connections
// ---------------------------------------------------------------------------------------

/// The `echo` example (release build, made by scripts/soak.sh) as a child process holding
/// the server ends. One process cannot hold both ends of 10,000 connections under a hard
/// RLIMIT_NOFILE of 20,000 without CAP_SYS_RESOURCE, and this exercises the real example.
struct EchoChild {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    addr: SocketAddr,
}

impl EchoChild {
    fn start() -> EchoChild {
        // target/<profile>/deps/soak-HASH -> target/<profile>/examples/echo
        let exe = std::env::current_exe().unwrap();
        let echo = exe
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("examples/echo");
        assert!(
            echo.exists(),
            "{} is missing: build it with `cargo build --release --example echo` \
             (scripts/soak.sh does)",
            echo.display()
        );
        let mut child = Command::new(&echo)
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("echo printed nothing").unwrap();
        let addr = first
            .strip_prefix("echo: listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from echo: {first:?}"));
        let echo = EchoChild { child, lines, addr };
        echo.probe();
        echo
    }

    /// One blocking round trip. Once it is answered the example has also installed its
    /// SIGINT handler (a self-pipe: 2 more fds), so its fd count is at its baseline after.
    fn probe(&self) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"probe").unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"probe");
        drop(s);
        std::thread::sleep(Duration::from_millis(200));
    }

    fn proc_path(&self, what: &str) -> String {
        format!("/proc/{}/{what}", self.child.id())
    }

    fn fds(&self) -> usize {
        std::fs::read_dir(self.proc_path("fd")).unwrap().count()
    }

    fn memory_kib(&self) -> (u64, u64) {
        memory_kib_of(&self.proc_path("status"))
    }

    /// SIGINT (the example's ctrl_c, sent to its pid), then its last line:
    /// "echo: served N connections". Returns N.
    fn stop(mut self) -> u64 {
        let status = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -INT failed: {status}");
        let last = self
            .lines
            .next()
            .expect("echo exited without its summary")
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(Instant::now() < deadline, "echo did not exit on SIGINT");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(exit.success(), "echo exited with {exit}");
        last.strip_prefix("echo: served ")
            .and_then(|rest| rest.strip_suffix(" connections"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected last line from echo: {last:?}"))
    }
}

impl Drop for EchoChild {
    fn drop(&mut self) {
        // Only on a failed test: the child is normally gone already. Killed by its pid.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What the clients saw.
#[derive(Default)]
struct ClientStats {
    up: Cell<u64>,
    round_trips: Cell<u64>,
    bytes_sent: Cell<u64>,
    bytes_received: Cell<u64>,
    closed_clean: Cell<u64>,
}

/// Deterministic payload for connection `conn`, message `seq`.
fn payload(conn: u64, seq: u64, len: usize) -> Vec<u8> {
    let base = mix((conn << 32) | seq);
    (0..len)
        .map(|i| ((base >> ((i % 8) * 8)) as u8) ^ (i as u8))
        .collect()
}

async fn round_trip(
    stream: &mut TcpStream,
    msg: &[u8],
    scratch: &mut Vec<u8>,
    limit: Duration,
) -> Result<(), String> {
    timeout(limit, stream.write_all(msg))
        .await
        .map_err(|_| "write timed out".to_string())?
        .map_err(|e| format!("write: {e}"))?;
    scratch.resize(msg.len(), 0);
    timeout(limit, stream.read_exact(scratch))
        .await
        .map_err(|_| "echo timed out".to_string())?
        .map_err(|e| format!("read: {e}"))?;
    if scratch[..] != msg[..] {
        return Err("echo differs from what was sent".into());
    }
    Ok(())
}

struct ClientShared {
    addr: SocketAddr,
    connect_gate: Semaphore,
    start: Event,
    stop: Event,
    stats: ClientStats,
    active_share: u64,
    limit: Duration,
}

async fn client_conn(i: u64, shared: Rc<ClientShared>) -> Result<(), String> {
    let limit = shared.limit;
    let stats = &shared.stats;
    let mut scratch = Vec::new();
    let mut stream = {
        let _permit = shared.connect_gate.acquire().await.unwrap();
        let stream = timeout(limit, TcpStream::connect(shared.addr))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect: {e}"))?;
        let mut stream = stream;
        let hello = payload(i, 0, 24);
        round_trip(&mut stream, &hello, &mut scratch, limit).await?;
        stats.bytes_sent.set(stats.bytes_sent.get() + 24);
        stats.bytes_received.set(stats.bytes_received.get() + 24);
        stream
    };
    scratch = Vec::new();
    stats.up.set(stats.up.get() + 1);
    shared.start.wait().await;
    if i.is_multiple_of(shared.active_share) {
        let mut seq = 1;
        while !shared.stop.is_set() {
            let r = mix(i ^ (seq << 20));
            let len = 1 + (r % 4096) as usize;
            let msg = payload(i, seq, len);
            round_trip(&mut stream, &msg, &mut scratch, limit).await?;
            stats.bytes_sent.set(stats.bytes_sent.get() + len as u64);
            stats
                .bytes_received
                .set(stats.bytes_received.get() + len as u64);
            stats.round_trips.set(stats.round_trips.get() + 1);
            seq += 1;
            sleep(Duration::from_millis((r >> 40) & 15)).await;
        }
        scratch = Vec::new();
    } else {
        // Idle: nothing may arrive, and the connection may not close, until stop.
        let mut stop = std::pin::pin!(shared.stop.wait());
        let woke = timeout(
            limit + Duration::from_secs(env_or("CORIO_SOAK_SECS", 60)),
            poll_fn(|cx| {
                // Readiness may be left over from the last read (it filled the buffer
                // exactly): only data or a close is a failure, WouldBlock clears it.
                while let Poll::Ready(r) = stream.poll_read_ready(cx) {
                    let outcome = r.and_then(|()| stream.try_read(&mut [0u8; 1]));
                    match outcome {
                        Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                        Ok(0) => {
                            return Poll::Ready(Err("the server closed an idle connection".into()))
                        }
                        Ok(_) => {
                            return Poll::Ready(Err("data arrived on an idle connection".into()))
                        }
                        Err(e) => return Poll::Ready(Err(format!("idle connection: {e}"))),
                    }
                }
                stop.as_mut().poll(cx).map(Ok)
            }),
        )
        .await
        .map_err(|_| "idle wait timed out".to_string())?;
        woke?;
    }
    // The connection survived: one last round trip, then a clean close.
    let bye = payload(i, u64::MAX, 16);
    round_trip(&mut stream, &bye, &mut scratch, limit).await?;
    stats.bytes_sent.set(stats.bytes_sent.get() + 16);
    stats.bytes_received.set(stats.bytes_received.get() + 16);
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("shutdown: {e}"))?;
    let mut one = [0u8; 1];
    match timeout(limit, stream.read(&mut one)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(_)) => return Err("data after the last echo".into()),
        Ok(Err(e)) => return Err(format!("waiting for EOF: {e}")),
        Err(_) => return Err("EOF timed out".into()),
    }
    stats.closed_clean.set(stats.closed_clean.get() + 1);
    Ok(())
}

#[test]
#[ignore = "soak: 10,000 connections for CORIO_SOAK_SECS (60); run by scripts/soak.sh"]
fn c10k_loopback_connections_held_open_with_traffic_lose_nothing() {
    let _serial = serial();
    let conns = env_or("CORIO_SOAK_CONNS", 10_000);
    let secs = env_or("CORIO_SOAK_SECS", 60);
    let active_share = 10;
    let limit = Duration::from_secs(30);
    ensure_nofile(conns + 256);

    let fds_base = open_fds();
    let (rss_base, _) = memory_kib();
    let server = EchoChild::start();
    let server_fds_base = server.fds();
    let shared = Rc::new(ClientShared {
        addr: server.addr,
        connect_gate: Semaphore::new(256),
        start: Event::new(),
        stop: Event::new(),
        stats: ClientStats::default(),
        active_share,
        limit,
    });

    let client_fds_before = open_fds();
    let mut server_mem_up = (0, 0);
    let mut server_mem_end = (0, 0);
    let mut server_fds_up = 0;
    let report = corio::run({
        let (shared, server) = (shared.clone(), &server);
        let (server_mem_up, server_mem_end, server_fds_up) =
            (&mut server_mem_up, &mut server_mem_end, &mut server_fds_up);
        async move {
            let tasks_base = active_count();
            let setup = Instant::now();
            let mut clients = JoinSet::new();
            for i in 0..conns {
                clients.spawn(client_conn(i, shared.clone()));
            }
            let up = timeout(Duration::from_secs(300), async {
                while shared.stats.up.get() < conns {
                    // A connection that fails during setup ends its task: report it now.
                    let early = poll_fn(|cx| match clients.poll_join_next(cx) {
                        Poll::Ready(r) => Poll::Ready(r),
                        Poll::Pending => Poll::Ready(None),
                    })
                    .await;
                    if let Some(r) = early {
                        panic!("a connection ended during setup: {r:?}");
                    }
                    sleep(Duration::from_millis(20)).await;
                }
            })
            .await;
            assert!(
                up.is_ok(),
                "only {} of {conns} connections came up in 300 s",
                shared.stats.up.get()
            );
            let setup_time = setup.elapsed();
            let fds_up = open_fds();
            let rss_up = rss_kib();
            *server_fds_up = server.fds();
            *server_mem_up = server.memory_kib();
            assert!(
                fds_up as u64 >= client_fds_before as u64 + conns,
                "the client ends of {conns} connections are open ({fds_up} fds)"
            );
            assert!(
                *server_fds_up as u64 >= server_fds_base as u64 + conns,
                "the server ends of {conns} connections are open ({server_fds_up} fds)"
            );

            shared.start.set();
            let steady = Instant::now();
            let mut rss_max = rss_up;
            let mut rss_samples = Vec::new();
            while steady.elapsed() < Duration::from_secs(secs) {
                sleep(Duration::from_secs(1)).await;
                let rss = rss_kib();
                rss_max = rss_max.max(rss);
                rss_samples.push((rss, server.memory_kib().0));
                let t = steady.elapsed().as_secs();
                if t.is_multiple_of(10) {
                    eprintln!(
                        "c10k: {t:>3} s  round trips {}  bytes {}  rss client {} server {}",
                        shared.stats.round_trips.get(),
                        shared.stats.bytes_sent.get(),
                        mib(rss),
                        mib(server.memory_kib().0)
                    );
                }
            }
            let rss_traffic_end = rss_kib();
            *server_mem_end = server.memory_kib();
            let steady_time = steady.elapsed();
            shared.stop.set();
            let closing = Instant::now();
            let mut failures = Vec::new();
            loop {
                match timeout(Duration::from_secs(120), clients.join_next()).await {
                    Ok(Some(Ok(Ok(())))) => {}
                    Ok(Some(Ok(Err(e)))) => failures.push(e),
                    Ok(Some(Err(e))) => failures.push(format!("client task: {e}")),
                    Ok(None) => break,
                    Err(_) => panic!("clients did not finish closing within 120 s"),
                }
            }
            let close_time = closing.elapsed();
            assert_eq!(active_count(), tasks_base, "client tasks left behind");
            C10kRun {
                setup_time,
                steady_time,
                close_time,
                fds_up,
                rss_up,
                rss_max,
                rss_traffic_end,
                rss_samples,
                failures,
            }
        }
    });
    // The server closes its ends once it has read each EOF.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.fds() != server_fds_base && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let server_fds_end = server.fds();
    let served = server.stop();
    let (rss_end, hwm) = memory_kib();
    let fds_end = open_fds();

    let stats = &shared.stats;
    let run = report;
    println!(
        "SOAK c10k: connections={conns} active={} secs={:.1} setup={:.2}s close={:.2}s \
         round_trips={} bytes_each_way={} (sent {} received {} verified) served={served} \
         client rss: base={} all_up={} max={} traffic_end={} end={} hwm={} \
         server (examples/echo) rss: all_up={} traffic_end={} hwm={} \
         fds: client base={fds_base} all_up={} end={fds_end}; server base={server_fds_base} \
         all_up={server_fds_up} end={server_fds_end}",
        conns.div_ceil(active_share),
        run.steady_time.as_secs_f64(),
        run.setup_time.as_secs_f64(),
        run.close_time.as_secs_f64(),
        stats.round_trips.get(),
        stats.bytes_sent.get(),
        stats.bytes_sent.get(),
        stats.bytes_received.get(),
        mib(rss_base),
        mib(run.rss_up),
        mib(run.rss_max),
        mib(run.rss_traffic_end),
        mib(rss_end),
        mib(hwm),
        mib(server_mem_up.0),
        mib(server_mem_end.0),
        mib(server_mem_end.1),
        run.fds_up,
    );
    assert!(
        run.failures.is_empty(),
        "{} connections failed, first: {:?}",
        run.failures.len(),
        run.failures.first()
    );
    assert_eq!(stats.up.get(), conns);
    assert_eq!(
        stats.closed_clean.get(),
        conns,
        "every connection closed cleanly"
    );
    assert_eq!(
        stats.bytes_sent.get(),
        stats.bytes_received.get(),
        "bytes lost"
    );
    assert!(stats.round_trips.get() > 0, "traffic flowed");
    assert_eq!(
        served,
        conns + 1,
        "the server accepted every connection once (+ the probe)"
    );
    assert_eq!(
        server_fds_end, server_fds_base,
        "the server leaked file descriptors"
    );
    assert_eq!(fds_end, fds_base, "the clients leaked file descriptors");
    // Bounded memory: no growth in the second half of the traffic phase over the level
    // after 10 s (no per-round-trip leak), on either side.
    if run.rss_samples.len() >= 20 {
        let (warm_client, warm_server) = run.rss_samples[9];
        let late = &run.rss_samples[run.rss_samples.len() / 2..];
        let late_client = late.iter().map(|s| s.0).max().unwrap();
        let late_server = late.iter().map(|s| s.1).max().unwrap();
        assert!(
            late_client <= warm_client + 16 * 1024,
            "client RSS grew during steady traffic: {} after 10 s, {} later",
            mib(warm_client),
            mib(late_client)
        );
        assert!(
            late_server <= warm_server + 16 * 1024,
            "server RSS grew during steady traffic: {} after 10 s, {} later",
            mib(warm_server),
            mib(late_server)
        );
    }
    // And absolute budgets for 10,000 connections (see RELIABILITY.md for measured values).
    assert!(
        server_mem_end.1 <= 16 * 1024 + conns * 2,
        "server peak RSS {} is over 16 MiB + 2 KiB per connection",
        mib(server_mem_end.1)
    );
    assert!(
        hwm <= rss_base + 16 * 1024 + conns * 4,
        "client peak RSS {} is over 16 MiB + 4 KiB per connection",
        mib(hwm)
    );
}

/// What the client side of the c10k soak measured.
struct C10kRun {
    setup_time: Duration,
    steady_time: Duration,
    close_time: Duration,
    fds_up: usize,
    rss_up: u64,
    rss_max: u64,
    rss_traffic_end: u64,
    rss_samples: Vec<(u64, u64)>,
    failures: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// 1,000,000 timers
// ---------------------------------------------------------------------------------------

#[test]
#[ignore = "soak: 1,000,000 timers; run by scripts/soak.sh"]
fn a_million_timers_fire_once_never_early_and_cancelled_ones_never() {
    let _serial = serial();
    const TIMERS: u64 = 1_000_000;
    const SPREAD_MS: u64 = 2_000;
    let (rss_base, _) = memory_kib();
    run_checked("timers", async {
        let tasks_base = active_count();
        let fired = Rc::new(Cell::new(0u64));
        let early = Rc::new(Cell::new(0u64));
        let cancelled_ran = Rc::new(Cell::new(0u64));
        // Lateness histogram in ms buckets (last bucket: >= 1 s).
        let late = Rc::new(RefCell::new(vec![0u64; 1001]));
        let start = Instant::now();
        let mut cancelled = Vec::with_capacity(TIMERS as usize / 4);
        for i in 0..TIMERS {
            // The deadline is fixed here, when the timer is armed, and is at least 1 s away:
            // every task has had its first poll (and armed its timer) before any is due, so
            // lateness measures the wheel and the loop, not the run queue.
            let due = start + Duration::from_millis(1_000 + mix(i) % SPREAD_MS);
            if i % 4 == 3 {
                let ran = cancelled_ran.clone();
                cancelled.push(corio::spawn(async move {
                    sleep_until(due).await;
                    ran.set(ran.get() + 1);
                }));
            } else {
                let (fired, early, late) = (fired.clone(), early.clone(), late.clone());
                drop(corio::spawn(async move {
                    sleep_until(due).await;
                    let now = Instant::now();
                    if now < due {
                        early.set(early.get() + 1);
                    }
                    let ms = now.saturating_duration_since(due).as_millis().min(1000) as usize;
                    late.borrow_mut()[ms] += 1;
                    fired.set(fired.get() + 1);
                }));
            }
        }
        for handle in &cancelled {
            handle.abort();
        }
        let armed_in = start.elapsed();
        let rss_armed = rss_kib();
        let expected = TIMERS - TIMERS / 4;
        let finished = timeout(Duration::from_secs(120), async {
            while fired.get() < expected {
                sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(
            finished.is_ok(),
            "only {} of {expected} timers fired in 120 s",
            fired.get()
        );
        let all_fired_in = start.elapsed();
        // Past every deadline: nothing more may fire.
        sleep(Duration::from_millis(200)).await;
        drop(cancelled);
        for _ in 0..10 {
            yield_now().await;
        }
        assert_eq!(fired.get(), expected, "a timer fired twice");
        assert_eq!(early.get(), 0, "a timer fired before its deadline");
        assert_eq!(cancelled_ran.get(), 0, "a cancelled timer ran");
        assert_eq!(active_count(), tasks_base, "timer tasks left behind");
        let late = late.borrow().clone();
        let percentile = |p: f64| {
            let target = (expected as f64 * p).ceil() as u64;
            let mut seen = 0;
            late.iter()
                .position(|&n| {
                    seen += n;
                    seen >= target
                })
                .unwrap()
        };
        let max_late = late.iter().rposition(|&n| n > 0).unwrap();
        assert!(max_late < 1000, "a timer fired 1 s or more late");

        // Churn: a million timeouts armed and cancelled one after the other.
        let churn = Instant::now();
        for _ in 0..TIMERS {
            timeout(Duration::from_secs(10), yield_now()).await.unwrap();
        }
        let churn_time = churn.elapsed();
        let (rss_end, hwm) = memory_kib();
        println!(
            "SOAK timers: sleep_until timers={TIMERS} in as many tasks (aborted {}) due over {SPREAD_MS} ms from 1 s after the start; \
             spawned in {:.2}s ({:.0}/s); all fired {:.2}s after the start; \
             lateness ms p50={} p99={} p99.9={} max={}; \
             timeout churn: {TIMERS} armed+cancelled in {:.2}s ({:.0}/s); \
             rss: base={} armed={} end={} hwm={}",
            TIMERS / 4,
            armed_in.as_secs_f64(),
            TIMERS as f64 / armed_in.as_secs_f64(),
            all_fired_in.as_secs_f64(),
            percentile(0.5),
            percentile(0.99),
            percentile(0.999),
            max_late,
            churn_time.as_secs_f64(),
            TIMERS as f64 / churn_time.as_secs_f64(),
            mib(rss_base),
            mib(rss_armed),
            mib(rss_end),
            mib(hwm),
        );
        assert!(
            rss_armed.saturating_sub(rss_base) < 2 * 1024 * 1024,
            "over 2 GiB for a million timers"
        );
    });
}

// ---------------------------------------------------------------------------------------
// 1,000,000 tasks in waves
// ---------------------------------------------------------------------------------------

#[test]
#[ignore = "soak: 1,000,000 tasks in waves; run by scripts/soak.sh"]
fn a_million_tasks_spawned_in_waves_leave_nothing_behind() {
    let _serial = serial();
    const WAVES: u64 = 10;
    const PER_WAVE: u64 = 100_000;
    let (rss_base, _) = memory_kib();
    run_checked("tasks", async {
        let tasks_base = active_count();
        let mut rss_after_wave = Vec::new();
        let mut wave_times = Vec::new();
        let total = Instant::now();
        for wave in 0..WAVES {
            let t = Instant::now();
            let ran = Rc::new(Cell::new(0u64));
            let sum: u64 = match wave % 3 {
                // JoinHandles awaited in order.
                0 => {
                    let handles: Vec<_> = (0..PER_WAVE)
                        .map(|i| {
                            let ran = ran.clone();
                            corio::spawn(async move {
                                yield_now().await;
                                ran.set(ran.get() + 1);
                                i
                            })
                        })
                        .collect();
                    let mut sum = 0;
                    for h in handles {
                        sum += h.await.unwrap();
                    }
                    sum
                }
                // A JoinSet, joined as they finish.
                1 => {
                    let mut set = JoinSet::new();
                    for i in 0..PER_WAVE {
                        let ran = ran.clone();
                        set.spawn(async move {
                            yield_now().await;
                            ran.set(ran.get() + 1);
                            i
                        });
                    }
                    let mut sum = 0;
                    while let Some(r) = set.join_next().await {
                        sum += r.unwrap();
                    }
                    sum
                }
                // Detached: handles dropped at once; completion seen through a counter.
                _ => {
                    let sum = Rc::new(Cell::new(0u64));
                    for i in 0..PER_WAVE {
                        let (ran, sum) = (ran.clone(), sum.clone());
                        drop(corio::spawn(async move {
                            yield_now().await;
                            ran.set(ran.get() + 1);
                            sum.set(sum.get() + i);
                        }));
                    }
                    timeout(Duration::from_secs(60), async {
                        while ran.get() < PER_WAVE {
                            yield_now().await;
                        }
                    })
                    .await
                    .expect("detached tasks did not all run");
                    // Let the last ones be released.
                    yield_now().await;
                    sum.get()
                }
            };
            assert_eq!(ran.get(), PER_WAVE, "wave {wave}: every task ran once");
            assert_eq!(sum, PER_WAVE * (PER_WAVE - 1) / 2, "wave {wave}: outputs");
            assert_eq!(active_count(), tasks_base, "wave {wave}: tasks left behind");
            wave_times.push(t.elapsed());
            rss_after_wave.push(rss_kib());
        }
        let total_time = total.elapsed();
        let (_, hwm) = memory_kib();
        let fastest = wave_times.iter().min().unwrap().as_secs_f64();
        let slowest = wave_times.iter().max().unwrap().as_secs_f64();
        println!(
            "SOAK tasks: {} tasks in {WAVES} waves of {PER_WAVE} (handles / JoinSet / detached) \
             in {:.2}s ({:.0} tasks/s spawned+run+joined); wave {:.3}-{:.3}s; \
             rss: base={} after wave 1={} after wave {WAVES}={} hwm={}",
            WAVES * PER_WAVE,
            total_time.as_secs_f64(),
            (WAVES * PER_WAVE) as f64 / total_time.as_secs_f64(),
            fastest,
            slowest,
            mib(rss_base),
            mib(rss_after_wave[0]),
            mib(*rss_after_wave.last().unwrap()),
            mib(hwm),
        );
        // Memory is reused wave after wave: the last waves cost no more than the first ones.
        let early_max = *rss_after_wave[..3].iter().max().unwrap();
        let late_max = *rss_after_wave[WAVES as usize - 3..].iter().max().unwrap();
        assert!(
            late_max <= early_max + 16 * 1024,
            "RSS grows wave after wave: {} then {}",
            mib(early_max),
            mib(late_max)
        );
    });
}

// ---------------------------------------------------------------------------------------
// Slow loris against http_hello
// ---------------------------------------------------------------------------------------

/// How one loris behaves: its partial head, then some drips shorter than the idle timeout,
/// then silence; returns how long after its last byte the server closed it.
async fn loris(
    addr: SocketAddr,
    gate: Rc<Semaphore>,
    drips: u32,
    gap: Duration,
    limit: Duration,
) -> Result<Duration, String> {
    let mut stream = {
        let _permit = gate.acquire().await.unwrap();
        timeout(limit, TcpStream::connect(addr))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect: {e}"))?
    };
    let send = |stream: &TcpStream, bytes: &[u8]| -> Result<(), String> {
        match stream.try_write(bytes) {
            Ok(n) if n == bytes.len() => Ok(()),
            other => Err(format!("a tiny write did not go out at once: {other:?}")),
        }
    };
    send(&stream, b"GET / HTTP/1.1\r\nHost: soak\r\nX-Loris: ")?;
    // http_hello wants a request head complete within one idle timeout of its first byte
    // (its head deadline), so the cut is measured from the first byte: the drips are
    // activity, but they do not buy time.
    let first = Instant::now();
    for _ in 0..drips {
        sleep(gap).await;
        send(&stream, b"z")?;
    }
    let mut buf = [0u8; 256];
    match timeout(limit, stream.read(&mut buf)).await {
        Ok(Ok(0)) => Ok(first.elapsed()),
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionReset => Ok(first.elapsed()),
        Ok(Ok(n)) => Err(format!(
            "the server answered a partial head: {:?}",
            &buf[..n]
        )),
        Ok(Err(e)) => Err(format!("read: {e}")),
        Err(_) => Err(format!("not cut within {limit:?} of its drips")),
    }
}

#[test]
#[ignore = "soak: 1,000 slow-loris clients against http_hello; run by scripts/soak.sh"]
fn slow_loris_clients_are_cut_by_http_hello_idle_timeout() {
    let _serial = serial();
    const LORISES: u64 = 1_000;
    const IDLE: Duration = Duration::from_millis(500);
    ensure_nofile(2 * LORISES + 256);
    let (rss_base, _) = memory_kib();
    run_checked("slow loris", async {
        let tasks_base = active_count();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = http_hello::server::Config {
            idle_timeout: IDLE,
            ..Default::default()
        };
        let server = corio::spawn(http_hello::server::serve(listener, config));
        let limit = IDLE * 10;
        let gate = Rc::new(Semaphore::new(200));
        let start = Instant::now();
        let mut lorises = JoinSet::new();
        for i in 0..LORISES {
            // 0 to 3 drips, each well inside the idle timeout, then silence.
            let drips = (i % 4) as u32;
            lorises.spawn(loris(addr, gate.clone(), drips, IDLE / 3, limit));
        }
        // A well-behaved keep-alive client, served all along.
        let good = corio::spawn(async move {
            let mut stream = timeout(limit, TcpStream::connect(addr))
                .await
                .unwrap()
                .unwrap();
            let mut latencies = Vec::new();
            let mut buf = vec![0u8; 4096];
            let until = Instant::now() + IDLE * 4;
            while Instant::now() < until {
                let t = Instant::now();
                timeout(
                    limit,
                    stream.write_all(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n"),
                )
                .await
                .unwrap()
                .unwrap();
                let mut got = Vec::new();
                while !got.ends_with(b"Hello, World!") {
                    let n = timeout(limit, stream.read(&mut buf))
                        .await
                        .unwrap()
                        .unwrap();
                    assert!(n > 0, "the good client was cut");
                    got.extend_from_slice(&buf[..n]);
                }
                assert!(
                    got.starts_with(b"HTTP/1.1 200"),
                    "{}",
                    String::from_utf8_lossy(&got)
                );
                latencies.push(t.elapsed());
                sleep(IDLE / 10).await;
            }
            latencies
        });
        let mut cut_after = Vec::new();
        while let Some(r) = timeout(limit * 2, lorises.join_next())
            .await
            .expect("lorises stranded")
        {
            match r.unwrap() {
                Ok(d) => cut_after.push(d),
                Err(e) => panic!("a loris was not handled: {e}"),
            }
        }
        let all_cut = start.elapsed();
        let latencies = good.await.unwrap();
        let fds_after = open_fds();
        // The server's connection tasks end with their connections.
        timeout(Duration::from_secs(5), async {
            while active_count() > tasks_base + 1 {
                sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("server connection tasks left behind");
        server.abort();
        let _ = server.await;
        assert_eq!(active_count(), tasks_base);
        cut_after.sort();
        let (min, max) = (cut_after[0], *cut_after.last().unwrap());
        let avg = cut_after.iter().sum::<Duration>() / cut_after.len() as u32;
        let worst_latency = latencies.iter().max().unwrap();
        let (rss_end, hwm) = memory_kib();
        println!(
            "SOAK loris: {LORISES} slow-loris connections (partial head, 0-3 drips every {} ms, \
             then silence) vs http_hello idle_timeout {} ms: all cut in {:.2}s; cut after first \
             byte min={} ms avg={} ms max={} ms; good client {} requests, worst latency {:.1} ms; \
             fds after the lorises={fds_after}; rss base={} end={} hwm={}",
            (IDLE / 3).as_millis(),
            IDLE.as_millis(),
            all_cut.as_secs_f64(),
            min.as_millis(),
            avg.as_millis(),
            max.as_millis(),
            latencies.len(),
            worst_latency.as_secs_f64() * 1000.0,
            mib(rss_base),
            mib(rss_end),
            mib(hwm),
        );
        assert_eq!(cut_after.len() as u64, LORISES);
        assert!(
            min + Duration::from_millis(5) >= IDLE,
            "a loris was cut before its head deadline (first byte + idle timeout): {min:?}"
        );
        assert!(
            max <= IDLE + Duration::from_secs(1),
            "a loris outlived its head deadline by over 1 s: {max:?}"
        );
        assert!(
            *worst_latency < Duration::from_secs(1),
            "the good client waited {worst_latency:?}"
        );
        assert!(latencies.len() >= 10);
    });
}

/// A loris that drips one byte every half idle timeout, forever: the classic attack. A
/// server with a deadline for the whole request head (nginx's `client_header_timeout`)
/// cuts it; http_hello only has an idle timeout, reset by every byte that arrives.
#[test]
#[ignore = "soak: runs for several idle timeouts; scripts/soak.sh runs it"]
fn a_loris_dripping_faster_than_the_idle_timeout_is_cut_by_a_head_deadline() {
    let _serial = serial();
    const IDLE: Duration = Duration::from_millis(300);
    run_checked("fast-drip loris", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = http_hello::server::Config {
            idle_timeout: IDLE,
            ..Default::default()
        };
        let server = corio::spawn(http_hello::server::serve(listener, config));
        let mut stream = timeout(IDLE * 10, TcpStream::connect(addr))
            .await
            .unwrap()
            .unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nX-Loris: ")
            .await
            .unwrap();
        let start = Instant::now();
        let mut cut = false;
        // 10 idle timeouts of dripping; 20 bytes, far below the 8 KiB head limit.
        while start.elapsed() < IDLE * 10 {
            sleep(IDLE / 2).await;
            if stream.try_write(b"z").is_err() {
                cut = true;
                break;
            }
            let mut buf = [0u8; 64];
            match timeout(Duration::from_millis(1), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    cut = true;
                    break;
                }
                _ => {}
            }
        }
        server.abort();
        assert!(
            cut,
            "a request head dripped over {:?} (10 idle timeouts) was never cut",
            start.elapsed()
        );
    });
}
