//! Master–Worker across cores: the seeds' `task_master.py` / `task_worker.py` (processes
//! sharing a `multiprocessing.Queue` of tasks and one of results) as shards and channels.
//!
//! * The workers are N shards of a `corio::shard::Pool` (default 2, `--workers N`): N event
//!   loops, each on its own thread (and core). Where Python needs processes to use several
//!   cores, corio needs no more than threads: there is no GIL.
//! * Tasks: one `shard::channel` per worker, because a `Receiver` has one owner (the seeds'
//!   one queue with N getters would need a lock on the receiving side). The master feeds them
//!   round-robin: task k goes to worker k mod N. Bounded: a master that outruns the workers
//!   waits in `send().await` (backpressure), it does not pile tasks up.
//! * Results: one channel for all (MPSC): every worker holds a clone of its `Sender`. It has
//!   room for every result, as the master reads them only after putting every task.
//! * The master runs on its own loop, on the main thread: it puts 10 random numbers as
//!   tasks, closes the task channels (a worker exits once its channel is drained, like the
//!   seed's worker after its last task), and gets the 10 results, each within 10 s (the
//!   seed's `result.get(timeout=10)`).
//!
//! Each worker "works" 200 ms per task (the seed's `time.sleep(1)`, shortened): with 2
//! workers the 10 tasks take about a second, where one worker would take two.
//!
//! Run: cargo run --example master_worker [--workers N]

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use corio::shard::{self, Pool, ShardId};
use corio::time::{sleep, timeout};

/// How many tasks the master puts (the seed's `range(10)`).
pub const TASKS: usize = 10;
/// How long the master waits for each result (the seed's `result.get(timeout=10)`).
pub const RESULT_TIMEOUT: Duration = Duration::from_secs(10);
/// A worker's simulated work per task.
pub const WORK: Duration = Duration::from_millis(200);
/// Tasks a worker's channel holds before the master's `send` waits.
const TASK_CAPACITY: usize = 2;

const USAGE: &str = "usage: master_worker [--workers N]   (default 2 workers)";

/// One answered task, as the result channel carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The task: the number to square.
    pub n: u64,
    /// The worker's result line, `"n * n = r"`.
    pub line: String,
    /// The shard (worker) that computed it.
    pub shard: usize,
}

#[corio::main]
async fn main() {
    let workers = match parse_args(std::env::args().skip(1)) {
        Ok(workers) => workers,
        Err(message) => {
            eprintln!("master_worker: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let tasks: Vec<u64> = (0..TASKS).map(|_| random_below(10_001)).collect();
    let started = Instant::now();
    match master(workers, &tasks, WORK, true).await {
        Ok(answers) => {
            let per_worker: Vec<usize> = (0..workers)
                .map(|w| answers.iter().filter(|a| a.shard == w).count())
                .collect();
            println!(
                "master done: {} results from {workers} worker shards {per_worker:?} in {:.2} s",
                answers.len(),
                started.elapsed().as_secs_f64()
            );
        }
        Err(e) => {
            eprintln!("master_worker: {e}");
            std::process::exit(1);
        }
    }
}

/// The master: start `workers` worker shards (on a thread of their own: `Pool::run`
/// blocks), put `tasks` round-robin into their task channels, close them, and get one
/// answer per task, each within [`RESULT_TIMEOUT`]. Answers come in the order they arrive.
/// `verbose` prints what the seed prints, and which shard handled which task.
pub async fn master(
    workers: usize,
    tasks: &[u64],
    work: Duration,
    verbose: bool,
) -> Result<Vec<Answer>, String> {
    let pool = Pool::new(workers).map_err(|e| format!("cannot start {workers} shards: {e}"))?;
    let (task_txs, task_rxs): (Vec<_>, Vec<_>) = (0..pool.len())
        .map(|_| shard::channel::<u64>(TASK_CAPACITY))
        .unzip();
    // Room for every answer: the master only starts reading them once every task is put,
    // so a smaller result channel could fill, block the workers' sends, stop them taking
    // tasks, and leave the master's `send` waiting forever (a deadlock the seed's unbounded
    // queues cannot have).
    let (result_tx, mut results) = shard::channel::<Answer>(tasks.len().max(1));
    // Each shard takes its own receiver out of here once, at the start of its future.
    let task_rxs = Arc::new(Mutex::new(
        task_rxs.into_iter().map(Some).collect::<Vec<_>>(),
    ));
    let workers_done = thread::Builder::new()
        .name("workers".to_owned())
        .spawn(move || {
            pool.run(move |shard: ShardId| {
                let mine = task_rxs.lock().unwrap_or_else(|e| e.into_inner())[shard.index()].take();
                let results = result_tx.clone();
                async move {
                    if let Some(tasks) = mine {
                        worker(shard.index(), tasks, results, work, verbose).await;
                    }
                }
            })
        })
        .map_err(|e| format!("cannot start the workers' thread: {e}"))?;

    for (k, &n) in tasks.iter().enumerate() {
        let to = k % task_txs.len();
        if verbose {
            println!("Put task {n} (for shard {to})");
        }
        // Waits while that worker's channel is full; fails only if the worker is gone.
        task_txs[to]
            .send(n)
            .await
            .map_err(|_| format!("worker shard {to} is gone"))?;
    }
    // No more tasks: each worker exits once it has drained its channel.
    drop(task_txs);
    if verbose {
        println!("Try get results....");
    }
    let mut answers = Vec::with_capacity(tasks.len());
    for _ in tasks {
        match timeout(RESULT_TIMEOUT, results.recv()).await {
            Ok(Some(answer)) => {
                if verbose {
                    println!("Result: {} (from shard {})", answer.line, answer.shard);
                }
                answers.push(answer);
            }
            Ok(None) => return Err("every worker is gone before all results came".into()),
            Err(_elapsed) => {
                return Err(format!(
                    "no result within {} s ({} of {} came)",
                    RESULT_TIMEOUT.as_secs(),
                    answers.len(),
                    tasks.len()
                ))
            }
        }
    }
    // The workers have exited (their channels are closed and drained): the pool's run ends.
    match workers_done.join() {
        Ok(Ok(_)) => Ok(answers),
        Ok(Err(panicked)) => Err(panicked.to_string()),
        Err(_) => Err("the workers' thread panicked".into()),
    }
}

/// One worker shard: take tasks until the master closes the channel, answer each on the
/// shared result channel (the seed's `task_worker.py` loop).
async fn worker(
    shard: usize,
    mut tasks: shard::Receiver<u64>,
    results: shard::Sender<Answer>,
    work: Duration,
    verbose: bool,
) {
    while let Some(n) = tasks.recv().await {
        if verbose {
            println!("shard {shard}: run task {n} * {n} ..");
        }
        sleep(work).await;
        let line = format!("{n} * {n} = {}", n * n);
        if results.send(Answer { n, line, shard }).await.is_err() {
            return; // the master is gone: nobody wants the rest
        }
    }
    if verbose {
        println!("shard {shard}: worker exit.");
    }
}

/// `[--workers N]`, also as `--workers=N`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<usize, String> {
    let mut workers = 2;
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = if let Some(value) = arg.strip_prefix("--workers=") {
            value.to_owned()
        } else if arg == "--workers" {
            args.next().ok_or("--workers needs a value")?
        } else {
            return Err(format!("unexpected argument: {arg}"));
        };
        workers = match value.parse::<usize>() {
            Ok(n) if (1..=256).contains(&n) => n,
            _ => {
                return Err(format!(
                    "--workers: not a number of workers (1 to 256): {value:?}"
                ))
            }
        };
    }
    Ok(workers)
}

/// A random number below `bound` (the seed's `random.randint`), from std's randomly keyed
/// hasher: no dependency for ten numbers.
fn random_below(bound: u64) -> u64 {
    RandomState::new().hash_one(Instant::now()) % bound
}
