//! The result data model (what `results.json` holds) and the median over repeats.
//!
//! Every metric of a cell is the median of that metric over the cell's successful repeats,
//! taken metric by metric (so a cell's median p99 and median throughput may come from
//! different repeats).

use serde::Serialize;

/// One measured run of one cell (or the median of several).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Requests completed in the measured window.
    pub requests: u64,
    /// Length of the measured window, seconds.
    pub secs: f64,
    /// Requests per second.
    pub throughput_rps: f64,
    /// Median request latency, microseconds.
    pub p50_us: f64,
    /// 99th-percentile latency, microseconds.
    pub p99_us: f64,
    /// 99.9th-percentile latency, microseconds.
    pub p999_us: f64,
    /// Server peak resident memory (VmHWM), KiB; absent for `--target`. Includes the pages
    /// of the bench executable the server touched (~3.5 MiB, the same for every variant).
    pub server_peak_rss_kib: Option<u64>,
    /// Server anonymous resident memory (RssAnon: heap and stacks) at the end of the window,
    /// all connections still open, KiB; absent for `--target`. What the server allocated,
    /// without the executable's code pages.
    pub server_anon_rss_kib: Option<u64>,
    /// Server threads at the end of the window; absent for `--target`.
    pub server_threads: Option<u64>,
    /// Server CPU time (user + system) per request, microseconds; absent for `--target`.
    pub server_cpu_us_per_req: Option<f64>,
    /// Server CPU time / window (1.0 = one core busy); absent for `--target`.
    pub server_cpu_util: Option<f64>,
    /// Load generator CPU time / window, in cores (1.0 = one core busy; the client may have
    /// several threads).
    pub client_cpu_util: f64,
    /// CPU used by every *other* process on the machine during the window, in cores (machine
    /// busy time minus server and client time; includes hypervisor steal). Above ~0.1 the
    /// cell was disturbed. Absent for `--target` (the server's time is unknown).
    pub other_cpu_util: Option<f64>,
    /// The server loop's task polls per request (its polls per second over the client's
    /// requests per second), from its runtime metrics; corio only, else absent.
    pub server_polls_per_req: Option<f64>,
    /// Polls the cooperative budget cut short, per second; corio only, else absent.
    pub server_forced_yields_per_sec: Option<f64>,
    /// Share of the window the server loop was busy (not parked in `epoll_wait`), 0 to 1,
    /// from its runtime metrics; corio only, else absent.
    pub server_busy_ratio: Option<f64>,
    /// Times the server's loops parked (waited in `epoll_wait`) per request, all shards
    /// together; corio only, else absent. An underloaded loop parks more per request.
    pub server_parks_per_req: Option<f64>,
    /// Connections that failed inside the window.
    pub errors: u64,
}

/// One (variant, connections) cell of the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct CellResult {
    /// Server variant (or `target`).
    pub variant: String,
    /// Concurrent connections.
    pub conns: usize,
    /// Shards (corio) or worker threads (tokio-mt); absent for the one-thread variants.
    pub shards: Option<usize>,
    /// CPUs the server was pinned to (empty: not pinned).
    pub server_cpus: Vec<usize>,
    /// CPUs the load generator ran on (empty: not pinned).
    pub client_cpus: Vec<usize>,
    /// The load generator shared the server's CPUs (none was left for it): req/s is the
    /// machine's, server CPU µs/req is the figure.
    pub client_shares_cpus: bool,
    /// Medians over the successful repeats; absent when every repeat failed.
    #[serde(flatten)]
    pub median: Option<Metrics>,
    /// Why repeats failed, one message per failed repeat.
    pub failures: Vec<String>,
    /// Every successful repeat, in the order run.
    pub samples: Vec<Metrics>,
}

/// A whole sweep: its settings and its cells.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always `corio-bench`.
    pub tool: &'static str,
    /// This crate's version.
    pub version: &'static str,
    /// `echo` or `http`.
    pub workload: &'static str,
    /// Echo message size in bytes; absent for HTTP.
    pub message_size: Option<usize>,
    /// Measured seconds per cell.
    pub secs: f64,
    /// Warm-up seconds per cell.
    pub warmup_secs: f64,
    /// Offered load (messages per second over all connections); absent: closed loop.
    pub rate: Option<f64>,
    /// Repeats of the sweep.
    pub repeats: u32,
    /// CPUs this process could use at start.
    pub cpus: usize,
    /// CPU the servers were pinned to.
    pub server_cpu: Option<usize>,
    /// Load generator threads (corio loops).
    pub client_threads: usize,
    /// CPUs the load generator threads were pinned to (empty: not pinned).
    pub client_cpus: Vec<usize>,
    /// Soft RLIMIT_NOFILE after raising it.
    pub nofile_limit: u64,
    /// Connection counts skipped because they do not fit RLIMIT_NOFILE.
    pub skipped_conns: Vec<usize>,
    /// One entry per (conns, variant), conns ascending, variants in `--variants` order.
    pub results: Vec<CellResult>,
}

/// Median of `values` (mean of the middle two for an even count); `None` when empty.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Metric-by-metric median of `samples`; `None` when there are none.
pub fn median_metrics(samples: &[Metrics]) -> Option<Metrics> {
    let f = |get: &dyn Fn(&Metrics) -> f64| median(samples.iter().map(get).collect());
    let opt = |get: &dyn Fn(&Metrics) -> Option<f64>| {
        let values: Option<Vec<f64>> = samples.iter().map(get).collect();
        values.and_then(median)
    };
    Some(Metrics {
        requests: f(&|m| m.requests as f64)?.round() as u64,
        secs: f(&|m| m.secs)?,
        throughput_rps: f(&|m| m.throughput_rps)?,
        p50_us: f(&|m| m.p50_us)?,
        p99_us: f(&|m| m.p99_us)?,
        p999_us: f(&|m| m.p999_us)?,
        server_peak_rss_kib: opt(&|m| m.server_peak_rss_kib.map(|v| v as f64))
            .map(|v| v.round() as u64),
        server_anon_rss_kib: opt(&|m| m.server_anon_rss_kib.map(|v| v as f64))
            .map(|v| v.round() as u64),
        server_threads: opt(&|m| m.server_threads.map(|v| v as f64)).map(|v| v.round() as u64),
        server_cpu_us_per_req: opt(&|m| m.server_cpu_us_per_req),
        server_cpu_util: opt(&|m| m.server_cpu_util),
        client_cpu_util: f(&|m| m.client_cpu_util)?,
        other_cpu_util: opt(&|m| m.other_cpu_util),
        server_polls_per_req: opt(&|m| m.server_polls_per_req),
        server_forced_yields_per_sec: opt(&|m| m.server_forced_yields_per_sec),
        server_busy_ratio: opt(&|m| m.server_busy_ratio),
        server_parks_per_req: opt(&|m| m.server_parks_per_req),
        errors: f(&|m| m.errors as f64)?.round() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn metrics_median_is_taken_field_by_field() {
        let m = |rps: f64, p99: f64| Metrics {
            requests: rps as u64,
            secs: 1.0,
            throughput_rps: rps,
            p50_us: 1.0,
            p99_us: p99,
            p999_us: p99,
            server_peak_rss_kib: Some(100),
            server_anon_rss_kib: Some(rps as u64),
            server_threads: None,
            server_cpu_us_per_req: Some(2.0),
            server_cpu_util: Some(0.5),
            client_cpu_util: 0.4,
            other_cpu_util: None,
            server_polls_per_req: Some(rps / 10.0),
            server_forced_yields_per_sec: None,
            server_busy_ratio: Some(0.5),
            server_parks_per_req: None,
            errors: 0,
        };
        let med = median_metrics(&[m(10.0, 9.0), m(30.0, 1.0), m(20.0, 5.0)]).unwrap();
        assert_eq!(med.throughput_rps, 20.0);
        assert_eq!(med.p99_us, 5.0);
        assert_eq!(med.server_peak_rss_kib, Some(100));
        assert_eq!(med.server_anon_rss_kib, Some(20));
        assert_eq!(med.server_threads, None);
        assert_eq!(med.server_polls_per_req, Some(2.0));
        assert_eq!(med.server_forced_yields_per_sec, None);
        assert_eq!(med.server_busy_ratio, Some(0.5));
    }
}
