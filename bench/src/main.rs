//! # corio-bench — what the event loop buys over threads, measured on your machine
//!
//! `cargo run --release -p corio-bench` runs the default sweep (echo, 64-byte messages,
//! 1/10/100/1000/5000 connections, four server variants, about a minute) and prints a
//! Markdown table. `http` runs the keep-alive HTTP workload; `--shards 1,2` gives corio
//! (and `tokio-mt`) one cell per shard count, the server pinned to that many CPUs; `scale`
//! sweeps shards 1..=N and prints req/s and server CPU µs/req per count; `micro` the runtime's
//! micro-benchmarks; `fair` well-behaved connections' round trips beside pipelining hogs,
//! every variant; `canary` the same load against a server already running (the examples). `--out DIR` also writes `results.json`, `results.csv`, `results.svg`.
//!
//! # How a sweep runs
//!
//! ```text
//!  corio-bench (this process: the load generator, pinned to the client CPU(s))
//!    for each repeat, each connection count, each variant (interleaved A B C D A B C D):
//!      spawn `corio-bench serve --variant X` ──► child pins itself to the server CPU,
//!            ◄── first stdout line: its address        binds 127.0.0.1:0, serves
//!      corio load generator (1 loop per client CPU, up to 4; 1 on a 2-CPU machine):
//!        N connections, closed loop, one request in flight each
//!      warm-up ─► /proc/<child> sample ─► measured window ─► sample ─► kill + reap
//!    medians over repeats ─► Markdown table (stdout), JSON/CSV/SVG (--out)
//! ```
//!
//! Server variants (`src/servers/`): `corio` (a task per connection, buffer-free while
//! idle; with `--shards N`, N loops of `corio::shard::Pool`, one `SO_REUSEPORT` listener
//! each), `threads` (std, a thread per connection), `tokio` (current_thread + LocalSet,
//! `spawn_local` per connection, 4 KiB buffer each), `tokio-mt` (the multi-thread runtime,
//! `--shards` worker threads, `tokio::spawn` per connection), `mio` (a hand-written
//! edge-triggered loop: the floor for this architecture).
//!
//! # Exit codes
//!
//! 0 success; 2 bad input (unknown subcommand or variant, zero connections, malformed
//! numbers, an unreachable `--target`); 1 a failure while running (a server that will not
//! start, a cell that failed, an unwritable `--out`).
//!
//! # Non-goals
//!
//! Remote targets (loopback only), TLS, and any HTTP beyond one
//! fixed keep-alive request. A truly open loop: under `--rate` each connection still keeps
//! one message in flight (a late answer delays its next send, and the latency shows it).
#![deny(missing_docs)]

mod child;
mod cli;
mod client;
mod error;
mod fair;
mod http;
mod micro;
mod paired;
mod placement;
mod plot;
mod report;
mod results;
mod runtime_metrics;
mod scale;
mod servers;
mod sweep;
mod sys;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, LoadArgs, Workload};
use crate::error::BenchError;

fn main() -> ExitCode {
    let cli = Cli::parse(); // exits with code 2 and a message on bad input
    let result = match cli.command {
        None => sweep_and_report(Workload::Echo, &cli.load),
        Some(Command::Echo(args)) => sweep_and_report(Workload::Echo, &args),
        Some(Command::Http(args)) => sweep_and_report(Workload::Http, &args),
        Some(Command::Scale(args)) => scale::run(&args),
        Some(Command::Micro(args)) => micro::run(&args).map_err(BenchError::Failed),
        Some(Command::Fair(args)) => fair::run(&args),
        Some(Command::Canary(args)) => fair::canary(&args),
        Some(Command::Serve(args)) => servers::serve(&args).map_err(BenchError::Failed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("corio-bench: error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Run a sweep, print its table, write its files; fail (exit 1) if any cell failed.
fn sweep_and_report(workload: Workload, args: &LoadArgs) -> Result<(), BenchError> {
    let report = sweep::run(workload, args)?;
    print!("{}", report::markdown(&report));
    finish(&report, args.out.as_deref(), args.quiet)
}

/// After a sweep's tables: write its files into `out`, if given; fail (exit 1) if any cell
/// failed.
fn finish(report: &results::Report, out: Option<&Path>, quiet: bool) -> Result<(), BenchError> {
    if let Some(dir) = out {
        report::write_files(report, dir).map_err(BenchError::Failed)?;
        if !quiet {
            eprintln!(
                "corio-bench: wrote results.json, results.csv and results.svg to {}",
                dir.display()
            );
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
