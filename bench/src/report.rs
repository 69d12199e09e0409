//! Rendering a [`Report`]: the Markdown table for stdout, and the files `--out DIR` writes
//! (`results.json`, `results.csv`; the SVG comes from `plot.rs`).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::results::{CellResult, Report};
use crate::{paired, plot};

/// Client CPU share above which a cell's numbers may be limited by the load generator.
pub const CLIENT_SATURATION: f64 = 0.9;

/// CPU share (in cores) of other processes above which a cell is flagged as disturbed.
pub const OTHER_LOAD: f64 = 0.1;

/// The Markdown the tool prints on stdout: a heading, the setup line, the table, and notes.
pub fn markdown(report: &Report) -> String {
    let mut s = String::new();
    let what = match report.message_size {
        Some(size) => format!("echo, {size}-byte messages"),
        None => "http, keep-alive GET /".to_string(),
    };
    let load = match report.rate {
        Some(rate) => format!("paced at {rate} msgs/s over all connections"),
        None => "closed loop".to_string(),
    };
    let _ = writeln!(
        s,
        "## corio-bench {}, {}: {} s per cell after {} s warm-up, {} repeat(s), medians\n",
        what, load, report.secs, report.warmup_secs, report.repeats
    );
    let threads = match report.client_threads {
        1 => "1 thread".to_string(),
        n => format!("{n} threads"),
    };
    let pinning = match report.server_cpu {
        Some(server) => format!(
            "server pinned to CPU {server}, load generator (corio, {threads}) to CPU {}",
            report
                .client_cpus
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => format!("no CPU pinning; load generator (corio) on {threads}"),
    };
    let _ = writeln!(
        s,
        "{pinning}; {} CPU(s) usable; RLIMIT_NOFILE {}.\n",
        report.cpus, report.nofile_limit
    );
    s.push_str(
        "| conns | variant | req/s | p50 µs | p99 µs | p99.9 µs | server RSS MiB | server heap+stacks MiB | threads | server CPU µs/req | server CPU % | client CPU % | polls/req | forced yields/s | loop busy % |\n",
    );
    s.push_str("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for cell in &report.results {
        s.push_str(&row(cell));
    }
    if let Some(paired) = paired::table(report) {
        s.push_str(&paired);
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

/// `v` with three significant digits (`1.00`, `0.0312`, `0.000287`, `1234`): polls per
/// request or message range from thousandths (pipelined hogs) to hundreds.
pub fn sig3(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    format!("{v:.decimals$}")
}

fn row(cell: &CellResult) -> String {
    let Some(m) = &cell.median else {
        return format!(
            "| {} | {} | failed | | | | | | | | | | | | |\n",
            cell.conns, cell.variant
        );
    };
    let opt = |v: Option<String>| v.unwrap_or_else(|| "–".to_string());
    format!(
        "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {} |\n",
        cell.conns,
        cell.variant,
        m.throughput_rps,
        m.p50_us,
        m.p99_us,
        m.p999_us,
        opt(m
            .server_peak_rss_kib
            .map(|k| format!("{:.1}", k as f64 / 1024.0))),
        opt(m
            .server_anon_rss_kib
            .map(|k| format!("{:.2}", k as f64 / 1024.0))),
        opt(m.server_threads.map(|t| t.to_string())),
        opt(m.server_cpu_us_per_req.map(|u| format!("{u:.1}"))),
        opt(m.server_cpu_util.map(|u| format!("{:.0}", u * 100.0))),
        m.client_cpu_util * 100.0,
        opt(m.server_polls_per_req.map(sig3)),
        opt(m.server_forced_yields_per_sec.map(|y| format!("{y:.0}"))),
        opt(m.server_busy_ratio.map(|b| format!("{:.0}", b * 100.0))),
    )
}

/// Things the reader must know to trust the table.
fn notes(report: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    let mut disturbed = Vec::new();
    let mut client_bound = Vec::new();
    if !report.skipped_conns.is_empty() {
        notes.push(format!(
            "skipped {:?} connections: RLIMIT_NOFILE is {} (raise the hard limit, e.g. `ulimit -Hn`, to run them)",
            report.skipped_conns, report.nofile_limit
        ));
    }
    for cell in &report.results {
        for failure in &cell.failures {
            notes.push(format!(
                "{} with {} connections failed: {failure}",
                cell.variant, cell.conns
            ));
        }
        if let Some(m) = &cell.median {
            let client_share = m.client_cpu_util / report.client_threads.max(1) as f64;
            if client_share > CLIENT_SATURATION {
                client_bound.push(format!(
                    "{} x{} ({:.0}%)",
                    cell.variant,
                    cell.conns,
                    client_share * 100.0
                ));
            }
            if let Some(other) = m.other_cpu_util.filter(|&o| o > OTHER_LOAD) {
                disturbed.push(format!(
                    "{} x{} ({:.0}%)",
                    cell.variant,
                    cell.conns,
                    other * 100.0
                ));
            }
            if m.errors > 0 {
                notes.push(format!(
                    "{} with {} connections: {} connection(s) failed during the window",
                    cell.variant, cell.conns, m.errors
                ));
            }
        }
    }
    if report.results.iter().any(|c| {
        c.median
            .as_ref()
            .is_some_and(|m| m.server_busy_ratio.is_some())
    }) {
        notes.push(
            "polls/req, forced yields/s and loop busy % are the corio server's own runtime metrics (`corio::metrics()`, sampled at the window's start and end); the other variants have none (–)"
                .to_string(),
        );
    }
    notes.extend(placement_notes(report));
    if !client_bound.is_empty() {
        notes.push(format!(
            "the load generator was near its CPU limit in {}: there req/s is a lower bound for the server (compare server CPU µs/req instead)",
            client_bound.join(", ")
        ));
    }
    if !disturbed.is_empty() {
        notes.push(format!(
            "other processes used CPU during {}: {} — those numbers are noisy; rerun on a quiet machine or with --repeats",
            if disturbed.len() == 1 { "this cell" } else { "these cells" },
            disturbed.join(", ")
        ));
    }
    notes
}

/// Where the cells whose server had more than one CPU ran (the header line gives the
/// one-CPU placement), one note per distinct placement.
fn placement_notes(report: &Report) -> Vec<String> {
    /// One placement and the variants that ran with it.
    struct Seen<'a> {
        server: &'a [usize],
        client: &'a [usize],
        shared: bool,
        variants: Vec<&'a str>,
    }
    let list = |cpus: &[usize]| {
        cpus.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut seen: Vec<Seen<'_>> = Vec::new();
    for cell in report.results.iter().filter(|c| c.server_cpus.len() > 1) {
        let (server, client, shared) = (
            &cell.server_cpus[..],
            &cell.client_cpus[..],
            cell.client_shares_cpus,
        );
        match seen
            .iter_mut()
            .find(|s| s.server == server && s.client == client && s.shared == shared)
        {
            Some(entry) if entry.variants.contains(&cell.variant.as_str()) => {}
            Some(entry) => entry.variants.push(&cell.variant),
            None => seen.push(Seen {
                server,
                client,
                shared,
                variants: vec![&cell.variant],
            }),
        }
    }
    seen.into_iter()
        .map(|s| {
            let client = if s.shared {
                "the load generator shares them (no CPU left for it): req/s there shows the \
                 machine, not the server; compare server CPU µs/req"
                    .to_string()
            } else {
                format!("the load generator on CPU(s) {}", list(s.client))
            };
            format!(
                "{}: server pinned to CPUs {}, {client}",
                s.variants.join(", "),
                list(s.server)
            )
        })
        .collect()
}

/// One CSV line per cell (the medians), with a header.
pub fn csv(report: &Report) -> String {
    let mut s = String::from(
        "workload,variant,conns,requests,secs,throughput_rps,p50_us,p99_us,p999_us,server_peak_rss_kib,server_anon_rss_kib,server_threads,server_cpu_us_per_req,server_cpu_util,client_cpu_util,other_cpu_util,server_polls_per_req,server_forced_yields_per_sec,server_busy_ratio,server_parks_per_req,errors,failures\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for cell in &report.results {
        let _ = write!(s, "{},{},{},", report.workload, cell.variant, cell.conns);
        match &cell.median {
            Some(m) => {
                let _ = write!(
                    s,
                    "{},{:.3},{:.1},{:.1},{:.1},{:.1},{},{},{},{},{},{:.3},{},{},{},{},{},",
                    m.requests,
                    m.secs,
                    m.throughput_rps,
                    m.p50_us,
                    m.p99_us,
                    m.p999_us,
                    opt(m.server_peak_rss_kib.map(|v| v.to_string())),
                    opt(m.server_anon_rss_kib.map(|v| v.to_string())),
                    opt(m.server_threads.map(|v| v.to_string())),
                    opt(m.server_cpu_us_per_req.map(|v| format!("{v:.3}"))),
                    opt(m.server_cpu_util.map(|v| format!("{v:.3}"))),
                    m.client_cpu_util,
                    opt(m.other_cpu_util.map(|v| format!("{v:.3}"))),
                    opt(m.server_polls_per_req.map(|v| format!("{v:.3}"))),
                    opt(m.server_forced_yields_per_sec.map(|v| format!("{v:.1}"))),
                    opt(m.server_busy_ratio.map(|v| format!("{v:.3}"))),
                    opt(m.server_parks_per_req.map(|v| format!("{v:.4}"))),
                );
                let _ = write!(s, "{}", m.errors);
            }
            None => s.push_str(",,,,,,,,,,,,,,,,,"),
        }
        let _ = writeln!(s, ",{}", cell.failures.len());
    }
    s
}

/// Write `results.json`, `results.csv` and `results.svg` into `dir` (created if missing).
pub fn write_files(report: &Report, dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| format!("JSON: {e}"))?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("results.json", &(json + "\n"))?;
    write("results.csv", &csv(report))?;
    plot::write_svg(report, &dir.join("results.svg"))
}

#[cfg(test)]
mod tests {
    use super::sig3;

    #[test]
    fn sig3_keeps_three_significant_digits() {
        assert_eq!(sig3(1.0), "1.00");
        assert_eq!(sig3(0.031234), "0.0312");
        assert_eq!(sig3(0.000287), "0.000287");
        assert_eq!(sig3(12.345), "12.3");
        assert_eq!(sig3(1234.4), "1234");
        assert_eq!(sig3(0.0), "0");
    }
}
