//! The sweep: set up the machine (file-descriptor limit, CPU pinning), then run every cell
//! — (repeat, connections, variant), variants interleaved A B C D A B C D ... so drift and
//! noise hit all of them alike — and fold the repeats into medians.
//!
//! A cell: start the variant's server child, run the corio load generator against it,
//! sample the child's `/proc` (and, for corio, its runtime metrics) at the window's start
//! and end, kill and reap it.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::child::ServerChild;
use crate::cli::{LoadArgs, Variant, Workload};
use crate::client::{self, LoadError, LoadSpec, Phase};
use crate::error::BenchError;
use crate::results::{median_metrics, CellResult, Metrics, Report};
use crate::runtime_metrics::{Snapshot, Window};
use crate::sys::{self, ProcStats};

/// File descriptors each process needs beyond one per connection (stdio, epoll, listener,
/// pipes, slack).
const FD_HEADROOM: u64 = 64;

/// What a cell runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A server child of this variant.
    Variant(Variant),
    /// An already running server (`--target`).
    External(std::net::SocketAddr),
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Variant(v) => v.name(),
            Target::External(_) => "target",
        }
    }
}

/// Where the server and the client run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pinning {
    server: Option<usize>,
    /// One entry per load generator thread.
    workers: Vec<Option<usize>>,
    cpus: usize,
}

/// Run the sweep `args` describes for `workload` and return the report.
pub fn run(workload: Workload, args: &LoadArgs) -> Result<Report, BenchError> {
    let nofile = sys::raise_nofile_limit().unwrap_or(1024);
    let mut wanted = args.conns.clone();
    wanted.sort_unstable();
    wanted.dedup();
    let (conns, skipped): (Vec<usize>, Vec<usize>) = wanted
        .iter()
        .partition(|&&c| c as u64 + FD_HEADROOM <= nofile);
    for c in &skipped {
        eprintln!(
            "corio-bench: skipping {c} connections: RLIMIT_NOFILE is {nofile} (hard limit), \
             and each side needs one descriptor per connection plus {FD_HEADROOM}"
        );
    }
    if conns.is_empty() {
        return Err(BenchError::Input(format!(
            "no connection count fits RLIMIT_NOFILE {nofile}; use smaller --conns or raise the hard limit"
        )));
    }
    let pinning = pin(args)?;
    let targets: Vec<Target> = match args.target {
        Some(addr) => vec![Target::External(addr)],
        None => dedup(&args.variants)
            .into_iter()
            .map(Target::Variant)
            .collect(),
    };

    let total = args.repeats as u64 * (conns.len() * targets.len()) as u64;
    let bar = progress_bar(total, args.quiet);
    let mut cells: Vec<CellResult> = Vec::new();
    for &c in &conns {
        for t in &targets {
            cells.push(CellResult {
                variant: t.name().to_string(),
                conns: c,
                median: None,
                failures: Vec::new(),
                samples: Vec::new(),
            });
        }
    }
    for repeat in 1..=args.repeats {
        for (ci, &c) in conns.iter().enumerate() {
            for (ti, &target) in targets.iter().enumerate() {
                bar.set_message(format!(
                    "{} {} conns={c} repeat {repeat}/{}",
                    workload.name(),
                    target.name(),
                    args.repeats
                ));
                let cell = &mut cells[ci * targets.len() + ti];
                match run_cell(target, workload, c, args, &pinning) {
                    Ok(metrics) => cell.samples.push(metrics),
                    Err(CellError::Fatal(e)) => {
                        bar.finish_and_clear();
                        return Err(e);
                    }
                    Err(CellError::Failed(msg)) => {
                        bar.suspend(|| {
                            eprintln!("corio-bench: {} with {c} connections: {msg}", target.name())
                        });
                        cell.failures.push(msg);
                    }
                }
                bar.inc(1);
                // Let the kernel finish tearing the last cell's sockets down.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    bar.finish_and_clear();
    for cell in &mut cells {
        cell.median = median_metrics(&cell.samples);
    }
    Ok(Report {
        tool: "corio-bench",
        version: env!("CARGO_PKG_VERSION"),
        workload: workload.name(),
        message_size: (workload == Workload::Echo).then_some(args.size),
        secs: args.secs,
        warmup_secs: args.warmup,
        repeats: args.repeats,
        cpus: pinning.cpus,
        server_cpu: pinning.server,
        client_threads: pinning.workers.len(),
        client_cpus: pinning.workers.iter().flatten().copied().collect(),
        nofile_limit: nofile,
        skipped_conns: skipped,
        results: cells,
    })
}

fn dedup(variants: &[Variant]) -> Vec<Variant> {
    let mut out = Vec::new();
    for v in variants {
        if !out.contains(v) {
            out.push(*v);
        }
    }
    out
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} cells, eta {eta}  {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// Choose CPUs and the number of load threads, check user choices, and pin this thread (the
/// coordinator) to the first client CPU. Server children and load threads pin themselves.
///
/// Defaults: the server on the first usable CPU; the client on the others, one thread per
/// CPU up to 4 (so one thread on a 2-CPU machine).
fn pin(args: &LoadArgs) -> Result<Pinning, BenchError> {
    let allowed = sys::allowed_cpus().unwrap_or_default();
    let cpus = allowed.len().max(1);
    let requested = args.client_threads.map(|n| n as usize);
    if args.no_pin || allowed.len() < 2 {
        if allowed.len() < 2
            && !args.no_pin
            && (args.server_cpu.is_some() || args.client_cpu.is_some())
            && !args.quiet
        {
            eprintln!("corio-bench: only one CPU is usable: --server-cpu/--client-cpu ignored");
        }
        return Ok(Pinning {
            server: None,
            workers: vec![None; requested.unwrap_or(1)],
            cpus,
        });
    }
    let check = |flag: &str, cpu: usize| {
        if allowed.contains(&cpu) {
            Ok(cpu)
        } else {
            Err(BenchError::Input(format!(
                "{flag} {cpu}: this process may only use CPUs {allowed:?}"
            )))
        }
    };
    let server = check("--server-cpu", args.server_cpu.unwrap_or(allowed[0]))?;
    let first_client = match args.client_cpu {
        Some(cpu) => check("--client-cpu", cpu)?,
        None => *allowed.iter().find(|&&c| c != server).expect("2+ CPUs"),
    };
    let mut client_cpus = vec![first_client];
    client_cpus.extend(
        allowed
            .iter()
            .copied()
            .filter(|&c| c != server && c != first_client),
    );
    let threads = requested.unwrap_or_else(|| client_cpus.len().min(4));
    if threads > client_cpus.len() && !args.quiet {
        eprintln!(
            "corio-bench: note: {threads} load threads share {} CPU(s)",
            client_cpus.len()
        );
    }
    if first_client == server && !args.quiet {
        eprintln!("corio-bench: note: the server and the load generator share CPU {server}");
    }
    sys::pin_to_cpu(first_client).map_err(|e| {
        BenchError::Failed(format!(
            "cannot pin the load generator to CPU {first_client}: {e}"
        ))
    })?;
    Ok(Pinning {
        server: Some(server),
        workers: (0..threads)
            .map(|i| Some(client_cpus[i % client_cpus.len()]))
            .collect(),
        cpus,
    })
}

/// How a cell can go wrong.
enum CellError {
    /// Stop the sweep (an unreachable `--target`, a server that will not start).
    Fatal(BenchError),
    /// Record it in the cell and go on.
    Failed(String),
}

fn run_cell(
    target: Target,
    workload: Workload,
    conns: usize,
    args: &LoadArgs,
    pinning: &Pinning,
) -> Result<Metrics, CellError> {
    let mut child = match target {
        Target::Variant(v) => Some(
            ServerChild::spawn(v, workload, pinning.server)
                .map_err(|e| CellError::Fatal(BenchError::Failed(e)))?,
        ),
        Target::External(_) => None,
    };
    let addr = match (&child, target) {
        (Some(child), _) => child.addr(),
        (None, Target::External(addr)) => addr,
        (None, Target::Variant(_)) => unreachable!("a variant always has a child"),
    };
    let spec = LoadSpec {
        addr,
        conns,
        workload,
        size: args.size,
        warmup: Duration::from_secs_f64(args.warmup),
        window: Duration::from_secs_f64(args.secs),
        worker_cpus: pinning.workers.clone(),
    };
    let mut before: Option<ProcStats> = None;
    let mut after: Option<ProcStats> = None;
    // The child's runtime metrics at the window's start and end (corio only).
    let mut runtime: [Option<Snapshot>; 2] = [None, None];
    let outcome = client::run(&spec, &mut |phase| {
        let Some(child) = child.as_mut() else {
            return Ok(());
        };
        let stats = sys::proc_stats(child.pid())
            .map_err(|e| format!("cannot read the server's /proc entry: {e}"))?;
        let snapshot = match child.runtime_metrics() {
            Some(Ok(snapshot)) => Some(snapshot),
            Some(Err(e)) => {
                // The cell's other numbers stand; only the metrics columns stay empty.
                eprintln!(
                    "corio-bench: {} x{conns}: no runtime metrics: {e}",
                    target.name()
                );
                None
            }
            None => None,
        };
        match phase {
            Phase::WindowStart => {
                before = Some(stats);
                runtime[0] = snapshot;
            }
            Phase::WindowEnd => {
                after = Some(stats);
                runtime[1] = snapshot;
                // Kill the server before this side closes its sockets, so TIME_WAIT lands on
                // the server's side and not on this machine's ephemeral ports.
                child.kill();
            }
        }
        Ok(())
    });
    drop(child);
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(LoadError::Unreachable(msg)) if matches!(target, Target::External(_)) => {
            return Err(CellError::Fatal(BenchError::Input(msg)))
        }
        Err(LoadError::Unreachable(msg) | LoadError::Failed(msg)) => {
            return Err(CellError::Failed(msg))
        }
    };
    if outcome.requests == 0 {
        return Err(CellError::Failed(format!(
            "no request completed in the {:.1} s window",
            args.secs
        )));
    }
    let secs = outcome.elapsed.as_secs_f64();
    let server_cpu_secs = match (before, after) {
        (Some(b), Some(a)) => Some(a.cpu_secs - b.cpu_secs),
        _ => None,
    };
    let window = match runtime {
        [Some(start), Some(end)] => Window::between(&start, &end),
        _ => None,
    };
    let rps = outcome.requests as f64 / secs;
    Ok(Metrics {
        requests: outcome.requests,
        secs,
        throughput_rps: rps,
        p50_us: outcome.latency_us[0],
        p99_us: outcome.latency_us[1],
        p999_us: outcome.latency_us[2],
        server_peak_rss_kib: after.map(|a| a.peak_rss_kib),
        server_anon_rss_kib: after.map(|a| a.anon_rss_kib),
        server_threads: match (before, after) {
            (Some(b), Some(a)) => Some(a.threads.max(b.threads)),
            _ => None,
        },
        server_cpu_us_per_req: server_cpu_secs.map(|s| s * 1e6 / outcome.requests as f64),
        server_cpu_util: server_cpu_secs.map(|s| s / secs),
        client_cpu_util: outcome.client_cpu_util,
        other_cpu_util: server_cpu_secs
            .map(|s| (outcome.machine_busy_cores - s / secs - outcome.client_cpu_util).max(0.0)),
        server_polls_per_req: window.and_then(|w| w.polls_per(rps)),
        server_forced_yields_per_sec: window.map(|w| w.forced_yields_per_sec()),
        server_busy_ratio: window.map(|w| w.busy_ratio()),
        errors: outcome.errors,
    })
}
