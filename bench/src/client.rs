//! The load generator, on corio (dogfood: `corio::net::TcpStream`, `corio::time`): one task per connection, closed loop (one request
//! in flight per connection), latency of every request recorded into one shared
//! hdrhistogram while the measured window is open.
//!
//! A cell goes: connect in batches of [`CONNECT_BATCH`], each connection doing one round trip
//! before it counts as up (so the server really holds it); warm-up; the measured window;
//! stop. The caller's `probe` runs at the window's start and end (server statistics are
//! sampled there, and the server is killed at the end, before this process closes its
//! sockets).

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::net::TcpStream;
use hdrhistogram::Histogram;

use crate::cli::Workload;
use crate::http;
use crate::sys;

/// Connections that may be mid-handshake at once while a cell sets up.
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
    /// This process's CPU time in the window / window length (1.0 = one core busy).
    pub client_cpu_util: f64,
    /// CPU time of every process on the machine in the window / window length.
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

/// State shared by the connection tasks and the driver (single thread: `Cell`/`RefCell`).
struct Shared {
    measuring: Cell<bool>,
    stop: Cell<bool>,
    up: Cell<usize>,
    requests: Cell<u64>,
    errors: Cell<u64>,
    first_error: RefCell<Option<String>>,
    hist: RefCell<Histogram<u64>>,
}

/// Run one cell on a fresh corio runtime (on this thread) and report what happened.
pub fn run(
    spec: &LoadSpec,
    probe: &mut dyn FnMut(Phase) -> Result<(), String>,
) -> Result<LoadOutcome, LoadError> {
    let hist = Histogram::new_with_bounds(1, 60_000_000_000, 3)
        .map_err(|e| LoadError::Failed(format!("histogram: {e}")))?;
    let shared = Rc::new(Shared {
        measuring: Cell::new(false),
        stop: Cell::new(false),
        up: Cell::new(0),
        requests: Cell::new(0),
        errors: Cell::new(0),
        first_error: RefCell::new(None),
        hist: RefCell::new(hist),
    });
    let rt = corio::Runtime::new().map_err(|e| LoadError::Failed(format!("runtime: {e}")))?;
    rt.block_on(drive(spec, shared, probe))
}

async fn drive(
    spec: &LoadSpec,
    shared: Rc<Shared>,
    probe: &mut dyn FnMut(Phase) -> Result<(), String>,
) -> Result<LoadOutcome, LoadError> {
    let deadline = Instant::now() + CONNECT_DEADLINE;
    let mut spawned = 0;
    while spawned < spec.conns {
        let batch = CONNECT_BATCH.min(spec.conns - spawned);
        for _ in 0..batch {
            corio::spawn(connection(spec.clone(), shared.clone()));
        }
        spawned += batch;
        while shared.up.get() < spawned {
            if let Some(err) = shared.first_error.borrow().as_ref() {
                return Err(LoadError::Unreachable(format!(
                    "cannot reach the server at {}: {err}",
                    spec.addr
                )));
            }
            if Instant::now() > deadline {
                return Err(LoadError::Unreachable(format!(
                    "only {} of {} connections to {} completed a first round trip within {} s",
                    shared.up.get(),
                    spec.conns,
                    spec.addr,
                    CONNECT_DEADLINE.as_secs()
                )));
            }
            corio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    corio::time::sleep(spec.warmup).await;
    probe(Phase::WindowStart).map_err(LoadError::Failed)?;
    let cpu0 = own_cpu_secs()?;
    let busy0 = machine_busy_secs()?;
    let start = Instant::now();
    shared.measuring.set(true);
    corio::time::sleep(spec.window).await;
    shared.measuring.set(false);
    let elapsed = start.elapsed();
    let cpu1 = own_cpu_secs()?;
    let busy1 = machine_busy_secs()?;
    shared.stop.set(true);
    probe(Phase::WindowEnd).map_err(LoadError::Failed)?;

    let hist = shared.hist.borrow();
    let q = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok(LoadOutcome {
        requests: shared.requests.get(),
        elapsed,
        latency_us: [q(0.5), q(0.99), q(0.999)],
        errors: shared.errors.get(),
        client_cpu_util: (cpu1 - cpu0) / elapsed.as_secs_f64(),
        machine_busy_cores: (busy1 - busy0) / elapsed.as_secs_f64(),
    })
}

fn own_cpu_secs() -> Result<f64, LoadError> {
    sys::proc_stats(std::process::id())
        .map(|s| s.cpu_secs)
        .map_err(|e| LoadError::Failed(format!("reading this process's CPU time: {e}")))
}

fn machine_busy_secs() -> Result<f64, LoadError> {
    sys::machine_busy_secs().map_err(|e| LoadError::Failed(format!("reading /proc/stat: {e}")))
}

/// One connection: connect, one round trip to prove the server holds it, then the closed loop.
async fn connection(spec: LoadSpec, shared: Rc<Shared>) {
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
        shared.up.set(shared.up.get() + 1);
        up = true;
        while !shared.stop.get() {
            let t0 = Instant::now();
            round_trip(&mut stream, spec.workload, &request, &mut buf).await?;
            if shared.measuring.get() {
                let ns = t0.elapsed().as_nanos().min(u64::MAX as u128) as u64;
                shared.hist.borrow_mut().saturating_record(ns.max(1));
                shared.requests.set(shared.requests.get() + 1);
            }
        }
        Ok::<(), std::io::Error>(())
    }
    .await;
    if let Err(err) = result {
        if shared.stop.get() {
            return; // the server was killed at the end of the cell: expected
        }
        if !up {
            shared
                .first_error
                .borrow_mut()
                .get_or_insert(err.to_string());
        } else if shared.measuring.get() {
            shared.errors.set(shared.errors.get() + 1);
        }
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
