//! `corio-bench micro`: the runtime's micro-benchmarks, corio vs tokio current_thread, quick.
//!
//! Each case runs on both runtimes in interleaved repeats (corio, tokio, corio, tokio, ...)
//! so machine noise hits both alike; the table reports the median time per iteration and
//! the ratio corio/tokio (lower is better). The idle-task memory case runs each runtime in a
//! child process of its own, so one allocator's leftovers do not flatter the other.
//! Output lines are `case corio_ns tokio_ns ratio`, then one summary line, for scripts.

pub mod cases;
pub mod cross_thread;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use crate::cli::MicroArgs;
use cases::{Case, CASES};

/// One measured row.
#[derive(Debug, Clone, Serialize)]
pub struct MicroResult {
    /// Case name.
    pub case: String,
    /// What one iteration is.
    pub unit: String,
    /// Median corio time per iteration, ns (bytes per task for the memory case).
    pub corio_ns: f64,
    /// Median tokio time per iteration, ns (bytes per task for the memory case).
    pub tokio_ns: f64,
    /// corio / tokio.
    pub ratio: f64,
    /// The target ratio.
    pub target: f64,
    /// Whether the ratio meets the target.
    pub met: bool,
}

const MEMORY_CASE: &str = "idle_task_memory";

/// Every timed case: the single-loop ones, then the cross-thread ones.
fn all_cases() -> impl Iterator<Item = &'static Case> {
    CASES.iter().chain(cross_thread::CASES)
}

/// Every case name `--case` accepts.
pub fn case_names() -> Vec<&'static str> {
    all_cases().map(|c| c.name).chain([MEMORY_CASE]).collect()
}

/// Run the micro-benchmarks described by `args`.
pub fn run(args: &MicroArgs) -> Result<(), String> {
    if let Some(runtime) = &args.mem_child {
        return mem_child(runtime);
    }
    // `--case` is checked when the command line is parsed (exit code 2); this guards
    // callers that build `MicroArgs` themselves.
    for name in &args.cases {
        if !case_names().contains(&name.as_str()) {
            return Err(format!(
                "unknown case `{name}`; known cases: {}",
                case_names().join(", ")
            ));
        }
    }
    let wanted = |name: &str| args.cases.is_empty() || args.cases.iter().any(|c| c == name);
    let repeats = args.repeats.max(1) as usize;
    let mut results = Vec::new();
    if !args.quiet {
        eprintln!(
            "micro: {:.1} s per case, {repeats} interleaved repeats, medians; ratio = corio/tokio (lower is better)",
            args.secs
        );
    }
    println!(
        "{:<24} {:>14} {:>14} {:>8} {:>8}  met",
        "case", "corio_ns", "tokio_ns", "ratio", "target"
    );
    for case in all_cases().filter(|c| wanted(c.name)) {
        let result = measure(case, args.secs, repeats);
        print_row(&result);
        results.push(result);
    }
    if wanted(MEMORY_CASE) {
        let corio = run_mem_child("corio")?;
        let tokio = run_mem_child("tokio")?;
        let result = row(
            MEMORY_CASE,
            "RSS bytes per parked task (100k tasks)",
            corio,
            tokio,
            0.5,
        );
        print_row(&result);
        results.push(result);
    }
    let met = results.iter().filter(|r| r.met).count();
    let geo =
        (results.iter().map(|r| r.ratio.ln()).sum::<f64>() / results.len().max(1) as f64).exp();
    println!(
        "summary: {} cases, {met} met their target, geometric-mean ratio {geo:.3}",
        results.len()
    );
    if let Some(dir) = &args.out {
        write_out(dir, &results)
            .map_err(|e| format!("cannot write results to {}: {e}", dir.display()))?;
    }
    Ok(())
}

fn row(case: &str, unit: &str, corio: f64, tokio: f64, target: f64) -> MicroResult {
    let ratio = if tokio > 0.0 { corio / tokio } else { f64::NAN };
    MicroResult {
        case: case.to_string(),
        unit: unit.to_string(),
        corio_ns: corio,
        tokio_ns: tokio,
        ratio,
        target,
        met: ratio <= target,
    }
}

fn print_row(r: &MicroResult) {
    println!(
        "{:<24} {:>14.1} {:>14.1} {:>8.3} {:>8.2}  {}",
        r.case,
        r.corio_ns,
        r.tokio_ns,
        r.ratio,
        r.target,
        if r.met { "yes" } else { "no" }
    );
    let _ = std::io::stdout().flush();
}

/// Iterations that take about `budget` on `f`, found by doubling from one.
fn calibrate(f: fn(u64) -> Duration, budget: Duration) -> u64 {
    let mut iters = 1u64;
    loop {
        let t = f(iters);
        if t >= budget / 4 || iters >= 1 << 40 {
            let per = t.as_secs_f64() / iters as f64;
            return ((budget.as_secs_f64() / per.max(1e-12)) as u64).max(1);
        }
        iters *= 4;
    }
}

fn measure(case: &Case, secs: f64, repeats: usize) -> MicroResult {
    // Half the budget per runtime, split over the repeats.
    let per_run = Duration::from_secs_f64((secs / 2.0 / repeats as f64).max(0.01));
    let iters_c = calibrate(case.corio, per_run);
    let iters_t = calibrate(case.tokio, per_run);
    let mut corio = Vec::with_capacity(repeats);
    let mut tokio = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        corio.push((case.corio)(iters_c).as_nanos() as f64 / iters_c as f64);
        tokio.push((case.tokio)(iters_t).as_nanos() as f64 / iters_t as f64);
    }
    row(
        case.name,
        case.unit,
        median(&mut corio),
        median(&mut tokio),
        case.target,
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// In the child: measure one runtime's idle-task memory and print it.
fn mem_child(runtime: &str) -> Result<(), String> {
    let bytes = match runtime {
        "corio" => cases::corio_idle_task_bytes(),
        "tokio" => cases::tokio_idle_task_bytes(),
        other => return Err(format!("--mem-child takes corio or tokio, not `{other}`")),
    };
    println!("{bytes}");
    Ok(())
}

fn run_mem_child(runtime: &str) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own binary: {e}"))?;
    let out = Command::new(exe)
        .args(["micro", "--mem-child", runtime])
        .output()
        .map_err(|e| format!("cannot start the {runtime} memory child: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the {runtime} memory child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("the {runtime} memory child printed no number: {e}"))
}

fn write_out(dir: &Path, results: &[MicroResult]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(results).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("micro.json"), json)?;
    let mut csv = String::from("case,corio_ns,tokio_ns,ratio,target,met\n");
    for r in results {
        csv.push_str(&format!(
            "{},{:.1},{:.1},{:.4},{},{}\n",
            r.case, r.corio_ns, r.tokio_ns, r.ratio, r.target, r.met
        ));
    }
    std::fs::write(dir.join("micro.csv"), csv)
}
