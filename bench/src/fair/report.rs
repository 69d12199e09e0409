//! Rendering a [`FairReport`]: the Markdown table on stdout (with the two checks per
//! workload: corio's canary p99 within 2× of threads' and no worse than tokio's) and
//! `fair.json`.

use std::fmt::Write as _;
use std::path::Path;

use super::{FairCell, FairReport};

/// A canary pause overrun (µs) above which the table says the client was starved.
const CLIENT_STALL_US: f64 = 10_000.0;

/// The table, its setup line, and notes.
pub fn markdown(report: &FairReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## corio-bench fair: {} canaries (one round trip each every {} ms) beside {} pipelining hog(s); {} s per cell after {} s warm-up, {} repeat(s), medians\n",
        report.canaries, report.interval_ms, report.hogs, report.secs, report.warmup_secs, report.repeats
    );
    let pinning = match (report.server_cpu, report.client_cpu) {
        (Some(server), Some(client)) => {
            format!("server pinned to CPU {server}, clients (std threads) to CPU {client}")
        }
        _ => "no CPU pinning".to_string(),
    };
    let _ = writeln!(s, "{pinning}.\n");
    s.push_str(
        "| workload | variant | canary p50 ms | canary p99 ms | canary max ms | worst max ms | round trips | stuck | hog replies/s | hog MiB/s | server CPU % | other CPU % | errors | polls/msg | forced yields/s | loop busy % |\n",
    );
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for cell in &report.results {
        s.push_str(&row(cell));
    }
    let notes = notes(report);
    if !notes.is_empty() {
        s.push('\n');
        for note in notes {
            let _ = writeln!(s, "- {note}");
        }
    }
    s
}

fn ms(us: f64) -> String {
    if us >= 100_000.0 {
        format!("{:.0}", us / 1000.0)
    } else {
        format!("{:.3}", us / 1000.0)
    }
}

fn dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "–".to_string())
}

fn pct(v: Option<f64>) -> String {
    dash(v.map(|v| format!("{:.0}", v * 100.0)))
}

fn row(cell: &FairCell) -> String {
    let Some(m) = &cell.median else {
        return format!(
            "| {} | {} | failed | | | | | | | | | | | | | |\n",
            cell.workload, cell.variant
        );
    };
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.1} | {} | {} | {} | {} | {} | {} |\n",
        cell.workload,
        cell.variant,
        ms(m.p50_us),
        ms(m.p99_us),
        ms(m.max_us),
        cell.worst_max_us.map(ms).unwrap_or_default(),
        m.canary_round_trips,
        m.stuck_at_end,
        m.hog_replies_per_sec,
        m.hog_mib_per_sec,
        pct(m.server_cpu_util),
        pct(m.other_cpu_util),
        m.canary_errors + m.hog_errors,
        dash(m.server_polls_per_msg.map(crate::report::sig3)),
        dash(m.server_forced_yields_per_sec.map(|y| format!("{y:.0}"))),
        pct(m.server_busy_ratio),
    )
}

/// The p99 checks, failures, and what "stuck" and "errors" mean when they are not zero.
fn notes(report: &FairReport) -> Vec<String> {
    let mut notes = Vec::new();
    let p99 = |workload: &str, variant: &str| {
        report
            .results
            .iter()
            .find(|c| c.workload == workload && c.variant == variant)
            .and_then(|c| c.median.as_ref())
            .map(|m| m.p99_us)
    };
    let mut workloads: Vec<&str> = report.results.iter().map(|c| c.workload).collect();
    workloads.dedup();
    for w in workloads {
        let Some(corio) = p99(w, "corio") else {
            continue;
        };
        let mut checks = Vec::new();
        if let Some(threads) = p99(w, "threads") {
            let r = corio / threads;
            let verdict = if r <= 2.0 { "met" } else { "missed" };
            checks.push(format!("{r:.2}× threads' (target ≤ 2×: {verdict})"));
        }
        if let Some(tokio) = p99(w, "tokio") {
            let r = corio / tokio;
            let verdict = if r <= 1.0 { "met" } else { "missed" };
            checks.push(format!("{r:.2}× tokio's (target ≤ 1×: {verdict})"));
        }
        if !checks.is_empty() {
            notes.push(format!("{w}: corio's canary p99 is {}", checks.join(", ")));
        }
    }
    if report.results.iter().any(|c| {
        c.median
            .as_ref()
            .is_some_and(|m| m.server_busy_ratio.is_some())
    }) {
        notes.push(
            "polls/msg (per canary round trip or hog reply), forced yields/s and loop busy % are the corio server's own runtime metrics (`corio::metrics()`, sampled at the window's start and end); the other variants have none (–)"
                .to_string(),
        );
    }
    let disturbed: Vec<String> = report
        .results
        .iter()
        .filter_map(|c| {
            let other = c.median.as_ref()?.other_cpu_util?;
            (other > crate::report::OTHER_LOAD)
                .then(|| format!("{} {} ({:.0}%)", c.workload, c.variant, other * 100.0))
        })
        .collect();
    if !disturbed.is_empty() {
        notes.push(format!(
            "other processes used CPU during {}: the tail latencies there are noisy; rerun on a quiet machine or with --repeats",
            disturbed.join(", ")
        ));
    }
    for cell in &report.results {
        for failure in &cell.failures {
            notes.push(format!(
                "{} {} failed: {failure}",
                cell.workload, cell.variant
            ));
        }
        if let Some(m) = &cell.median {
            if m.stuck_at_end > 0 {
                notes.push(format!(
                    "{} {}: {} canary round trip(s) were still unanswered when the window closed; they count at the age they reached, so the max is a lower bound",
                    cell.workload, cell.variant, m.stuck_at_end
                ));
            }
            if m.client_stall_max_us > CLIENT_STALL_US {
                notes.push(format!(
                    "{} {}: a canary thread itself went {} ms without running (a busy machine): up to that much of its tail is the client's",
                    cell.workload, cell.variant, ms(m.client_stall_max_us)
                ));
            }
            if let Some(err) = &m.first_error {
                notes.push(format!(
                    "{} {}: {} canary and {} hog connection error(s); first: {err}",
                    cell.workload, cell.variant, m.canary_errors, m.hog_errors
                ));
            }
        }
    }
    notes
}

/// Write `fair.json` into `dir` (created if missing).
pub fn write_json(report: &FairReport, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| format!("JSON: {e}"))?;
    let path = dir.join("fair.json");
    std::fs::write(&path, json + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}
