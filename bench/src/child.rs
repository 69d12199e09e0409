//! A server child: this same binary re-executed as `corio-bench serve --variant X ...`, so
//! each variant's memory, threads and CPU time are its own. The child prints its bound
//! address as the first line of stdout; the parent reads it, and kills and reaps the child
//! when the cell is over (or when the `ServerChild` is dropped, on any error path).
//!
//! A corio child also gets a Unix socket as its stdin, over which the parent asks for its
//! runtime metrics ([`ServerChild::runtime_metrics`], protocol in `runtime_metrics.rs`);
//! the other variants' stdin is `/dev/null`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::cli::{Variant, Workload};
use crate::runtime_metrics::{Link, Snapshot};

/// How long a child may take to print its address.
const STARTUP_DEADLINE: Duration = Duration::from_secs(10);

/// A running server child.
#[derive(Debug)]
pub struct ServerChild {
    child: Child,
    addr: SocketAddr,
    /// The metrics link (corio only).
    metrics: Option<Link>,
}

impl ServerChild {
    /// Start `variant` speaking `workload` on 127.0.0.1 (an OS-chosen port), pinned to `cpu`.
    pub fn spawn(variant: Variant, workload: Workload, cpu: Option<usize>) -> Result<Self, String> {
        let cpus: Vec<usize> = cpu.into_iter().collect();
        Self::spawn_placed(variant, workload, &cpus, 1)
    }

    /// Like [`spawn`](Self::spawn) with `shards` shards (corio) or worker threads (tokio-mt),
    /// pinned to the CPU set `cpus` (empty: not pinned).
    pub fn spawn_placed(
        variant: Variant,
        workload: Workload,
        cpus: &[usize],
        shards: usize,
    ) -> Result<Self, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find this program to start a server: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.args(["serve", "--variant", variant.name()])
            .args(["--workload", workload.name(), "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if !cpus.is_empty() {
            let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
            cmd.args(["--cpus", &list.join(",")]);
        }
        if shards > 1 {
            cmd.args(["--shards", &shards.to_string()]);
        }
        let metrics = if variant == Variant::Corio {
            let (link, theirs) =
                Link::pair().map_err(|e| format!("cannot make the metrics link: {e}"))?;
            cmd.arg("--metrics-on-stdin").stdin(Stdio::from(theirs));
            Some(link)
        } else {
            cmd.stdin(Stdio::null());
            None
        };
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the {variant} server: {e}"))?;
        drop(cmd); // closes this process's copy of the child's end of the link
        let stdout = child.stdout.take().expect("stdout is piped");
        // Read the first line on a helper thread so a hung child cannot hang the sweep.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(result);
        });
        let mut server = ServerChild {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics,
        };
        let line = match rx.recv_timeout(STARTUP_DEADLINE) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(format!("the {variant} server's stdout: {e}")),
            Err(_) => {
                return Err(format!(
                    "the {variant} server did not report its address within {} s",
                    STARTUP_DEADLINE.as_secs()
                ))
            }
        };
        server.addr = line.trim().parse().map_err(|_| {
            let status = server.child.try_wait().ok().flatten();
            match status {
                Some(status) => format!("the {variant} server exited at start ({status})"),
                None => format!(
                    "the {variant} server printed `{}`, not an address",
                    line.trim()
                ),
            }
        })?;
        Ok(server)
    }

    /// Its process id (for `/proc` sampling).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A snapshot of its runtime metrics, asked for now: `None` for the variants that have
    /// none (every one but corio), an error if the child did not answer within 2 s (then
    /// every later call fails too).
    pub fn runtime_metrics(&mut self) -> Option<Result<Snapshot, String>> {
        self.metrics.as_mut().map(Link::snapshot)
    }

    /// Kill (SIGKILL) and reap it. Idempotent.
    pub fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        self.kill();
    }
}
