//! `corio-bench fair`: is the server fair under load? K well-behaved connections (canaries)
//! do single round trips at a modest rate beside `--hogs` connections that pipeline without
//! pause, against every server variant; the canaries' p50/p99/max round trip is the answer.
//!
//! A cooperative loop that lets one busy connection run as long as it has input starves
//! the canaries (their worst round trip grows to seconds); thread-per-connection gets
//! fairness from the OS scheduler. This is the question the issue threads answer with
//! preemption, measured.
//!
//! Each (repeat, workload, variant) cell starts the variant's server child (pinned to the
//! server CPU, as in the sweeps), runs [`load::run`] from this process (pinned to another
//! CPU), and kills the child. For corio it also takes the server's runtime metrics at the
//! window's start and end (polls per message, forced yields per second, loop busy share). Cells run interleaved (A B C D A B C D ...) and the table shows
//! medians over repeats, plus the worst max of any repeat.
//!
//! `corio-bench canary` (in `canary.rs`) runs the same load against an already running
//! server (the examples, from `scripts/canary.sh`).

mod canary;
pub mod load;
pub mod proto;
mod report;

use std::time::Duration;

use serde::Serialize;

pub use canary::run as canary;

use crate::child::ServerChild;
use crate::cli::{FairArgs, Variant, Workload};
use crate::error::BenchError;
use crate::runtime_metrics::{Snapshot, Window};
use crate::sys;
use load::{FairOutcome, FairSpec, RunError};
use proto::Proto;

/// One (workload, variant) cell over its repeats.
#[derive(Debug, Clone, Serialize)]
pub struct FairCell {
    /// `echo` or `http`.
    pub workload: &'static str,
    /// Server variant.
    pub variant: &'static str,
    /// Field-by-field medians over the successful repeats; absent when all failed.
    pub median: Option<FairOutcome>,
    /// The worst canary round trip of any repeat, microseconds.
    pub worst_max_us: Option<f64>,
    /// Why repeats failed, one message each.
    pub failures: Vec<String>,
    /// Every successful repeat, in the order run.
    pub samples: Vec<FairOutcome>,
}

/// A whole `fair` run: its settings and its cells (what `fair.json` holds).
#[derive(Debug, Clone, Serialize)]
pub struct FairReport {
    /// Always `corio-bench`.
    pub tool: &'static str,
    /// Always `fair`.
    pub workload_kind: &'static str,
    /// Canary connections per cell.
    pub canaries: usize,
    /// Pipelining connections per cell.
    pub hogs: usize,
    /// Pause between a canary's round trips, milliseconds.
    pub interval_ms: u64,
    /// Measured seconds per cell.
    pub secs: f64,
    /// Warm-up seconds per cell (hogs running, canaries not recorded).
    pub warmup_secs: f64,
    /// Repeats.
    pub repeats: u32,
    /// CPU the server children were pinned to.
    pub server_cpu: Option<usize>,
    /// CPU this process (every client thread) was pinned to.
    pub client_cpu: Option<usize>,
    /// One entry per (workload, variant), in `--workloads` then `--variants` order.
    pub results: Vec<FairCell>,
}

/// Run `corio-bench fair`.
pub fn run(args: &FairArgs) -> Result<(), BenchError> {
    let _ = sys::raise_nofile_limit();
    let (server_cpu, client_cpu) = pin(args.no_pin)?;
    let workloads = dedup(&args.workloads);
    let variants = dedup(&args.variants);
    let mut cells: Vec<FairCell> = Vec::new();
    for &w in &workloads {
        for &v in &variants {
            cells.push(FairCell {
                workload: w.name(),
                variant: v.name(),
                median: None,
                worst_max_us: None,
                failures: Vec::new(),
                samples: Vec::new(),
            });
        }
    }
    for repeat in 1..=args.repeats {
        for (wi, &workload) in workloads.iter().enumerate() {
            for (vi, &variant) in variants.iter().enumerate() {
                if !args.quiet {
                    eprintln!(
                        "fair: {} {variant}, repeat {repeat}/{}",
                        workload.name(),
                        args.repeats
                    );
                }
                let cell = &mut cells[wi * variants.len() + vi];
                match run_cell(variant, workload, args, server_cpu) {
                    Ok(outcome) => cell.samples.push(outcome),
                    Err(msg) => {
                        eprintln!("corio-bench: fair {} {variant}: {msg}", workload.name());
                        cell.failures.push(msg);
                    }
                }
                // Let the kernel finish tearing the last cell's sockets down.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    for cell in &mut cells {
        cell.median = median_outcome(&cell.samples);
        cell.worst_max_us = cell.samples.iter().map(|s| s.max_us).reduce(f64::max);
    }
    let report = FairReport {
        tool: "corio-bench",
        workload_kind: "fair",
        canaries: args.canaries,
        hogs: args.hogs,
        interval_ms: args.interval_ms,
        secs: args.secs,
        warmup_secs: args.warmup,
        repeats: args.repeats,
        server_cpu,
        client_cpu,
        results: cells,
    };
    print!("{}", report::markdown(&report));
    if let Some(dir) = &args.out {
        report::write_json(&report, dir).map_err(BenchError::Failed)?;
        if !args.quiet {
            eprintln!("corio-bench: wrote fair.json to {}", dir.display());
        }
    }
    let failed: usize = report.results.iter().map(|c| c.failures.len()).sum();
    if failed > 0 {
        return Err(BenchError::Failed(format!(
            "{failed} cell run(s) failed (see the notes under the table)"
        )));
    }
    Ok(())
}

/// The server on the first usable CPU, this process (and every client thread it starts
/// afterwards) on the second; nothing pinned with `--no-pin` or on a one-CPU machine.
fn pin(no_pin: bool) -> Result<(Option<usize>, Option<usize>), BenchError> {
    let allowed = sys::allowed_cpus().unwrap_or_default();
    if no_pin || allowed.len() < 2 {
        return Ok((None, None));
    }
    let (server, client) = (allowed[0], allowed[1]);
    sys::pin_to_cpu(client).map_err(|e| {
        BenchError::Failed(format!(
            "cannot pin the load generator to CPU {client}: {e}"
        ))
    })?;
    Ok((Some(server), Some(client)))
}

fn run_cell(
    variant: Variant,
    workload: Workload,
    args: &FairArgs,
    server_cpu: Option<usize>,
) -> Result<FairOutcome, String> {
    let mut child = ServerChild::spawn(variant, workload, server_cpu)?;
    let spec = FairSpec {
        addr: child.addr(),
        proto: match workload {
            Workload::Echo => Proto::Echo,
            Workload::Http => Proto::Http,
        },
        hogs: args.hogs,
        canaries: args.canaries,
        interval: Duration::from_millis(args.interval_ms),
        warmup: Duration::from_secs_f64(args.warmup),
        window: Duration::from_secs_f64(args.secs),
    };
    // (server CPU s, this process's CPU s, machine busy s) at the window's start and end.
    let mut samples: Vec<(f64, f64, f64)> = Vec::with_capacity(2);
    // The server's runtime metrics at the same two points (corio only).
    let mut runtime: Vec<Option<Snapshot>> = Vec::with_capacity(2);
    let pid = child.pid();
    let mut probe = |_phase: load::Phase| -> Result<(), String> {
        let server = sys::proc_stats(pid).map_err(|e| format!("the server's /proc: {e}"))?;
        let own = sys::proc_stats(std::process::id()).map_err(|e| format!("own /proc: {e}"))?;
        let busy = sys::machine_busy_secs().map_err(|e| format!("/proc/stat: {e}"))?;
        samples.push((server.cpu_secs, own.cpu_secs, busy));
        runtime.push(match child.runtime_metrics() {
            Some(Ok(snapshot)) => Some(snapshot),
            Some(Err(e)) => {
                // The cell's other numbers stand; only the metrics columns stay empty.
                eprintln!(
                    "corio-bench: fair {} {variant}: no runtime metrics: {e}",
                    workload.name()
                );
                None
            }
            None => None,
        });
        Ok(())
    };
    let outcome = load::run(&spec, &mut probe).map_err(|e| match e {
        RunError::Unreachable(msg) | RunError::Failed(msg) => msg,
    });
    child.kill();
    let mut outcome = outcome?;
    if let [(s0, c0, b0), (s1, c1, b1)] = samples[..] {
        let server = (s1 - s0) / outcome.secs;
        outcome.server_cpu_util = Some(server);
        outcome.other_cpu_util =
            Some(((b1 - b0) / outcome.secs - server - (c1 - c0) / outcome.secs).max(0.0));
    }
    if let [Some(start), Some(end)] = runtime[..] {
        if let Some(w) = Window::between(&start, &end) {
            let messages_per_sec =
                outcome.canary_round_trips as f64 / outcome.secs + outcome.hog_replies_per_sec;
            outcome.server_polls_per_msg = w.polls_per(messages_per_sec);
            outcome.server_forced_yields_per_sec = Some(w.forced_yields_per_sec());
            outcome.server_busy_ratio = Some(w.busy_ratio());
        }
    }
    if outcome.canary_round_trips == 0 {
        return Err(format!(
            "no canary round trip was recorded in the {:.1} s window",
            args.secs
        ));
    }
    Ok(outcome)
}

fn dedup<T: PartialEq + Copy>(items: &[T]) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(item) {
            out.push(*item);
        }
    }
    out
}

/// Field-by-field medians of `samples` (so p99 and max may come from different repeats).
fn median_outcome(samples: &[FairOutcome]) -> Option<FairOutcome> {
    let f = |get: &dyn Fn(&FairOutcome) -> f64| {
        crate::results::median(samples.iter().map(get).collect())
    };
    let opt = |get: &dyn Fn(&FairOutcome) -> Option<f64>| {
        let values: Option<Vec<f64>> = samples.iter().map(get).collect();
        values.and_then(crate::results::median)
    };
    let n = |get: &dyn Fn(&FairOutcome) -> u64| f(&|s| get(s) as f64).map(|v| v.round() as u64);
    Some(FairOutcome {
        canary_round_trips: n(&|s| s.canary_round_trips)?,
        p50_us: f(&|s| s.p50_us)?,
        p99_us: f(&|s| s.p99_us)?,
        max_us: f(&|s| s.max_us)?,
        stuck_at_end: n(&|s| s.stuck_at_end)?,
        canary_errors: n(&|s| s.canary_errors)?,
        hog_replies: n(&|s| s.hog_replies)?,
        hog_replies_per_sec: f(&|s| s.hog_replies_per_sec)?,
        hog_mib_per_sec: f(&|s| s.hog_mib_per_sec)?,
        hog_errors: n(&|s| s.hog_errors)?,
        client_stall_max_us: f(&|s| s.client_stall_max_us)?,
        first_error: samples.iter().find_map(|s| s.first_error.clone()),
        secs: f(&|s| s.secs)?,
        server_cpu_util: opt(&|s| s.server_cpu_util),
        other_cpu_util: opt(&|s| s.other_cpu_util),
        server_polls_per_msg: opt(&|s| s.server_polls_per_msg),
        server_forced_yields_per_sec: opt(&|s| s.server_forced_yields_per_sec),
        server_busy_ratio: opt(&|s| s.server_busy_ratio),
    })
}
