//! End to end: `corio-bench fair` runs a tiny fairness run (canaries beside a pipelining hog)
//! against every server variant and prints a row and a JSON cell for each; `corio-bench
//! canary` measures a running server; bad input exits with code 2.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_corio-bench");
const VARIANTS: [&str; 4] = ["corio", "threads", "tokio", "mio"];

/// Runs measure the machine: one at a time.
static RUNS: Mutex<()> = Mutex::new(());

fn bench(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run corio-bench")
}

#[test]
fn fair_prints_a_row_and_a_json_cell_for_every_variant_and_workload() {
    let _one_at_a_time = RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("corio-bench-fair-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = bench(&[
        "fair",
        "--secs",
        "0.5",
        "--warmup",
        "0.1",
        "--canaries",
        "2",
        "--hogs",
        "1",
        "--workloads",
        "echo,http",
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
    assert!(stdout.contains("| workload | variant |"), "{stdout}");
    assert!(
        stdout.contains("| polls/msg | forced yields/s | loop busy % |"),
        "{stdout}"
    );
    for workload in ["echo", "http"] {
        for variant in VARIANTS {
            let prefix = format!("| {workload} | {variant} |");
            let row = stdout
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no row `{prefix}`:\n{stdout}"));
            // The runtime-metrics cells: numbers for corio, dashes for the others.
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let last3 = &cells[cells.len() - 4..cells.len() - 1];
            if variant == "corio" {
                assert!(last3.iter().all(|c| c.parse::<f64>().is_ok()), "{row}");
            } else {
                assert_eq!(last3, ["–"; 3], "{row}");
            }
        }
    }

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fair.json")).unwrap()).unwrap();
    assert_eq!(json["tool"], "corio-bench");
    assert_eq!(json["canaries"], 2);
    assert_eq!(json["hogs"], 1);
    let cells = json["results"].as_array().expect("results is an array");
    assert_eq!(cells.len(), 2 * VARIANTS.len(), "{json:#}");
    for cell in cells {
        let name = format!("{} {}", cell["workload"], cell["variant"]);
        assert_eq!(cell["failures"].as_array().map(Vec::len), Some(0), "{name}");
        let m = &cell["median"];
        let num = |key: &str| {
            m[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}: {key} missing: {cell:#}"))
        };
        assert!(num("canary_round_trips") > 0.0, "{name}: no canary answer");
        assert!(
            num("p50_us") > 0.0 && num("p50_us") <= num("p99_us"),
            "{name}"
        );
        assert!(num("p99_us") <= num("max_us"), "{name}");
        // The hog really pipelined: it got replies back while the canaries ran.
        assert!(
            num("hog_replies_per_sec") > 0.0,
            "{name}: the hog got nothing"
        );
        // The server's CPU and everyone else's were sampled around the window.
        assert!(num("server_cpu_util") >= 0.0, "{name}");
        assert!(num("other_cpu_util") >= 0.0, "{name}");
        // The server's runtime metrics: numbers for corio, null for the others.
        let runtime = [
            "server_polls_per_msg",
            "server_forced_yields_per_sec",
            "server_busy_ratio",
        ];
        if cell["variant"] == "corio" {
            assert!(num("server_polls_per_msg") > 0.0, "{name}");
            assert!(num("server_forced_yields_per_sec") >= 0.0, "{name}");
            let busy = num("server_busy_ratio");
            assert!(busy > 0.0 && busy <= 1.0, "{name}: busy {busy}");
        } else {
            for key in runtime {
                assert!(m[key].is_null(), "{name}: {key}: {cell:#}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bench server child (`serve`, the hidden subcommand the sweeps use), killed on drop.
struct Server(Child, SocketAddr);

impl Server {
    fn start(variant: &str, workload: &str) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--variant", variant, "--workload", workload])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a server child");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().parse().expect("the server prints its address");
        Server(child, addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn canary_reports_round_trips_and_the_target_verdict_against_a_running_server() {
    let _one_at_a_time = RUNS.lock().unwrap_or_else(|e| e.into_inner());
    for (workload, proto) in [("echo", "echo"), ("http", "http")] {
        let server = Server::start("threads", workload);
        let addr = server.1.to_string();
        let out = bench(&[
            "canary", "--addr", &addr, "--proto", proto, "--secs", "0.5", "--warmup", "0.1",
            "--json",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{proto}: exit {:?}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!("{proto}: not one JSON object ({e}):\n{stdout}");
        });
        assert_eq!(json["proto"], proto);
        assert!(json["canary_round_trips"].as_u64().unwrap() > 0, "{json:#}");
        assert!(json["hog_replies"].as_u64().unwrap() > 0, "{json:#}");
        assert!(json["max_us"].as_f64().unwrap() >= json["p99_us"].as_f64().unwrap());
        assert!(json["target_met"].is_boolean(), "{json:#}");
    }
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
fn fair_and_canary_reject_bad_input_with_exit_2() {
    assert_bad_input(&["fair", "--canaries", "0"], "canar");
    assert_bad_input(&["fair", "--hogs", "x"], "hogs");
    assert_bad_input(&["fair", "--workloads", "echo,redis"], "redis");
    assert_bad_input(&["fair", "--variants", "corio,nginx"], "nginx");
    assert_bad_input(&["fair", "--secs", "0"], "secs");
    assert_bad_input(&["canary", "--proto", "echo"], "--addr");
    assert_bad_input(
        &["canary", "--addr", "192.0.2.1:80", "--proto", "echo"],
        "loopback",
    );
    assert_bad_input(
        &["canary", "--addr", "127.0.0.1:9", "--proto", "smtp"],
        "smtp",
    );
}

#[test]
fn canary_against_a_port_nobody_listens_on_exits_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    assert_bad_input(
        &[
            "canary", "--addr", &addr, "--proto", "echo", "--secs", "0.5",
        ],
        "cannot reach",
    );
}
