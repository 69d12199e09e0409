//! The load generator, on corio (dogfood: `corio::net::TcpStream`, `corio::time`,
//! `corio::sync::Event`): one task per connection, closed loop (one request in flight per
//! connection), every request's latency recorded into an hdrhistogram while the measured
//! window is open.
//!
//! It runs on `threads` worker threads, each its own corio runtime pinned to its own CPU, the
//! connections split evenly between them (one worker on a 2-CPU machine; more where there
//! are CPUs to spare, so the client outruns a one-core server). The calling thread only
//! coordinates, through atomics:
//!
//! ```text
//!  coordinator                          each worker (a corio loop)
//!  ───────────                          ─────────────────────────
//!  wait until up == conns   ◄────────── connect in batches of CONNECT_BATCH; one round
//!                                       trip each, then `up += 1` and wait, idle
//!  go = true  ────────────────────────► all connections start their closed loops
//!  sleep(warm-up); probe(WindowStart)
//!  measuring = true; sleep(window)      requests that complete while `measuring` count
//!  measuring = false; probe(WindowEnd)  (the probe kills the server here)
//!  stop = true; join; merge histograms  return (requests, errors, histogram)
//! ```

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corio::net::TcpStream;
use corio::sync::Event;
use hdrhistogram::Histogram;

use crate::cli::Workload;
use crate::http;
use crate::sys;

/// Connections per worker that may be mid-handshake at once while a cell sets up.
pub const CONNECT_BATCH: usize = 64;

/// How long all connections together may take to come up before the cell fails.
const CONNECT_DEADLINE: Duration = Duration::from_secs(30);

/// One cell's load.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Server address (loopback).
    pub addr: SocketAddr,
    /// Concurrent connections.
    pub conns: usize,
    /// Protocol.
    pub workload: Workload,
    /// Echo message size (ignored for HTTP).
    pub size: usize,
    /// Discarded warm-up after all connections are up.
    pub warmup: Duration,
    /// The measured window.
    pub window: Duration,
    /// Offered load, messages per second over all connections (`None`: closed loop).
    pub rate: Option<f64>,
    /// One entry per worker thread: the CPUs to pin it to (empty: not pinned).
    pub worker_cpus: Vec<Vec<usize>>,
}

/// Points in a cell at which the caller's probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The measured window is about to open.
    WindowStart,
    /// The measured window just closed.
    WindowEnd,
}

/// What the client saw in the measured window.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// Requests completed inside the window.
    pub requests: u64,
    /// Actual window length.
    pub elapsed: Duration,
    /// Request latency percentiles, microseconds: p50, p99, p99.9.
    pub latency_us: [f64; 3],
    /// Connections that failed inside the window.
    pub errors: u64,
    /// This process's CPU time in the window / window length, in cores (1.0 = one core).
    pub client_cpu_util: f64,
    /// CPU time of every process on the machine in the window / window length, in cores.
    pub machine_busy_cores: f64,
}

/// Why a cell could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The server refused or never answered (bad `--target`, a dead child, ...).
    Unreachable(String),
    /// Something else failed.
    Failed(String),
}

/// What the coordinator and the workers share.
#[derive(Default)]
struct Control {
    up: AtomicUsize,
    go: AtomicBool,
    measuring: AtomicBool,
    stop: AtomicBool,
    requests: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Control {
    fn fail(&self, err: String) {
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert(err);
    }

    fn first_error(&self) -> Option<String> {
        self.first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Run one cell and report what happened. Blocks the calling thread for the whole cell.
pub fn run(
    spec: &LoadSpec,
    probe: &mut dyn FnMut(Phase) -> Result<(), String>,
) -> Result<LoadOutcome, LoadError> {
    let control = Arc::new(Control::default());
    let threads = spec.worker_cpus.len().max(1);
    let mut workers = Vec::with_capacity(threads);
    // Each worker's connections are numbered on from the previous worker's (for `Pace`).
    let mut first = 0;
    for (i, cpus) in spec.worker_cpus.iter().cloned().enumerate() {
        let conns = spec.conns / threads + usize::from(i < spec.conns % threads);
        let (spec, control) = (spec.clone(), control.clone());
        let worker = std::thread::Builder::new()
            .name(format!("load-{i}"))
            .spawn(move || worker(spec, first..first + conns, cpus, control))
            .map_err(|e| LoadError::Failed(format!("cannot start a load thread: {e}")))?;
        workers.push(worker);
        first += conns;
    }
    // Whatever happens below, the workers must stop before we return.
    let result = coordinate(spec, &control, probe);
    control.stop.store(true, Relaxed);
    let mut hist = new_histogram()?;
    for worker in workers {
        match worker.join() {
            Ok(Ok(h)) => hist
                .add(&h)
                .map_err(|e| LoadError::Failed(format!("histogram: {e}")))?,
            Ok(Err(e)) => return Err(LoadError::Failed(e)),
            Err(_) => return Err(LoadError::Failed("a load thread panicked".into())),
        }
    }
    let (elapsed, client_cpu_util, machine_busy_cores) = result?;
    let q = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok(LoadOutcome {
        requests: control.requests.load(Relaxed),
        elapsed,
        latency_us: [q(0.5), q(0.99), q(0.999)],
        errors: control.errors.load(Relaxed),
        client_cpu_util,
        machine_busy_cores,
    })
}

/// The coordinator's part: wait for the connections, time the warm-up and the window.
/// Returns the window length, the client's CPU use and the machine's, both in cores.
fn coordinate(
    spec: &LoadSpec,
    control: &Control,
    probe: &mut dyn FnMut(Phase) -> Result<(), String>,
) -> Result<(Duration, f64, f64), LoadError> {
    let deadline = Instant::now() + CONNECT_DEADLINE;
    while control.up.load(Relaxed) < spec.conns {
        if let Some(err) = control.first_error() {
            return Err(LoadError::Unreachable(format!(
                "cannot reach the server at {}: {err}",
                spec.addr
            )));
        }
        if Instant::now() > deadline {
            return Err(LoadError::Unreachable(format!(
                "only {} of {} connections to {} completed a first round trip within {} s",
                control.up.load(Relaxed),
                spec.conns,
                spec.addr,
                CONNECT_DEADLINE.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    control.go.store(true, Relaxed);
    std::thread::sleep(spec.warmup);
    probe(Phase::WindowStart).map_err(LoadError::Failed)?;
    let cpu0 = own_cpu_secs()?;
    let busy0 = machine_busy_secs()?;
    let start = Instant::now();
    control.measuring.store(true, Relaxed);
    std::thread::sleep(spec.window);
    control.measuring.store(false, Relaxed);
    let elapsed = start.elapsed();
    let cpu1 = own_cpu_secs()?;
    let busy1 = machine_busy_secs()?;
    probe(Phase::WindowEnd).map_err(LoadError::Failed)?;
    let secs = elapsed.as_secs_f64();
    Ok((elapsed, (cpu1 - cpu0) / secs, (busy1 - busy0) / secs))
}

fn new_histogram() -> Result<Histogram<u64>, LoadError> {
    // 1 ns to 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000_000, 3)
        .map_err(|e| LoadError::Failed(format!("histogram: {e}")))
}

fn own_cpu_secs() -> Result<f64, LoadError> {
    sys::proc_stats(std::process::id())
        .map(|s| s.cpu_secs)
        .map_err(|e| LoadError::Failed(format!("reading this process's CPU time: {e}")))
}

fn machine_busy_secs() -> Result<f64, LoadError> {
    sys::machine_busy_secs().map_err(|e| LoadError::Failed(format!("reading /proc/stat: {e}")))
}

/// One worker thread's own state (single thread: `Cell`/`RefCell`).
struct Local {
    control: Arc<Control>,
    /// Set when the coordinator says go; connections that are up wait on it, idle.
    go: Event,
    hist: RefCell<Histogram<u64>>,
    requests: Cell<u64>,
}

/// A worker thread: its own corio runtime driving connections number `indices` of
/// `spec.conns`. Returns its histogram.
fn worker(
    spec: LoadSpec,
    indices: std::ops::Range<usize>,
    cpus: Vec<usize>,
    control: Arc<Control>,
) -> Result<Histogram<u64>, String> {
    if !cpus.is_empty() {
        sys::pin_to_cpus(&cpus)
            .map_err(|e| format!("cannot pin a load thread to CPUs {cpus:?}: {e}"))?;
    }
    let hist = new_histogram().map_err(|e| format!("{e:?}"))?;
    let rt = corio::Runtime::new().map_err(|e| format!("corio runtime: {e}"))?;
    let local = Rc::new(Local {
        control,
        go: Event::new(),
        hist: RefCell::new(hist),
        requests: Cell::new(0),
    });
    rt.block_on(async {
        let control = &local.control;
        let conns = indices.len();
        let mut spawned = 0;
        while spawned < conns && !control.stop.load(Relaxed) {
            let batch = CONNECT_BATCH.min(conns - spawned);
            let started = Rc::new(Cell::new(0usize));
            for k in 0..batch {
                let index = indices.start + spawned + k;
                corio::spawn(connection(
                    spec.clone(),
                    index,
                    local.clone(),
                    started.clone(),
                ));
            }
            spawned += batch;
            while started.get() < batch && !control.stop.load(Relaxed) {
                corio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        while !control.go.load(Relaxed) && !control.stop.load(Relaxed) {
            corio::time::sleep(Duration::from_millis(1)).await;
        }
        local.go.set();
        while !control.stop.load(Relaxed) {
            corio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    drop(rt); // drops every connection task (and closes its socket)
    local
        .control
        .requests
        .fetch_add(local.requests.get(), Relaxed);
    let hist = local.hist.borrow().clone();
    Ok(hist)
}

/// One connection: connect, one round trip to prove the server holds it, wait for go, then
/// the closed loop (paced under `--rate`; `index` places it in the schedule). `started`
/// counts this batch's connections that are up (or failed).
async fn connection(spec: LoadSpec, index: usize, local: Rc<Local>, started: Rc<Cell<usize>>) {
    let control = &local.control;
    let mut up = false;
    let result = async {
        let mut stream = TcpStream::connect(spec.addr).await?;
        stream.set_nodelay(true)?;
        let request: Vec<u8> = match spec.workload {
            Workload::Echo => (0..spec.size).map(|i| b'a' + (i % 26) as u8).collect(),
            Workload::Http => http::REQUEST.to_vec(),
        };
        let mut buf = vec![0u8; spec.size.max(512)];
        round_trip(&mut stream, spec.workload, &request, &mut buf).await?;
        up = true;
        started.set(started.get() + 1);
        control.up.fetch_add(1, Relaxed);
        local.go.wait().await;
        let mut pace = spec
            .rate
            .map(|rate| Pace::new(rate, spec.conns, index, Instant::now()));
        while !control.stop.load(Relaxed) {
            let t0 = match &mut pace {
                Some(pace) => pace.next_send().await,
                None => Instant::now(),
            };
            round_trip(&mut stream, spec.workload, &request, &mut buf).await?;
            if control.measuring.load(Relaxed) {
                let ns = t0.elapsed().as_nanos().min(u64::MAX as u128) as u64;
                local.hist.borrow_mut().saturating_record(ns.max(1));
                local.requests.set(local.requests.get() + 1);
            }
        }
        Ok::<(), std::io::Error>(())
    }
    .await;
    if let Err(err) = result {
        if !up {
            started.set(started.get() + 1);
            control.fail(err.to_string());
        } else if control.measuring.load(Relaxed) {
            control.errors.fetch_add(1, Relaxed);
        }
        // Errors after the window (the server is killed at its end) are expected.
    }
}

/// One connection's send schedule under `--rate`: every `interval` (the connections'
/// share of the rate), the connections staggered evenly over one interval so the load is
/// smooth, not a burst per interval.
struct Pace {
    interval: Duration,
    /// The next scheduled send.
    next: Instant,
}

impl Pace {
    /// Connection `index` of `conns` sharing `rate` messages per second from `start`.
    fn new(rate: f64, conns: usize, index: usize, start: Instant) -> Pace {
        let interval = Duration::from_secs_f64(conns as f64 / rate);
        Pace {
            interval,
            next: start + interval.mul_f64(index as f64 / conns as f64),
        }
    }

    /// Wait for the next scheduled send and return its scheduled time (the latency's
    /// start). A connection behind schedule (its last answer came late) sends at once; the
    /// schedule does not move, so the lateness shows in the latency and the offered rate
    /// stays what was asked wherever the server keeps up.
    async fn next_send(&mut self) -> Instant {
        let at = self.next;
        self.next = at + self.interval;
        if at > Instant::now() {
            corio::time::sleep_until(at).await;
        }
        at
    }
}

/// Send one request and read its whole answer.
async fn round_trip(
    stream: &mut TcpStream,
    workload: Workload,
    request: &[u8],
    buf: &mut [u8],
) -> std::io::Result<()> {
    stream.write_all(request).await?;
    let mut have = 0;
    loop {
        let n = stream.read(&mut buf[have..]).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        have += n;
        let done = match workload {
            Workload::Echo => have >= request.len(),
            Workload::Http => http::response_len(&buf[..have])
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?
                .is_some(),
        };
        if done {
            return Ok(());
        }
        if have == buf.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "answer larger than expected",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pace_staggers_connections_and_keeps_its_schedule() {
        // 4 connections sharing 400 msgs/s: each sends every 10 ms, the third 5 ms in.
        let start = Instant::now();
        let mut pace = Pace::new(400.0, 4, 2, start);
        assert_eq!(pace.interval, Duration::from_millis(10));
        assert_eq!(pace.next - start, Duration::from_millis(5));
        let sends: Vec<Instant> = corio::run(async {
            let mut sends = Vec::new();
            for _ in 0..3 {
                sends.push(pace.next_send().await);
            }
            sends
        });
        let offsets: Vec<Duration> = sends.iter().map(|t| *t - start).collect();
        assert_eq!(
            offsets,
            [5, 15, 25].map(Duration::from_millis),
            "scheduled times, not when the timer happened to fire"
        );
        assert!(
            Instant::now() >= start + Duration::from_millis(25),
            "it waited"
        );
        // Behind schedule: the next send is due at once, at its scheduled time.
        std::thread::sleep(Duration::from_millis(30));
        let late = corio::run(pace.next_send());
        assert_eq!(late - start, Duration::from_millis(35));
    }
}
