//! `corio-bench canary --addr 127.0.0.1:PORT --proto http|redis|echo`: the fairness load
//! ([`load::run`](super::load::run)) against a server that is already running — the
//! examples, from `scripts/canary.sh` — and one line with the canary's p50/p99/max round
//! trip and whether the max stayed under `--target-ms` (the 50 ms).
//!
//! Exit codes: 0 when it measured (whether or not the target was met: the verdict is in the
//! output), 2 on bad input or a server that cannot be reached, 1 on other failures.

use std::time::Duration;

use serde::Serialize;

use super::load::{self, FairOutcome, FairSpec, RunError};
use super::proto::Proto;
use crate::cli::CanaryArgs;
use crate::error::BenchError;

/// What `--json` prints: the settings, the outcome, the verdict.
#[derive(Debug, Serialize)]
struct CanaryReport<'a> {
    addr: String,
    proto: Proto,
    hogs: usize,
    canaries: usize,
    target_ms: f64,
    target_met: bool,
    #[serde(flatten)]
    outcome: &'a FairOutcome,
}

/// Run `corio-bench canary`.
pub fn run(args: &CanaryArgs) -> Result<(), BenchError> {
    let spec = FairSpec {
        addr: args.addr,
        proto: args.proto,
        hogs: args.hogs,
        canaries: args.canaries,
        interval: Duration::from_millis(args.interval_ms),
        warmup: Duration::from_secs_f64(args.warmup),
        window: Duration::from_secs_f64(args.secs),
    };
    let outcome = load::run(&spec, &mut |_| Ok(())).map_err(|e| match e {
        RunError::Unreachable(msg) => BenchError::Input(msg),
        RunError::Failed(msg) => BenchError::Failed(msg),
    })?;
    // No sample means nothing answered in the window: the target cannot be called met.
    let target_met = outcome.canary_round_trips > 0 && outcome.max_us < args.target_ms * 1000.0;
    if args.json {
        let report = CanaryReport {
            addr: args.addr.to_string(),
            proto: args.proto,
            hogs: args.hogs,
            canaries: args.canaries,
            target_ms: args.target_ms,
            target_met,
            outcome: &outcome,
        };
        let json = serde_json::to_string(&report).map_err(|e| BenchError::Failed(e.to_string()))?;
        println!("{json}");
        return Ok(());
    }
    let mut line = format!(
        "canary {} {}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {} round trips",
        args.proto.name(),
        args.addr,
        outcome.p50_us / 1000.0,
        outcome.p99_us / 1000.0,
        outcome.max_us / 1000.0,
        outcome.canary_round_trips,
    );
    if outcome.stuck_at_end > 0 {
        line += &format!(" ({} unanswered at the end)", outcome.stuck_at_end);
    }
    line += &format!(
        "; hog {:.0} replies/s, {:.1} MiB/s",
        outcome.hog_replies_per_sec, outcome.hog_mib_per_sec
    );
    if outcome.client_stall_max_us > 10_000.0 {
        line += &format!(
            "; the canary thread itself stalled up to {:.1} ms (busy machine)",
            outcome.client_stall_max_us / 1000.0
        );
    }
    if let Some(err) = &outcome.first_error {
        line += &format!(
            "; {} canary / {} hog errors (first: {err})",
            outcome.canary_errors, outcome.hog_errors
        );
    }
    line += &format!(
        "; max < {} ms: {}",
        args.target_ms,
        if target_met { "yes" } else { "NO" }
    );
    println!("{line}");
    Ok(())
}
