//! Ratios against tokio taken repeat by repeat: the figure to read on a noisy machine.
//!
//! The sweep interleaves its variants (corio, tokio, corio, tokio, ...), so the two cells of
//! one repeat ran seconds apart under the same machine conditions, while two repeats may not
//! have. The ratio of the two variants' medians mixes repeats; the median of the per-repeat
//! ratios does not, and their range says how far one run could be trusted. Printed under
//! the main table whenever the sweep has a `tokio` variant.

use std::fmt::Write as _;

use crate::results::{median, CellResult, Metrics, Report};

/// The variant the others are compared with.
const BASELINE: &str = "tokio";

/// The per-repeat ratios of one cell against the baseline cell of the same count.
struct Paired {
    rps: Vec<f64>,
    cpu: Vec<f64>,
}

impl Paired {
    /// `None` unless both cells have every repeat (pairing by position needs that).
    fn of(cell: &CellResult, base: &CellResult, repeats: usize) -> Option<Paired> {
        if cell.samples.len() != repeats || base.samples.len() != repeats || repeats == 0 {
            return None;
        }
        let pairs = || cell.samples.iter().zip(&base.samples);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let rps = pairs()
            .filter_map(|(c, b)| ratio(Some(c.throughput_rps), Some(b.throughput_rps)))
            .collect();
        let cpu = pairs()
            .filter_map(|(c, b): (&Metrics, &Metrics)| {
                ratio(c.server_cpu_us_per_req, b.server_cpu_us_per_req)
            })
            .collect();
        Some(Paired { rps, cpu })
    }
}

/// `median (min–max)` of `values`, or `–` when there are none.
fn summary(values: &[f64]) -> String {
    let Some(mid) = median(values.to_vec()) else {
        return "–".to_string();
    };
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{mid:.3} ({min:.2}–{max:.2})")
}

/// The paired table, or `None` when the sweep has no baseline or nothing to pair with it.
pub fn table(report: &Report) -> Option<String> {
    let repeats = report.repeats as usize;
    let mut rows = String::new();
    for cell in report.results.iter().filter(|c| c.variant != BASELINE) {
        let Some(base) = report
            .results
            .iter()
            .find(|b| b.variant == BASELINE && b.conns == cell.conns)
        else {
            continue;
        };
        let Some(paired) = Paired::of(cell, base, repeats) else {
            continue;
        };
        let shards = cell.shards.map_or(String::new(), |n| format!(" ×{n}"));
        let _ = writeln!(
            rows,
            "| {} | {}{} | {} | {} |",
            cell.conns,
            cell.variant,
            shards,
            summary(&paired.rps),
            summary(&paired.cpu)
        );
    }
    if rows.is_empty() {
        return None;
    }
    let mut s = format!(
        "\n### against {BASELINE}, repeat by repeat: median of the {repeats} per-repeat ratios (min–max)\n\n"
    );
    s.push_str("| conns | variant | req/s ÷ tokio (higher is better) | server CPU µs/req ÷ tokio (lower is better) |\n");
    s.push_str("|---:|---|---:|---:|\n");
    s.push_str(&rows);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(rps: f64, cpu: f64) -> Metrics {
        Metrics {
            requests: rps as u64,
            secs: 1.0,
            throughput_rps: rps,
            p50_us: 1.0,
            p99_us: 1.0,
            p999_us: 1.0,
            server_peak_rss_kib: None,
            server_anon_rss_kib: None,
            server_threads: None,
            server_cpu_us_per_req: Some(cpu),
            server_cpu_util: None,
            client_cpu_util: 0.5,
            other_cpu_util: None,
            server_polls_per_req: None,
            server_forced_yields_per_sec: None,
            server_busy_ratio: None,
            server_parks_per_req: None,
            errors: 0,
        }
    }

    fn cell(variant: &str, conns: usize, samples: Vec<Metrics>) -> CellResult {
        CellResult {
            variant: variant.to_string(),
            conns,
            shards: None,
            server_cpus: vec![],
            client_cpus: vec![],
            client_shares_cpus: false,
            median: None,
            failures: vec![],
            samples,
        }
    }

    #[test]
    fn ratios_pair_each_repeat_with_its_own_baseline() {
        // Repeat 2 ran on a slow machine for both: the medians' ratio (200/150 = 1.33) hides
        // what every pair says (2.0 each time).
        let corio = cell(
            "corio",
            100,
            vec![
                metrics(200.0, 5.0),
                metrics(100.0, 10.0),
                metrics(400.0, 2.5),
            ],
        );
        let tokio = cell(
            "tokio",
            100,
            vec![
                metrics(100.0, 10.0),
                metrics(50.0, 20.0),
                metrics(200.0, 5.0),
            ],
        );
        let paired = Paired::of(&corio, &tokio, 3).unwrap();
        assert_eq!(paired.rps, [2.0, 2.0, 2.0]);
        assert_eq!(paired.cpu, [0.5, 0.5, 0.5]);
        assert_eq!(summary(&paired.rps), "2.000 (2.00–2.00)");
        assert_eq!(summary(&[1.2, 0.8, 1.0]), "1.000 (0.80–1.20)");
        assert_eq!(summary(&[]), "–");
    }

    #[test]
    fn a_cell_with_a_failed_repeat_is_not_paired() {
        let corio = cell("corio", 10, vec![metrics(1.0, 1.0)]);
        let tokio = cell("tokio", 10, vec![metrics(1.0, 1.0), metrics(1.0, 1.0)]);
        assert!(Paired::of(&corio, &tokio, 2).is_none());
        assert!(Paired::of(&tokio, &tokio, 2).is_some());
    }
}
