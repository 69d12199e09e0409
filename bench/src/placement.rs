//! Where a cell's server and load generator run: the server gets as many CPUs as it has
//! shards (or worker threads), the load generator the CPUs left.
//!
//! The same `sched_setaffinity` that `taskset -c` uses: the server child pins itself (all
//! its threads inherit the mask; a corio shard pool then pins shard i to the i-th CPU of
//! it), and each load thread pins itself. With no CPU left for the load generator (2
//! shards on a 2-CPU machine) it runs on every usable CPU, sharing them with the server:
//! then req/s shows the machine, not the server, and server CPU µs/req is the figure.

use crate::cli::LoadArgs;
use crate::error::BenchError;
use crate::sys;

/// The CPUs of one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The server child's CPU set (empty: not pinned).
    pub server: Vec<usize>,
    /// One CPU set per load thread (empty: not pinned).
    pub workers: Vec<Vec<usize>>,
    /// The load generator shares the server's CPUs (none was left for it).
    pub shared: bool,
}

/// The machine's usable CPUs and the user's choices, from which each server size gets its
/// [`Placement`].
#[derive(Debug, Clone)]
pub struct Cpus {
    allowed: Vec<usize>,
    /// `None`: no pinning at all (`--no-pin`, or a single usable CPU).
    server_first: Option<usize>,
    client_first: Option<usize>,
    threads: Option<usize>,
}

impl Cpus {
    /// Read the usable CPUs and check `--server-cpu` / `--client-cpu` against them.
    pub fn new(args: &LoadArgs) -> Result<Cpus, BenchError> {
        let allowed = sys::allowed_cpus().unwrap_or_default();
        let threads = args.client_threads.map(|n| n as usize);
        if args.no_pin || allowed.len() < 2 {
            if allowed.len() < 2
                && !args.no_pin
                && (args.server_cpu.is_some() || args.client_cpu.is_some())
                && !args.quiet
            {
                eprintln!("corio-bench: only one CPU is usable: --server-cpu/--client-cpu ignored");
            }
            return Ok(Cpus {
                allowed,
                server_first: None,
                client_first: None,
                threads,
            });
        }
        let check = |flag: &str, cpu: usize| {
            if allowed.contains(&cpu) {
                Ok(cpu)
            } else {
                Err(BenchError::Input(format!(
                    "{flag} {cpu}: this process may only use CPUs {allowed:?}"
                )))
            }
        };
        let server_first = check("--server-cpu", args.server_cpu.unwrap_or(allowed[0]))?;
        let client_first = args
            .client_cpu
            .map(|cpu| check("--client-cpu", cpu))
            .transpose()?;
        Ok(Cpus {
            allowed,
            server_first: Some(server_first),
            client_first,
            threads,
        })
    }

    /// How many CPUs this process may use.
    pub fn count(&self) -> usize {
        self.allowed.len().max(1)
    }

    /// The CPUs for a server of `n` shards or threads: the server on `n` of them (starting
    /// at `--server-cpu`, keeping `--client-cpu` for last), the load generator on the rest,
    /// one thread per CPU up to 4 (or `--client-threads`); on every usable CPU, shared, when
    /// none is left.
    pub fn placement(&self, n: usize) -> Placement {
        let Some(server_first) = self.server_first else {
            return Placement {
                server: Vec::new(),
                workers: vec![Vec::new(); self.threads.unwrap_or(1)],
                shared: true,
            };
        };
        let mut order = vec![server_first];
        order.extend(
            self.allowed
                .iter()
                .copied()
                .filter(|&c| c != server_first && Some(c) != self.client_first),
        );
        order.extend(self.client_first.filter(|&c| c != server_first));
        let server: Vec<usize> = order.iter().copied().take(n.max(1)).collect();
        let mut client: Vec<usize> = self
            .client_first
            .into_iter()
            .chain(self.allowed.iter().copied())
            .filter(|c| !server.contains(c))
            .collect();
        client.dedup();
        if client.is_empty() {
            return Placement {
                server,
                workers: vec![self.allowed.clone(); self.threads.unwrap_or(1)],
                shared: true,
            };
        }
        let threads = self.threads.unwrap_or_else(|| client.len().min(4));
        Placement {
            server,
            workers: (0..threads)
                .map(|i| vec![client[i % client.len()]])
                .collect(),
            shared: false,
        }
    }

    /// Pin this thread (the coordinator: it starts the server children and load threads,
    /// which pin themselves) to the first load CPU of a one-CPU server, and say where a
    /// one-CPU server's load generator runs if that needs saying.
    pub fn pin_coordinator(&self, quiet: bool) -> Result<(), BenchError> {
        let one = self.placement(1);
        let Some(first) = one.workers.first().and_then(|w| w.first()).copied() else {
            return Ok(());
        };
        if one.shared {
            return Ok(());
        }
        if one.workers.len() > self.allowed.len().saturating_sub(1) && !quiet {
            eprintln!(
                "corio-bench: note: {} load threads share {} CPU(s)",
                one.workers.len(),
                self.allowed.len() - 1
            );
        }
        sys::pin_to_cpu(first).map_err(|e| {
            BenchError::Failed(format!("cannot pin the load generator to CPU {first}: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpus(allowed: &[usize], client_first: Option<usize>) -> Cpus {
        Cpus {
            allowed: allowed.to_vec(),
            server_first: Some(allowed[0]),
            client_first,
            threads: None,
        }
    }

    #[test]
    fn the_server_takes_n_cpus_and_the_client_the_rest() {
        let c = cpus(&[0, 1, 2, 3, 4, 5], None);
        let p = c.placement(1);
        assert_eq!(p.server, [0]);
        assert_eq!(p.workers, [vec![1], vec![2], vec![3], vec![4]]);
        let p = c.placement(4);
        assert_eq!(p.server, [0, 1, 2, 3]);
        assert_eq!(p.workers, [vec![4], vec![5]]);
        assert!(!p.shared);
    }

    #[test]
    fn with_no_cpu_left_the_client_shares_every_cpu() {
        let c = cpus(&[0, 1], None);
        assert_eq!(c.placement(1).workers, [vec![1]]);
        let p = c.placement(2);
        assert_eq!(p.server, [0, 1]);
        assert_eq!(p.workers, [vec![0, 1]]);
        assert!(p.shared);
    }

    #[test]
    fn the_chosen_client_cpu_is_the_servers_last_resort() {
        let c = cpus(&[0, 1, 2, 3], Some(1));
        let p = c.placement(2);
        assert_eq!(p.server, [0, 2]);
        assert_eq!(p.workers[0], [1]);
        let p = c.placement(3);
        assert_eq!(p.server, [0, 2, 3]);
        assert_eq!(p.workers, [vec![1]]);
    }
}
