//! The command line (clap derive): subcommands `echo` (the default), `http`, `scale`,
//! `micro`, `fair`, `canary`, and the hidden `serve` the tool runs itself as for each server
//! child.
//!
//! Bad input never reaches the sweep: clap rejects unknown subcommands, unknown variants and
//! malformed numbers, and the value parsers here reject zero connections, zero sizes and
//! non-positive durations — all with a message on stderr and exit code 2.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The parsed command line.
#[derive(Debug, Parser)]
#[command(
    name = "corio-bench",
    version,
    about = "IO-bound servers, measured: corio's event loop vs thread-per-connection vs tokio vs a raw mio loop",
    long_about = "IO-bound servers, measured: corio's event loop vs thread-per-connection vs tokio \
                  vs a raw mio loop.\n\nWith no subcommand it runs the default echo sweep \
                  (about a minute) and prints a Markdown table. Each server variant runs in \
                  its own child process so its memory, threads and CPU time are measured \
                  alone; the load generator runs on corio in this process.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to run; the echo sweep when absent.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags for the default echo sweep (`corio-bench --conns 1,10` = `corio-bench echo --conns 1,10`).
    #[command(flatten)]
    pub load: LoadArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Echo: each connection sends --size bytes and waits for them back (closed loop). The default.
    Echo(LoadArgs),
    /// HTTP/1.1 keep-alive: each connection sends `GET /` and waits for a 13-byte "Hello, World!".
    Http(LoadArgs),
    /// Many cores: sweep shards 1..=N (corio) and worker threads (tokio-mt), req/s and server CPU µs/req each.
    Scale(ScaleArgs),
    /// Micro-benchmarks of the runtime itself (spawn, wake, timers, channels).
    Micro(MicroArgs),
    /// Fair under load: K canaries doing round trips beside N pipelining hogs, every variant.
    Fair(FairArgs),
    /// The fair load against a server already running at --addr (the examples).
    Canary(CanaryArgs),
    /// Run one server variant (internal: the sweep starts its server children this way).
    #[command(hide = true)]
    Serve(ServeArgs),
}

/// Flags shared by the `echo` and `http` sweeps.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Connection counts to sweep, comma-separated (each at least 1).
    #[arg(long, value_delimiter = ',', value_parser = parse_conns, default_value = "1,10,100,1000,5000")]
    pub conns: Vec<usize>,
    /// Measured seconds per cell (decimals allowed).
    #[arg(long, value_parser = parse_secs, default_value = "2")]
    pub secs: f64,
    /// Warm-up seconds per cell before measuring (discarded; may be 0).
    #[arg(long, value_parser = parse_warmup, default_value = "0.5")]
    pub warmup: f64,
    /// Offered load in messages per second over all connections: each connection sends on
    /// a fixed schedule (still one message in flight), and latency counts from the scheduled
    /// send, so a late server is charged for the wait. Default: closed loop (each connection
    /// sends as soon as its answer arrived). Comparing servers at one rate below what either
    /// saturates at compares their CPU per message in the same regime.
    #[arg(long, value_name = "MSGS_PER_SEC", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Echo message size in bytes (echo only; HTTP requests are a fixed 35 bytes).
    #[arg(long, value_parser = parse_size, default_value = "64")]
    pub size: usize,
    /// Server variants, comma-separated, run interleaved in this order.
    #[arg(long, value_delimiter = ',', default_value = "corio,threads,tokio,mio")]
    pub variants: Vec<Variant>,
    /// Shard counts for corio (and worker threads for tokio-mt), comma-separated: each is its
    /// own cell, the server pinned to that many CPUs and the load generator to the rest.
    #[arg(long, value_delimiter = ',', value_parser = parse_shards, default_value = "1")]
    pub shards: Vec<usize>,
    /// Repeat the whole sweep N times (interleaved: A B C D A B C D ...) and report medians.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), default_value = "1")]
    pub repeats: u32,
    /// Write results.json, results.csv and results.svg into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress bar and no notes on stderr; only the table (and errors).
    #[arg(long)]
    pub quiet: bool,
    /// CPU for the server children (default: the first usable CPU, when the machine has 2+).
    #[arg(long, value_name = "N")]
    pub server_cpu: Option<usize>,
    /// CPU for the load generator's first thread (default: the first usable CPU that is not
    /// the server's, when the machine has 2+ CPUs).
    #[arg(long, value_name = "N")]
    pub client_cpu: Option<usize>,
    /// Load generator threads, each its own corio loop on its own CPU (default: 1 on a
    /// 2-CPU machine, else the CPUs left after the server's, up to 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub client_threads: Option<u32>,
    /// Do not pin the server or the client to CPUs.
    #[arg(long, conflicts_with_all = ["server_cpu", "client_cpu"])]
    pub no_pin: bool,
    /// Load an already running server at this loopback address instead of starting the
    /// variants (its memory, threads and CPU are not measured).
    #[arg(long, value_name = "ADDR", value_parser = parse_target)]
    pub target: Option<SocketAddr>,
}

/// Flags of the `scale` subcommand (implemented in `scale.rs`): one connection count, shard
/// counts 1..=N.
#[derive(Debug, Clone, Args)]
pub struct ScaleArgs {
    /// Sweep shards (corio) and worker threads (tokio-mt) 1..=N (default: the usable CPUs
    /// minus one for the load generator, at least 1).
    #[arg(long, value_name = "N", value_parser = parse_shards)]
    pub max_shards: Option<usize>,
    /// What the connections speak.
    #[arg(long, default_value = "echo")]
    pub workload: Workload,
    /// Concurrent connections (enough for the kernel's SO_REUSEPORT hash to spread them).
    #[arg(long, value_parser = parse_conns, default_value = "256")]
    pub conns: usize,
    /// Measured seconds per cell (decimals allowed).
    #[arg(long, value_parser = parse_secs, default_value = "3")]
    pub secs: f64,
    /// Warm-up seconds per cell before measuring (may be 0).
    #[arg(long, value_parser = parse_warmup, default_value = "1")]
    pub warmup: f64,
    /// Echo message size in bytes (echo only).
    #[arg(long, value_parser = parse_size, default_value = "64")]
    pub size: usize,
    /// Server variants, comma-separated (those without shards run once, at 1 CPU).
    #[arg(long, value_delimiter = ',', default_value = "corio,tokio-mt")]
    pub variants: Vec<Variant>,
    /// Repeat every cell N times (interleaved) and report medians.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), default_value = "1")]
    pub repeats: u32,
    /// Load generator threads (default: one per CPU left, up to 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub client_threads: Option<u32>,
    /// Write results.json, results.csv and results.svg into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress bar and no notes on stderr; only the tables (and errors).
    #[arg(long)]
    pub quiet: bool,
    /// Do not pin the server or the client to CPUs.
    #[arg(long)]
    pub no_pin: bool,
}

/// Flags of the `micro` subcommand (implemented in `micro.rs`).
#[derive(Debug, Clone, Args)]
pub struct MicroArgs {
    /// Seconds per micro-benchmark case, split between corio and tokio (decimals allowed).
    #[arg(long, value_parser = parse_secs, default_value = "1")]
    pub secs: f64,
    /// Only these cases, comma-separated (default: all; `idle_task_memory` included).
    #[arg(long = "case", value_delimiter = ',', value_parser = parse_case)]
    pub cases: Vec<String>,
    /// Interleaved repeats per case (corio, tokio, corio, tokio, ...); medians are reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeats: u32,
    /// Write micro.json and micro.csv into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress output; only the table (and errors).
    #[arg(long)]
    pub quiet: bool,
    /// Internal: measure one runtime's idle-task memory in this child process.
    #[arg(long, hide = true, value_name = "RUNTIME")]
    pub mem_child: Option<String>,
}

/// Flags of the `fair` subcommand (implemented in `fair/`).
#[derive(Debug, Clone, Args)]
pub struct FairArgs {
    /// Well-behaved connections per cell, each doing one round trip at a time.
    #[arg(long, value_name = "K", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000).map(|v| v as usize))]
    pub canaries: usize,
    /// Connections that pipeline without pause (write and read continuously); 0 for a baseline.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(0..=64).map(|v| v as usize))]
    pub hogs: usize,
    /// Pause between one canary's round trips, milliseconds (a modest rate, not a flood).
    #[arg(long, value_name = "MS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub interval_ms: u64,
    /// Protocols, comma-separated: echo (64-byte messages), http (keep-alive GET /).
    #[arg(long, value_delimiter = ',', default_value = "echo,http")]
    pub workloads: Vec<Workload>,
    /// Server variants, comma-separated, run interleaved in this order.
    #[arg(long, value_delimiter = ',', default_value = "corio,threads,tokio,mio")]
    pub variants: Vec<Variant>,
    /// Measured seconds per cell (decimals allowed).
    #[arg(long, value_parser = parse_secs, default_value = "3")]
    pub secs: f64,
    /// Seconds the hogs run before the canaries are recorded (may be 0).
    #[arg(long, value_parser = parse_warmup, default_value = "0.5")]
    pub warmup: f64,
    /// Repeat every cell N times (interleaved) and report medians.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), default_value = "1")]
    pub repeats: u32,
    /// Write fair.json into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress notes on stderr; only the table (and errors).
    #[arg(long)]
    pub quiet: bool,
    /// Do not pin the server (first usable CPU) and the clients (second) to CPUs.
    #[arg(long)]
    pub no_pin: bool,
}

/// Flags of the `canary` subcommand (implemented in `fair/canary.rs`).
#[derive(Debug, Clone, Args)]
pub struct CanaryArgs {
    /// The running server (loopback only).
    #[arg(long, value_name = "ADDR", value_parser = parse_target)]
    pub addr: SocketAddr,
    /// What it speaks.
    #[arg(long)]
    pub proto: crate::fair::proto::Proto,
    /// Measured seconds (decimals allowed).
    #[arg(long, value_parser = parse_secs, default_value = "5")]
    pub secs: f64,
    /// Seconds the hogs run before the canaries are recorded (may be 0).
    #[arg(long, value_parser = parse_warmup, default_value = "0.5")]
    pub warmup: f64,
    /// Pipelining connections.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(0..=64).map(|v| v as usize))]
    pub hogs: usize,
    /// Round-trip connections.
    #[arg(long, value_name = "K", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000).map(|v| v as usize))]
    pub canaries: usize,
    /// Pause between one canary's round trips, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub interval_ms: u64,
    /// The worst canary round trip allowed for `target met` (the 50 ms).
    #[arg(long, value_name = "MS", default_value_t = 50.0, value_parser = parse_target_ms)]
    pub target_ms: f64,
    /// Print one JSON object instead of the line.
    #[arg(long)]
    pub json: bool,
}

/// Flags of the hidden `serve` subcommand: one server child.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Which server implementation to run.
    #[arg(long)]
    pub variant: Variant,
    /// Which protocol to speak.
    #[arg(long)]
    pub workload: Workload,
    /// Listen address; the bound address is printed on stdout as the first line.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Pin the server to this CPU.
    #[arg(long, value_name = "N", conflicts_with = "cpus")]
    pub cpu: Option<usize>,
    /// Pin the server to these CPUs, comma-separated (`taskset -c` style).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub cpus: Vec<usize>,
    /// Shards (corio) or worker threads (tokio-mt); the other variants take only 1.
    #[arg(long, value_name = "N", value_parser = parse_shards, default_value = "1")]
    pub shards: usize,
    /// Answer runtime-metrics requests on stdin, which the parent made a Unix socket (corio
    /// only; see `runtime_metrics.rs`).
    #[arg(long)]
    pub metrics_on_stdin: bool,
}

/// A server implementation under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Variant {
    /// corio: accept loop + one task per connection, buffer-free while idle.
    Corio,
    /// std::net, one OS thread per connection (blocking reads and writes).
    Threads,
    /// tokio current_thread + LocalSet, spawn_local per connection, 4 KiB buffer each.
    Tokio,
    /// tokio's multi-thread runtime with --shards worker threads, tokio::spawn per connection.
    TokioMt,
    /// A hand-written edge-triggered mio loop: the floor for this architecture.
    Mio,
    /// hyper 1 (the hyper_hello service) on corio via corio::compat::hyper (HTTP only).
    CorioHyper,
    /// The same hyper service on tokio current_thread with hyper-util's TokioIo (HTTP only).
    TokioHyper,
    /// smol's stack on one thread: async-io + async-executor's LocalExecutor, 4 KiB buffer each.
    Smol,
}

impl Variant {
    /// The name used on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Corio => "corio",
            Variant::Threads => "threads",
            Variant::Tokio => "tokio",
            Variant::TokioMt => "tokio-mt",
            Variant::Mio => "mio",
            Variant::CorioHyper => "corio-hyper",
            Variant::TokioHyper => "tokio-hyper",
            Variant::Smol => "smol",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A protocol the client and the servers speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Send `size` bytes, read them back.
    Echo,
    /// `GET / HTTP/1.1`, keep-alive; a 13-byte body comes back.
    Http,
}

impl Workload {
    /// The name used on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Echo => "echo",
            Workload::Http => "http",
        }
    }
}

fn parse_conns(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("connection counts must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "`{s}` is not a connection count (a positive integer)"
        )),
    }
}

fn parse_shards(s: &str) -> Result<usize, String> {
    const MAX: usize = 1024;
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a shard count (1 to {MAX})")),
    }
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a duration in seconds (0 < secs <= 3600)"
        )),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (1.0..=1e9).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not a rate in messages per second (1 <= rate <= 1e9)"
        )),
    }
}

fn parse_warmup(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not a warm-up in seconds (0 <= secs <= 3600)"
        )),
    }
}

fn parse_target_ms(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a time in milliseconds (> 0)")),
    }
}

fn parse_size(s: &str) -> Result<usize, String> {
    const MAX: usize = 1 << 20;
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a message size (1 to {MAX} bytes)")),
    }
}

fn parse_case(s: &str) -> Result<String, String> {
    let known = crate::micro::case_names();
    if known.contains(&s) {
        Ok(s.to_owned())
    } else {
        Err(format!("unknown case; known cases: {}", known.join(", ")))
    }
}

fn parse_target(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s
        .parse()
        .map_err(|_| format!("`{s}` is not an address like 127.0.0.1:7000"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{addr} is not a loopback address: the load generator only targets this machine"
        ));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn micro_takes_known_cases() {
        let cli = Cli::parse_from([
            "corio-bench",
            "micro",
            "--case",
            "yield_now,idle_task_memory",
        ]);
        let Some(Command::Micro(args)) = cli.command else {
            panic!("not micro");
        };
        assert_eq!(args.cases, ["yield_now", "idle_task_memory"]);
    }

    #[test]
    fn no_subcommand_means_the_default_echo_sweep() {
        let cli = Cli::parse_from(["corio-bench"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.load.conns, vec![1, 10, 100, 1000, 5000]);
        assert_eq!(cli.load.variants.len(), 4);
        assert_eq!(cli.load.size, 64);
    }

    #[test]
    fn shards_are_a_list_and_tokio_mt_a_variant() {
        let cli = Cli::parse_from([
            "corio-bench",
            "echo",
            "--shards",
            "1,2",
            "--variants",
            "corio,tokio-mt",
        ]);
        let Some(Command::Echo(args)) = cli.command else {
            panic!("not echo");
        };
        assert_eq!(args.shards, [1, 2]);
        assert_eq!(args.variants, [Variant::Corio, Variant::TokioMt]);
        assert_eq!(Cli::parse_from(["corio-bench"]).load.shards, [1]);
    }

    #[test]
    fn rate_is_optional_and_paces_when_given() {
        assert_eq!(Cli::parse_from(["corio-bench"]).load.rate, None);
        let cli = Cli::parse_from(["corio-bench", "http", "--rate", "50000"]);
        let Some(Command::Http(args)) = cli.command else {
            panic!("not http");
        };
        assert_eq!(args.rate, Some(50_000.0));
    }

    #[test]
    fn bad_values_are_rejected() {
        for args in [
            &["corio-bench", "echo", "--conns", "0"][..],
            &["corio-bench", "echo", "--conns", "1,x"],
            &["corio-bench", "http", "--variants", "corio,nginx"],
            &["corio-bench", "echo", "--secs", "0"],
            &["corio-bench", "echo", "--size", "0"],
            &["corio-bench", "echo", "--target", "10.0.0.1:80"],
            &["corio-bench", "frobnicate"],
            &["corio-bench", "micro", "--case", "spawn_join,bogus"],
            &["corio-bench", "micro", "--repeats", "0"],
            &["corio-bench", "echo", "--shards", "0"],
            &["corio-bench", "echo", "--shards", "1,x"],
            &["corio-bench", "scale", "--max-shards", "0"],
            &["corio-bench", "echo", "--rate", "0"],
            &["corio-bench", "http", "--rate", "fast"],
            &["corio-bench", "echo", "--rate", "inf"],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
