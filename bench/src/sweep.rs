//! The sweep: set up the machine (file-descriptor limit, CPU pinning), then run every cell
//! — (repeat, connections, variant), variants interleaved A B C D A B C D ... so drift and
//! noise hit all of them alike — and fold the repeats into medians.
//!
//! A cell: start the variant's server child, run the corio load generator against it,
//! sample the child's `/proc` at the window's start and end, kill and reap it.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::child::ServerChild;
use crate::cli::{LoadArgs, Variant, Workload};
use crate::client::{self, LoadError, LoadSpec, Phase};
use crate::error::BenchError;
use crate::results::{median_metrics, CellResult, Metrics, Report};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pinning {
    server: Option<usize>,
    client: Option<usize>,
    cpus: usize,
}

/// Run the sweep `args` describes for `workload` and return the report.
pub fn run(workload: Workload, args: &LoadArgs) -> Result<Report, BenchError> {
    let nofile = sys::raise_nofile_limit().unwrap_or(1024);
    let (conns, skipped): (Vec<usize>, Vec<usize>) = args
        .conns
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
                match run_cell(target, workload, c, args, pinning.server) {
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
        client_cpu: pinning.client,
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

/// Choose CPUs (defaults: the first two this process may use), check user choices, and pin
/// this process (the load generator) now. Server children pin themselves.
fn pin(args: &LoadArgs) -> Result<Pinning, BenchError> {
    let allowed = sys::allowed_cpus().unwrap_or_default();
    let cpus = allowed.len().max(1);
    let none = Pinning {
        server: None,
        client: None,
        cpus,
    };
    if args.no_pin {
        return Ok(none);
    }
    if allowed.len() < 2 {
        if (args.server_cpu.is_some() || args.client_cpu.is_some()) && !args.quiet {
            eprintln!("corio-bench: only one CPU is usable: --server-cpu/--client-cpu ignored");
        }
        return Ok(none);
    }
    let check = |flag: &str, cpu: Option<usize>, default: usize| match cpu {
        Some(cpu) if !allowed.contains(&cpu) => Err(BenchError::Input(format!(
            "{flag} {cpu}: this process may only use CPUs {allowed:?}"
        ))),
        Some(cpu) => Ok(cpu),
        None => Ok(default),
    };
    let server = check("--server-cpu", args.server_cpu, allowed[0])?;
    let client = check("--client-cpu", args.client_cpu, allowed[1])?;
    if server == client && !args.quiet {
        eprintln!("corio-bench: note: server and load generator share CPU {server}");
    }
    sys::pin_to_cpu(client).map_err(|e| {
        BenchError::Failed(format!(
            "cannot pin the load generator to CPU {client}: {e}"
        ))
    })?;
    Ok(Pinning {
        server: Some(server),
        client: Some(client),
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
    server_cpu: Option<usize>,
) -> Result<Metrics, CellError> {
    let mut child = match target {
        Target::Variant(v) => Some(
            ServerChild::spawn(v, workload, server_cpu)
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
    };
    let mut before: Option<ProcStats> = None;
    let mut after: Option<ProcStats> = None;
    let outcome = client::run(&spec, &mut |phase| {
        let Some(child) = child.as_mut() else {
            return Ok(());
        };
        let stats = sys::proc_stats(child.pid())
            .map_err(|e| format!("cannot read the server's /proc entry: {e}"))?;
        match phase {
            Phase::WindowStart => before = Some(stats),
            Phase::WindowEnd => {
                after = Some(stats);
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
    Ok(Metrics {
        requests: outcome.requests,
        secs,
        throughput_rps: outcome.requests as f64 / secs,
        p50_us: outcome.latency_us[0],
        p99_us: outcome.latency_us[1],
        p999_us: outcome.latency_us[2],
        server_peak_rss_kib: after.map(|a| a.peak_rss_kib),
        server_threads: match (before, after) {
            (Some(b), Some(a)) => Some(a.threads.max(b.threads)),
            _ => None,
        },
        server_cpu_us_per_req: server_cpu_secs.map(|s| s * 1e6 / outcome.requests as f64),
        server_cpu_util: server_cpu_secs.map(|s| s / secs),
        client_cpu_util: outcome.client_cpu_util,
        other_cpu_util: server_cpu_secs
            .map(|s| (outcome.machine_busy_cores - s / secs - outcome.client_cpu_util).max(0.0)),
        errors: outcome.errors,
    })
}
