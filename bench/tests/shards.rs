//! Many cores, end to end: `--shards` cells for corio and tokio-mt (the server pinned to as
//! many CPUs as it has shards), the `scale` sweep's table, and `--shards` refused by the
//! one-thread variants.

use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_corio-bench");

/// Sweeps measure the machine: run them one at a time.
static SWEEPS: Mutex<()> = Mutex::new(());

fn bench(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run corio-bench")
}

fn usable_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn shards_give_a_cell_per_count_for_corio_and_tokio_mt() {
    let _one_at_a_time = SWEEPS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("corio-bench-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = bench(&[
        "echo",
        "--shards",
        "1,2",
        "--variants",
        "corio,tokio-mt,mio",
        "--conns",
        "8",
        "--secs",
        "0.5",
        "--warmup",
        "0.1",
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for label in [
        "| corio |",
        "| corio ×2 |",
        "| tokio-mt ×1 |",
        "| tokio-mt ×2 |",
        "| mio |",
    ] {
        assert!(stdout.contains(label), "no {label} row:\n{stdout}");
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let results = json["results"].as_array().unwrap();
    // corio and tokio-mt once per shard count, mio (no shards) once.
    assert_eq!(results.len(), 5, "{json:#}");
    let cell = |variant: &str| {
        results
            .iter()
            .find(|c| c["variant"] == variant)
            .unwrap_or_else(|| panic!("no {variant} cell: {json:#}"))
    };
    for (variant, shards) in [
        ("corio", 1),
        ("corio ×2", 2),
        ("tokio-mt ×1", 1),
        ("tokio-mt ×2", 2),
    ] {
        let c = cell(variant);
        assert_eq!(c["shards"], shards, "{c:#}");
        assert!(c["requests"].as_f64().unwrap() > 0.0, "{c:#}");
        // N > 1 shards or workers are N threads besides the main one (one corio shard is
        // the main thread's loop).
        let threads = c["server_threads"].as_f64().unwrap();
        assert!(threads >= shards as f64, "{variant}: {c:#}");
        if shards > 1 {
            assert!(threads > shards as f64, "{variant}: {c:#}");
        }
        if usable_cpus() >= 2 {
            assert_eq!(
                c["server_cpus"].as_array().unwrap().len(),
                shards,
                "{variant}: {c:#}"
            );
        }
    }
    assert!(cell("mio")["shards"].is_null());
    // The sharded corio server reports every shard's runtime metrics as one server's.
    let sharded = cell("corio ×2");
    assert!(
        sharded["server_polls_per_req"].as_f64().unwrap() >= 0.5,
        "{sharded:#}"
    );
    let busy = sharded["server_busy_ratio"].as_f64().unwrap();
    assert!(busy > 0.0 && busy <= 1.0, "{sharded:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scale_prints_one_row_per_shard_count() {
    let _one_at_a_time = SWEEPS.lock().unwrap_or_else(|e| e.into_inner());
    let out = bench(&[
        "scale",
        "--max-shards",
        "2",
        "--conns",
        "8",
        "--secs",
        "0.5",
        "--warmup",
        "0",
        "--quiet",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let table = &stdout[stdout.find("## scale:").expect("no scale table")..];
    assert!(
        table.contains(
            "| shards | corio req/s | corio vs 1 | corio server CPU µs/req | tokio-mt req/s |"
        ),
        "{table}"
    );
    for n in ["1", "2"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| {n} |")))
            .unwrap_or_else(|| panic!("no row for {n} shards: {table}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // shards, then (req/s, ×1, µs/req) for corio and for tokio-mt.
        for i in [2, 3, 4, 5, 6, 7] {
            assert!(cells[i].parse::<f64>().is_ok(), "cell {i} of {row}");
        }
    }
}

#[test]
fn a_one_thread_variant_refuses_shards() {
    let out = bench(&[
        "serve",
        "--variant",
        "mio",
        "--workload",
        "echo",
        "--shards",
        "2",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("only corio and tokio-mt"), "{stderr}");
}
