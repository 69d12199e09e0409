//! The sweep: set up the machine (file-descriptor limit, CPU pinning), then run every cell
//! — (repeat, connections, variant and shard count), variants interleaved A B C D A B C D
//! ... so drift and noise hit all of them alike — and fold the repeats into medians. The
//! variants that have shards (corio, tokio-mt's worker threads) get one cell per
//! `--shards` count, the server pinned to that many CPUs (`placement.rs`).
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
use crate::placement::{Cpus, Placement};
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

/// One server of the sweep: a target and its shard count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Server {
    target: Target,
    /// Shards (corio) or worker threads (tokio-mt); `None` for the one-thread variants.
    shards: Option<usize>,
}

impl Server {
    /// The variant column: `corio` for one shard, `corio ×4` for four; tokio-mt always
    /// says its worker threads.
    fn label(self) -> String {
        match (self.target, self.shards) {
            (Target::Variant(Variant::Corio), Some(1)) | (_, None) => self.target.name().into(),
            (target, Some(n)) => format!("{} ×{n}", target.name()),
        }
    }

    /// CPUs the server needs.
    fn cpus(self) -> usize {
        self.shards.unwrap_or(1)
    }
}

/// The servers of a sweep, in `--variants` order, each sharded variant once per
/// `--shards` count.
fn servers(targets: &[Target], shards: &[usize]) -> Vec<Server> {
    let mut counts: Vec<usize> = Vec::new();
    for &n in shards {
        if !counts.contains(&n) {
            counts.push(n);
        }
    }
    let mut out = Vec::new();
    for &target in targets {
        match target {
            Target::Variant(Variant::Corio | Variant::TokioMt) => {
                out.extend(counts.iter().map(|&n| Server {
                    target,
                    shards: Some(n),
                }))
            }
            _ => out.push(Server {
                target,
                shards: None,
            }),
        }
    }
    out
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
    let cpus = Cpus::new(args)?;
    cpus.pin_coordinator(args.quiet)?;
    let targets: Vec<Target> = match args.target {
        Some(addr) => vec![Target::External(addr)],
        None => dedup(&args.variants)
            .into_iter()
            .map(Target::Variant)
            .collect(),
    };
    let targets = servers(&targets, &args.shards);

    let total = args.repeats as u64 * (conns.len() * targets.len()) as u64;
    let bar = progress_bar(total, args.quiet);
    let mut cells: Vec<CellResult> = Vec::new();
    for &c in &conns {
        for t in &targets {
            let placement = cpus.placement(t.cpus());
            cells.push(CellResult {
                variant: t.label(),
                conns: c,
                shards: t.shards,
                server_cpus: placement.server.clone(),
                client_cpus: placement.workers.concat(),
                client_shares_cpus: placement.shared && !placement.server.is_empty(),
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
                    target.label(),
                    args.repeats
                ));
                let cell = &mut cells[ci * targets.len() + ti];
                match run_cell(target, workload, c, args, &cpus.placement(target.cpus())) {
                    Ok(metrics) => cell.samples.push(metrics),
                    Err(CellError::Fatal(e)) => {
                        bar.finish_and_clear();
                        return Err(e);
                    }
                    Err(CellError::Failed(msg)) => {
                        bar.suspend(|| {
                            eprintln!(
                                "corio-bench: {} with {c} connections: {msg}",
                                target.label()
                            )
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
    // The header line describes a one-CPU server's placement; other cells carry their own.
    let one = cpus.placement(1);
    Ok(Report {
        tool: "corio-bench",
        version: env!("CARGO_PKG_VERSION"),
        workload: workload.name(),
        message_size: (workload == Workload::Echo).then_some(args.size),
        secs: args.secs,
        warmup_secs: args.warmup,
        rate: args.rate,
        repeats: args.repeats,
        cpus: cpus.count(),
        server_cpu: one.server.first().copied(),
        client_threads: one.workers.len(),
        client_cpus: if one.shared {
            Vec::new()
        } else {
            one.workers.concat()
        },
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

/// How a cell can go wrong.
enum CellError {
    /// Stop the sweep (an unreachable `--target`, a server that will not start).
    Fatal(BenchError),
    /// Record it in the cell and go on.
    Failed(String),
}

fn run_cell(
    server: Server,
    workload: Workload,
    conns: usize,
    args: &LoadArgs,
    placement: &Placement,
) -> Result<Metrics, CellError> {
    let target = server.target;
    let mut child = match target {
        Target::Variant(v) => Some(
            ServerChild::spawn_placed(v, workload, &placement.server, server.cpus())
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
        rate: args.rate,
        worker_cpus: placement.workers.clone(),
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
                    server.label()
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
        server_parks_per_req: window.and_then(|w| w.parks_per(rps)),
        errors: outcome.errors,
    })
}
