//! `scale`: the many-cores sweep. One connection count, shard counts 1..=N for corio
//! (`shard::Pool`, one `SO_REUSEPORT` listener per shard) and the same N of worker threads
//! for tokio's multi-thread runtime, the server pinned to N CPUs and the load generator to
//! the rest (`placement.rs`). Prints the sweep's usual table, then one line per shard count:
//! req/s, server CPU µs/req, and req/s against the same variant's one-shard cell.
//!
//! The default N is the usable CPUs minus one, so the load generator keeps a CPU of its
//! own; on a 2-CPU machine that is 1, and `--max-shards 2` makes the load generator share
//! the CPUs (then only server CPU µs/req means anything).

use std::fmt::Write as _;

use crate::cli::{LoadArgs, ScaleArgs, Variant};
use crate::error::BenchError;
use crate::report::{self, sig3};
use crate::results::{CellResult, Report};
use crate::{sweep, sys};

/// Run the sweep `args` describes, print both tables, write the files.
pub fn run(args: &ScaleArgs) -> Result<(), BenchError> {
    let max = args.max_shards.unwrap_or_else(default_max);
    let load = LoadArgs {
        conns: vec![args.conns],
        secs: args.secs,
        warmup: args.warmup,
        rate: None,
        size: args.size,
        variants: args.variants.clone(),
        shards: (1..=max).collect(),
        repeats: args.repeats,
        out: args.out.clone(),
        quiet: args.quiet,
        server_cpu: None,
        client_cpu: None,
        client_threads: args.client_threads,
        no_pin: args.no_pin,
        target: None,
    };
    let report = sweep::run(args.workload, &load)?;
    print!("{}", report::markdown(&report));
    print!("\n{}", table(&report, max));
    crate::finish(&report, load.out.as_deref(), load.quiet)
}

/// The usable CPUs minus one for the load generator, at least 1.
fn default_max() -> usize {
    let cpus = sys::allowed_cpus().map_or(1, |c| c.len());
    cpus.saturating_sub(1).max(1)
}

/// One row per shard count, two columns per sharded variant, plus the scaling against 1.
pub fn table(report: &Report, max: usize) -> String {
    let sharded: Vec<&str> = [Variant::Corio, Variant::TokioMt]
        .into_iter()
        .map(Variant::name)
        .filter(|name| report.results.iter().any(|c| base(c) == *name))
        .collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## scale: {} on {} usable CPU(s), shards (tokio-mt: worker threads) 1..={max}\n",
        report.workload, report.cpus
    );
    let mut head = String::from("| shards |");
    let mut rule = String::from("|---:|");
    for name in &sharded {
        let _ = write!(
            head,
            " {name} req/s | {name} vs 1 | {name} server CPU µs/req |"
        );
        rule.push_str("---:|---:|---:|");
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for n in 1..=max {
        let _ = write!(s, "| {n} |");
        for name in &sharded {
            let at = |k: usize| {
                report
                    .results
                    .iter()
                    .find(|c| base(c) == *name && c.shards == Some(k))
                    .and_then(|c| c.median.as_ref())
            };
            match (at(n), at(1)) {
                (Some(m), one) => {
                    let ratio = one
                        .filter(|o| o.throughput_rps > 0.0)
                        .map_or("–".to_string(), |o| {
                            sig3(m.throughput_rps / o.throughput_rps)
                        });
                    let cpu = m
                        .server_cpu_us_per_req
                        .map_or("–".to_string(), |u| format!("{u:.2}"));
                    let _ = write!(s, " {:.0} | {ratio} | {cpu} |", m.throughput_rps);
                }
                (None, _) => s.push_str(" failed | | |"),
            }
        }
        s.push('\n');
    }
    if report.results.iter().any(|c| c.client_shares_cpus) {
        s.push_str(
            "\nWhere the server has every CPU the load generator shares them: req/s there \
             cannot show scaling; server CPU µs/req (the server's own user+system time per \
             request) is the figure.\n",
        );
    }
    s
}

/// The variant's name without its shard count (`corio ×2` is `corio`).
fn base(cell: &CellResult) -> &str {
    cell.variant.split(" ×").next().unwrap_or(&cell.variant)
}
