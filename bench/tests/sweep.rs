//! End to end: the real binary runs tiny sweeps (2 connection counts, 1 s cells) for both
//! workloads against every server variant, and bad input exits with code 2 and a message.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_corio-bench");
const VARIANTS: [&str; 5] = ["corio", "threads", "tokio", "mio", "smol"];

/// Sweeps measure the machine: run them one at a time.
static SWEEPS: Mutex<()> = Mutex::new(());

fn bench(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run corio-bench")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corio-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Run a tiny sweep of `workload` and check the files and that every variant answered.
fn tiny_sweep_answers_everywhere(workload: &str) {
    let _one_at_a_time = SWEEPS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = out_dir(workload);
    let out = bench(&[
        workload,
        "--conns",
        "1,4",
        "--secs",
        "1",
        "--warmup",
        "0.2",
        // The default set plus the opt-in peer, so every variant is checked to answer.
        "--variants",
        "corio,threads,tokio,mio,smol",
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("| conns | variant | req/s |"), "{stdout}");
    assert!(
        stdout.contains("| polls/req | forced yields/s | loop busy % |"),
        "{stdout}"
    );
    // The main table ends where the paired table (ratios against tokio) begins.
    let (main, paired) = stdout
        .split_once("### against tokio")
        .expect("a sweep with tokio prints the paired table");
    // Paired rows: every other variant at both counts, ratios as `median (min–max)`.
    let paired_rows: Vec<&str> = paired
        .lines()
        .filter(|l| l.starts_with("| ") && !l.contains("conns"))
        .collect();
    assert_eq!(paired_rows.len(), 2 * (VARIANTS.len() - 1), "{paired}");
    for line in &paired_rows {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let ratio = cells[3].split(' ').next().unwrap();
        assert!(ratio.parse::<f64>().is_ok_and(|r| r > 0.0), "{line}");
    }
    // Table rows: corio's last three cells are numbers, the other variants' are dashes.
    for line in main
        .lines()
        .filter(|l| l.starts_with("| ") && !l.contains("conns"))
    {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let last3 = &cells[cells.len() - 4..cells.len() - 1];
        if cells[2] == "corio" {
            assert!(last3.iter().all(|c| c.parse::<f64>().is_ok()), "{line}");
        } else {
            assert_eq!(last3, ["–"; 3], "{line}");
        }
    }

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["tool"], "corio-bench");
    assert_eq!(json["workload"], workload);
    assert_eq!(json["secs"], 1.0);
    let results = json["results"].as_array().expect("results is an array");
    assert_eq!(results.len(), 2 * VARIANTS.len(), "{json:#}");
    for conns in [1u64, 4] {
        for variant in VARIANTS {
            let cell = results
                .iter()
                .find(|c| c["variant"] == variant && c["conns"] == conns)
                .unwrap_or_else(|| panic!("no cell for {variant} x{conns}: {json:#}"));
            let num = |key: &str| {
                cell[key]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{variant} x{conns}: {key} missing: {cell:#}"))
            };
            assert!(num("requests") > 0.0, "{variant} x{conns} answered nothing");
            assert!(num("throughput_rps") > 0.0);
            assert!(num("p50_us") > 0.0 && num("p50_us") <= num("p99_us"));
            assert!(num("p99_us") <= num("p999_us"));
            assert!(num("server_peak_rss_kib") > 0.0);
            assert!(num("server_anon_rss_kib") > 0.0);
            assert!(num("server_anon_rss_kib") <= num("server_peak_rss_kib"));
            assert!(num("server_cpu_us_per_req") >= 0.0);
            assert!(num("client_cpu_util") >= 0.0);
            let threads = num("server_threads");
            if variant == "threads" {
                // One thread per connection, plus the accept loop.
                assert!(
                    threads > conns as f64,
                    "threads x{conns}: {threads} threads"
                );
            } else {
                assert!(threads >= 1.0);
            }
            // The runtime-metrics columns: numbers for corio, null for the others.
            let runtime = [
                "server_polls_per_req",
                "server_forced_yields_per_sec",
                "server_busy_ratio",
            ];
            if variant == "corio" {
                // Every request costs the server at least one task poll.
                assert!(
                    num("server_polls_per_req") >= 0.5,
                    "corio x{conns}: {cell:#}"
                );
                assert!(num("server_forced_yields_per_sec") >= 0.0);
                let busy = num("server_busy_ratio");
                assert!(busy > 0.0 && busy <= 1.0, "corio x{conns}: busy {busy}");
            } else {
                for key in runtime {
                    assert!(cell[key].is_null(), "{variant} x{conns}: {key}: {cell:#}");
                }
            }
            assert_eq!(cell["failures"].as_array().map(Vec::len), Some(0));
            assert_eq!(cell["samples"].as_array().map(Vec::len), Some(1));
        }
    }

    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + results.len(), "{csv}");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let columns = header.len();
    assert!(
        csv.lines().all(|l| l.split(',').count() == columns),
        "{csv}"
    );
    for key in [
        "server_polls_per_req",
        "server_forced_yields_per_sec",
        "server_busy_ratio",
    ] {
        let i = header
            .iter()
            .position(|&h| h == key)
            .unwrap_or_else(|| panic!("no {key} column: {csv}"));
        for line in csv.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let value = fields[i];
            if fields[1] == "corio" {
                assert!(value.parse::<f64>().is_ok(), "{key} `{value}`: {line}");
            } else {
                assert_eq!(value, "", "{key}: {line}");
            }
        }
    }
    let svg = std::fs::read_to_string(dir.join("results.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("corio"),
        "not an SVG plot"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn echo_sweep_writes_json_csv_svg_and_every_variant_answers() {
    tiny_sweep_answers_everywhere("echo");
}

#[test]
fn http_sweep_writes_json_csv_svg_and_every_variant_answers() {
    tiny_sweep_answers_everywhere("http");
}

fn assert_bad_input(args: &[&str], needle: &str) {
    let out = bench(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.to_lowercase().contains(needle),
        "{args:?}: stderr should mention `{needle}`: {stderr}"
    );
}

#[test]
fn unknown_subcommand_exits_2() {
    assert_bad_input(&["frobnicate"], "frobnicate");
}

#[test]
fn zero_connections_exit_2() {
    assert_bad_input(&["echo", "--conns", "1,0"], "at least 1");
}

#[test]
fn unknown_variant_exits_2() {
    assert_bad_input(&["http", "--variants", "corio,nginx"], "nginx");
}

#[test]
fn zero_message_size_exits_2() {
    assert_bad_input(&["echo", "--size", "0"], "size");
}

#[test]
fn unreachable_target_exits_2() {
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{port}");
    assert_bad_input(
        &[
            "echo", "--target", &target, "--conns", "1", "--secs", "1", "--quiet",
        ],
        "cannot reach",
    );
}

#[test]
fn non_loopback_target_is_refused() {
    assert_bad_input(&["echo", "--target", "192.0.2.1:80"], "loopback");
}
