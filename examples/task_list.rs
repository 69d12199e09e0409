//! `task::all()` on demand: a live table of the loop's tasks, printed on SIGUSR1 — the async
//! `threading.enumerate()` (asyncio's `all_tasks()`).
//!
//! A few named tasks run: three workers that sleep for different periods, one that computes
//! (sums in slices, yielding between them), and one that waits for SIGUSR1. On each SIGUSR1
//! the listener prints every live task: id, name, state (`Idle`, `Scheduled`, or `Running`
//! for the task printing the table), how often it has been polled, where it was spawned,
//! and how long since its last poll. A task that never yields would show a growing
//! `idle_for` on every other row (and `Builder::slow_poll_threshold` would name it).
//! SIGINT or SIGTERM ends the program.
//!
//! Run:    cargo run --example task_list -- --demo     (sends itself SIGUSR1 once, prints
//!                                                      the table, exits)
//!         cargo run --example task_list               (then, from another terminal:
//!                                                      kill -USR1 <pid>; Ctrl-C to stop)

use std::time::Duration;

use corio::signal::{self, Signal, SIGUSR1};
use corio::task::{self, TaskInfo};
use corio::time::sleep;

#[corio::main]
async fn main() {
    let demo = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--demo") => true,
        Some(other) => {
            eprintln!("task_list: unexpected argument: {other}\nusage: task_list [--demo]");
            std::process::exit(2);
        }
    };
    // Listening from here on: a SIGUSR1 sent later, even before the lister's first poll,
    // is seen (and no longer kills the process).
    let mut usr1 = match Signal::new(SIGUSR1) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("task_list: cannot listen for SIGUSR1: {e}");
            std::process::exit(1);
        }
    };
    for (name, period_ms) in [
        ("worker-fast", 10),
        ("worker-slow", 250),
        ("worker-idle", 5_000),
    ] {
        task::Builder::new().name(name).spawn(async move {
            loop {
                sleep(Duration::from_millis(period_ms)).await;
            }
        });
    }
    task::Builder::new().name("cruncher").spawn(async {
        let mut sum = 0u64;
        let mut n = 0u64;
        loop {
            // One slice of work per poll, then let the others run.
            for _ in 0..20_000 {
                n += 1;
                sum = sum.wrapping_add(n * n);
            }
            std::hint::black_box(sum);
            task::yield_now().await;
        }
    });
    let lister = task::Builder::new().name("usr1-lister").spawn(async move {
        while usr1.recv().await.is_some() {
            print_table(&task::all());
            if demo {
                return;
            }
        }
    });
    println!(
        "task_list: pid {}; kill -USR1 {0} prints the tasks",
        std::process::id()
    );
    if demo {
        // Let the tasks run a little, so the table has something to say, then ask.
        sleep(Duration::from_millis(300)).await;
        let me = std::process::id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-USR1", &me])
            .status();
        if !sent.is_ok_and(|s| s.success()) {
            eprintln!("task_list: could not send SIGUSR1 to myself with kill");
            std::process::exit(1);
        }
        let _ = lister.await;
        return;
    }
    if let Err(e) = signal::shutdown().await {
        eprintln!("task_list: cannot listen for SIGINT/SIGTERM: {e}");
        std::process::exit(1);
    }
    println!("task_list: stop requested, bye");
}

/// One row per task, aligned, like `ps`.
fn print_table(tasks: &[TaskInfo]) {
    println!(
        "{:>4}  {:<12}  {:<9}  {:>8}  {:<28}  {:>10}",
        "id", "name", "state", "polls", "spawned_at", "idle_for"
    );
    for t in tasks {
        let at = t.spawned_at;
        let file = at.file().rsplit('/').next().unwrap_or(at.file());
        println!(
            "{:>4}  {:<12}  {:<9}  {:>8}  {:<28}  {:>10}",
            t.id.as_u64(),
            t.name.as_deref().unwrap_or("-"),
            format!("{:?}", t.state),
            t.polls,
            format!("{file}:{}:{}", at.line(), at.column()),
            format!("{:.1?}", t.idle_for),
        );
    }
    println!("({} tasks)", tasks.len());
}
