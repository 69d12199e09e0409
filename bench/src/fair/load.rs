//! The fairness load: K canaries doing single round trips beside N hogs that pipeline
//! without pause, against one server; what the canaries waited is the measure.
//!
//! Plain std threads and blocking sockets, not corio: the client must not share the defect
//! it measures (a hog task holding the client's own loop would look like server latency),
//! and the OS scheduler gives each canary thread its turn whatever the hogs do.
//!
//! ```text
//!  coordinator                 canary thread × K                hog × N (writer + reader thread)
//!  ───────────                 ─────────────────                ─────────────────────────────────
//!  wait: all canaries up  ◄─── connect, one round trip
//!  wait: all hogs up      ◄──────────────────────────────────── connect (+ redis SET)
//!  go ───────────────────────► loop: send, read the reply,     writer: batch after batch, never
//!                              record, pause --interval         waiting; reader: read, count replies
//!  sleep(warm-up); measuring = true; sleep(window); measuring = false; stop
//!                              a round trip still unanswered at stop is recorded at its elapsed
//!                              time (and counted as stuck): a canary the server starves shows
//!                              up as a huge max, never as a missing sample
//! ```
//!
//! Every socket has 100 ms read and write timeouts, so each thread sees `stop` within about
//! 100 ms whatever the server does, and the whole run is bounded by the connect deadline plus
//! warm-up plus window plus that.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::proto::Proto;
pub use crate::client::Phase;

/// How long connecting and the first round trip of every connection may take.
const SETUP_DEADLINE: Duration = Duration::from_secs(10);

/// Socket read/write timeout: how often a blocked thread looks at `stop`.
const POLL: Duration = Duration::from_millis(100);

/// A canary's reply buffer; a longer reply is an error (the canaries ask for short ones).
const CANARY_BUF: usize = 64 * 1024;

/// A hog reader's buffer.
const HOG_BUF: usize = 256 * 1024;

/// One fairness run against one server.
#[derive(Debug, Clone)]
pub struct FairSpec {
    /// Server address (loopback).
    pub addr: SocketAddr,
    /// Protocol.
    pub proto: Proto,
    /// Pipelining connections.
    pub hogs: usize,
    /// Round-trip connections (at least 1).
    pub canaries: usize,
    /// Pause between a canary's round trips.
    pub interval: Duration,
    /// After go, before measuring (the hogs fill the pipes).
    pub warmup: Duration,
    /// The measured window.
    pub window: Duration,
}

/// What the canaries and hogs saw in the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FairOutcome {
    /// Canary round trips recorded (those still unanswered at the end included).
    pub canary_round_trips: u64,
    /// Canary round-trip latency, microseconds: median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Worst.
    pub max_us: f64,
    /// Canary round trips still unanswered when the window closed (recorded at their age).
    pub stuck_at_end: u64,
    /// Canary connections that failed in the window (each reconnects).
    pub canary_errors: u64,
    /// Replies the hogs read in the window.
    pub hog_replies: u64,
    /// Hog replies per second.
    pub hog_replies_per_sec: f64,
    /// Hog reply bytes per second, MiB/s.
    pub hog_mib_per_sec: f64,
    /// Hog connections that failed (or that the server closed) in the run; a failed hog
    /// stops hogging.
    pub hog_errors: u64,
    /// The longest a canary's pause between round trips overran `--interval` in the window,
    /// microseconds: time the client thread itself did not run (a busy machine). When it
    /// is near the max round trip, the client, not the server, made the tail.
    pub client_stall_max_us: f64,
    /// The first error any connection saw, if one did.
    pub first_error: Option<String>,
    /// Actual window length, seconds.
    pub secs: f64,
    /// Server CPU time / window (1.0 = one core), when the caller measured it.
    pub server_cpu_util: Option<f64>,
    /// CPU time of every other process on the machine / window, in cores (machine busy
    /// time minus server and client), when the caller measured it. Above ~0.1 the run
    /// shared its CPUs and its tail latencies are noisy.
    pub other_cpu_util: Option<f64>,
    /// The server loop's task polls per message (canary round trip or hog reply), from its
    /// runtime metrics when the caller sampled them (corio only).
    pub server_polls_per_msg: Option<f64>,
    /// Polls the server's cooperative budget cut short, per second (corio only).
    pub server_forced_yields_per_sec: Option<f64>,
    /// Share of the window the server loop was busy, 0 to 1 (corio only).
    pub server_busy_ratio: Option<f64>,
}

/// Why a run could not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// A connection could not be made or got no first answer.
    Unreachable(String),
    /// Something else failed.
    Failed(String),
}

/// What the coordinator and the client threads share.
#[derive(Default)]
struct Control {
    canaries_up: AtomicUsize,
    hogs_up: AtomicUsize,
    go: AtomicBool,
    measuring: AtomicBool,
    stop: AtomicBool,
    setup_error: Mutex<Option<String>>,
    first_error: Mutex<Option<String>>,
    stuck: AtomicU64,
    client_stall_max_ns: AtomicU64,
    canary_errors: AtomicU64,
    hog_errors: AtomicU64,
    hog_replies: AtomicU64,
    hog_bytes: AtomicU64,
}

impl Control {
    fn note(slot: &Mutex<Option<String>>, err: String) {
        slot.lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(err);
    }

    fn read(slot: &Mutex<Option<String>>) -> Option<String> {
        slot.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn stopped(&self) -> bool {
        self.stop.load(Relaxed)
    }
}

/// Run the canaries and hogs `spec` describes. Blocks for the whole run. `probe` runs
/// right before the window opens and right after it closes (to sample `/proc`); an error
/// from it fails the run.
pub fn run(
    spec: &FairSpec,
    probe: &mut dyn FnMut(Phase) -> Result<(), String>,
) -> Result<FairOutcome, RunError> {
    let ctl = Arc::new(Control::default());
    let mut canaries: Vec<JoinHandle<Histogram<u64>>> = Vec::new();
    let mut hogs: Vec<JoinHandle<()>> = Vec::new();
    let result = start_and_measure(spec, &ctl, &mut canaries, &mut hogs, probe);
    // Whatever happened, every thread ends before we return.
    ctl.stop.store(true, Relaxed);
    let mut hist = new_histogram();
    for canary in canaries {
        match canary.join() {
            Ok(h) => hist.add(&h).map_err(|e| RunError::Failed(e.to_string()))?,
            Err(_) => return Err(RunError::Failed("a canary thread panicked".into())),
        }
    }
    for hog in hogs {
        hog.join()
            .map_err(|_| RunError::Failed("a hog thread panicked".into()))?;
    }
    let (elapsed, hog_replies, hog_bytes) = result?;
    let secs = elapsed.as_secs_f64();
    let us = |v: u64| v as f64 / 1000.0;
    Ok(FairOutcome {
        canary_round_trips: hist.len(),
        p50_us: us(hist.value_at_quantile(0.5)),
        p99_us: us(hist.value_at_quantile(0.99)),
        max_us: us(hist.max()),
        stuck_at_end: ctl.stuck.load(Relaxed),
        canary_errors: ctl.canary_errors.load(Relaxed),
        hog_replies,
        hog_replies_per_sec: hog_replies as f64 / secs,
        hog_mib_per_sec: hog_bytes as f64 / secs / (1024.0 * 1024.0),
        hog_errors: ctl.hog_errors.load(Relaxed),
        client_stall_max_us: us(ctl.client_stall_max_ns.load(Relaxed)),
        first_error: Control::read(&ctl.first_error),
        secs,
        server_cpu_util: None,
        other_cpu_util: None,
        server_polls_per_msg: None,
        server_forced_yields_per_sec: None,
        server_busy_ratio: None,
    })
}

/// Start the threads, wait for them to be up, time warm-up and window. Returns the window
/// length and the hog replies and reply bytes read inside it.
fn start_and_measure(
    spec: &FairSpec,
    ctl: &Arc<Control>,
    canaries: &mut Vec<JoinHandle<Histogram<u64>>>,
    hogs: &mut Vec<JoinHandle<()>>,
    probe: &mut dyn FnMut(Phase) -> Result<(), String>,
) -> Result<(Duration, u64, u64), RunError> {
    let spawn = |name: String| std::thread::Builder::new().name(name);
    let failed = |e: io::Error| RunError::Failed(format!("cannot start a client thread: {e}"));
    // Canaries first: they are the connections already being served when the hog arrives.
    for i in 0..spec.canaries {
        let (spec, ctl) = (spec.clone(), ctl.clone());
        canaries.push(
            spawn(format!("canary-{i}"))
                .spawn(move || canary(&spec, &ctl))
                .map_err(failed)?,
        );
    }
    wait_up(spec, ctl, &ctl.canaries_up, spec.canaries, "canary")?;
    for i in 0..spec.hogs {
        let (spec, ctl) = (spec.clone(), ctl.clone());
        hogs.push(
            spawn(format!("hog-{i}"))
                .spawn(move || hog(&spec, &ctl))
                .map_err(failed)?,
        );
    }
    wait_up(spec, ctl, &ctl.hogs_up, spec.hogs, "hog")?;
    ctl.go.store(true, Relaxed);
    std::thread::sleep(spec.warmup);
    probe(Phase::WindowStart).map_err(RunError::Failed)?;
    let (replies0, bytes0) = (ctl.hog_replies.load(Relaxed), ctl.hog_bytes.load(Relaxed));
    let start = Instant::now();
    ctl.measuring.store(true, Relaxed);
    std::thread::sleep(spec.window);
    ctl.measuring.store(false, Relaxed);
    let elapsed = start.elapsed();
    let (replies1, bytes1) = (ctl.hog_replies.load(Relaxed), ctl.hog_bytes.load(Relaxed));
    ctl.stop.store(true, Relaxed);
    probe(Phase::WindowEnd).map_err(RunError::Failed)?;
    Ok((elapsed, replies1 - replies0, bytes1 - bytes0))
}

fn wait_up(
    spec: &FairSpec,
    ctl: &Control,
    up: &AtomicUsize,
    want: usize,
    what: &str,
) -> Result<(), RunError> {
    let deadline = Instant::now() + SETUP_DEADLINE;
    while up.load(Relaxed) < want {
        if let Some(err) = Control::read(&ctl.setup_error) {
            return Err(RunError::Unreachable(format!(
                "cannot reach the server at {}: {err}",
                spec.addr
            )));
        }
        if Instant::now() > deadline {
            return Err(RunError::Unreachable(format!(
                "only {} of {want} {what} connections to {} got a first answer within {} s",
                up.load(Relaxed),
                spec.addr,
                SETUP_DEADLINE.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn new_histogram() -> Histogram<u64> {
    // 1 ns to 1 hour at 3 significant digits; values beyond saturate.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, SETUP_DEADLINE)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(POLL))?;
    Ok(stream)
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// How a round trip ended without an I/O error.
enum Trip {
    Answered,
    /// `give_up` became true first.
    GaveUp,
}

/// Send `request`, read one whole reply; give up (without error) once `give_up()` says so.
fn round_trip(
    stream: &mut TcpStream,
    proto: Proto,
    request: &[u8],
    buf: &mut [u8],
    give_up: &dyn Fn() -> bool,
) -> io::Result<Trip> {
    if !write_all(stream, request, give_up)? {
        return Ok(Trip::GaveUp);
    }
    let mut have = 0;
    loop {
        match proto.reply_len(&buf[..have], request.len()) {
            Ok(Some(len)) if len == have => return Ok(Trip::Answered),
            Ok(Some(_)) => return Err(invalid("more bytes than one reply")),
            Ok(None) if have == buf.len() => return Err(invalid("a reply longer than 64 KiB")),
            Ok(None) => {}
            Err(e) => return Err(invalid(&e)),
        }
        match stream.read(&mut buf[have..]) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => have += n,
            Err(e) if timed_out(&e) => {
                if give_up() {
                    return Ok(Trip::GaveUp);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Write all of `data`, looking at `give_up` while the socket is full. `Ok(false)`: gave up.
fn write_all(stream: &mut TcpStream, data: &[u8], give_up: &dyn Fn() -> bool) -> io::Result<bool> {
    let mut written = 0;
    while written < data.len() {
        match stream.write(&data[written..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if timed_out(&e) => {
                if give_up() {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, msg.to_owned())
}

/// One canary: connect and prove the server answers, then round trips until stop.
fn canary(spec: &FairSpec, ctl: &Control) -> Histogram<u64> {
    let mut hist = new_histogram();
    let request = spec.proto.canary_request();
    let mut buf = vec![0u8; CANARY_BUF];
    let deadline = Instant::now() + SETUP_DEADLINE;
    let setup_give_up = || ctl.stopped() || Instant::now() > deadline;
    let first = connect(spec.addr).and_then(|mut s| {
        match round_trip(&mut s, spec.proto, &request, &mut buf, &setup_give_up)? {
            Trip::Answered => Ok(s),
            Trip::GaveUp => Err(io::Error::new(ErrorKind::TimedOut, "no first answer")),
        }
    });
    let mut stream = match first {
        Ok(s) => Some(s),
        Err(e) => {
            Control::note(&ctl.setup_error, format!("canary: {e}"));
            return hist;
        }
    };
    ctl.canaries_up.fetch_add(1, Relaxed);
    while !ctl.go.load(Relaxed) && !ctl.stopped() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let stopped = || ctl.stopped();
    while !ctl.stopped() {
        let Some(s) = stream.as_mut() else {
            // Reconnect after an error, at most every 10 ms.
            std::thread::sleep(Duration::from_millis(10));
            stream = connect(spec.addr).ok();
            continue;
        };
        let t0 = Instant::now();
        let trip = round_trip(s, spec.proto, &request, &mut buf, &stopped);
        let ns = t0.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        match trip {
            Ok(Trip::Answered) => {
                if ctl.measuring.load(Relaxed) {
                    hist.saturating_record(ns.max(1));
                }
            }
            Ok(Trip::GaveUp) => {
                // Stopped mid-trip: it overlapped the window (stop comes right at its end),
                // so it counts, at the age it reached.
                hist.saturating_record(ns.max(1));
                ctl.stuck.fetch_add(1, Relaxed);
                break;
            }
            Err(e) => {
                if ctl.measuring.load(Relaxed) {
                    ctl.canary_errors.fetch_add(1, Relaxed);
                    Control::note(&ctl.first_error, format!("canary: {e}"));
                }
                stream = None;
                continue;
            }
        }
        let pause = Instant::now();
        std::thread::sleep(spec.interval);
        if ctl.measuring.load(Relaxed) {
            let over = pause.elapsed().saturating_sub(spec.interval);
            let ns = over.as_nanos().min(u64::MAX as u128) as u64;
            ctl.client_stall_max_ns.fetch_max(ns, Relaxed);
        }
    }
    hist
}

/// One hog: connect (and, for redis, set the key it reads), then a writer that never waits
/// for replies and a reader thread that counts them.
fn hog(spec: &FairSpec, ctl: &Control) {
    let deadline = Instant::now() + SETUP_DEADLINE;
    let setup_give_up = || ctl.stopped() || Instant::now() > deadline;
    let setup = connect(spec.addr).and_then(|mut s| {
        if let Some((request, expected)) = spec.proto.hog_setup() {
            let mut buf = vec![0u8; CANARY_BUF];
            match round_trip(&mut s, spec.proto, &request, &mut buf, &setup_give_up)? {
                Trip::Answered if buf.starts_with(expected) => {}
                Trip::Answered => return Err(invalid("unexpected answer to the hog's setup")),
                Trip::GaveUp => return Err(io::Error::new(ErrorKind::TimedOut, "no answer")),
            }
        }
        let reader = s.try_clone()?;
        Ok((s, reader))
    });
    let (mut writer, reader) = match setup {
        Ok(pair) => pair,
        Err(e) => {
            Control::note(&ctl.setup_error, format!("hog: {e}"));
            return;
        }
    };
    ctl.hogs_up.fetch_add(1, Relaxed);
    while !ctl.go.load(Relaxed) && !ctl.stopped() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let proto = spec.proto;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            if let Err(e) = hog_reader(reader, proto, ctl) {
                hog_failed(ctl, e);
            }
        });
        let (batch, _) = proto.hog_batch();
        let stopped = || ctl.stopped();
        while !ctl.stopped() {
            match write_all(&mut writer, &batch, &stopped) {
                Ok(_) => {}
                Err(e) => {
                    hog_failed(ctl, e);
                    // Close both directions so the reader ends too.
                    let _ = writer.shutdown(std::net::Shutdown::Both);
                    break;
                }
            }
        }
    });
}

fn hog_failed(ctl: &Control, e: io::Error) {
    if !ctl.stopped() {
        ctl.hog_errors.fetch_add(1, Relaxed);
        Control::note(&ctl.first_error, format!("hog: {e}"));
    }
}

/// Read and count replies until stop, EOF or an error.
fn hog_reader(mut stream: TcpStream, proto: Proto, ctl: &Control) -> io::Result<()> {
    let request_len = proto.canary_request().len();
    let mut buf = vec![0u8; HOG_BUF];
    let mut have = 0;
    while !ctl.stopped() {
        let n = match stream.read(&mut buf[have..]) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if timed_out(&e) => continue,
            Err(e) => return Err(e),
        };
        have += n;
        let mut used = 0;
        let mut replies = 0;
        while let Some(len) = proto
            .reply_len(&buf[used..have], request_len)
            .map_err(|e| invalid(&e))?
        {
            used += len;
            replies += 1;
        }
        if used == 0 && have == buf.len() {
            return Err(invalid("a hog reply longer than 256 KiB"));
        }
        buf.copy_within(used..have, 0);
        have -= used;
        ctl.hog_replies.fetch_add(replies, Relaxed);
        ctl.hog_bytes.fetch_add(used as u64, Relaxed);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
