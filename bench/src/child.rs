//! A server child: this same binary re-executed as `corio-bench serve --variant X ...`, so
//! each variant's memory, threads and CPU time are its own. The child prints its bound
//! address as the first line of stdout; the parent reads it, and kills and reaps the child
//! when the cell is over (or when the `ServerChild` is dropped, on any error path).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::cli::{Variant, Workload};

/// How long a child may take to print its address.
const STARTUP_DEADLINE: Duration = Duration::from_secs(10);

/// A running server child.
#[derive(Debug)]
pub struct ServerChild {
    child: Child,
    addr: SocketAddr,
}

impl ServerChild {
    /// Start `variant` speaking `workload` on 127.0.0.1 (an OS-chosen port), pinned to `cpu`.
    pub fn spawn(variant: Variant, workload: Workload, cpu: Option<usize>) -> Result<Self, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find this program to start a server: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.args(["serve", "--variant", variant.name()])
            .args(["--workload", workload.name(), "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(cpu) = cpu {
            cmd.args(["--cpu", &cpu.to_string()]);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the {variant} server: {e}"))?;
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
