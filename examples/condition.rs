//! The seeds' Condition demo without stdin: 10 tasks wait on a `Condition`; the main task
//! "types" the numbers 1, 2, 3, 4 (the seed read them with `input()`), and each number n
//! releases n waiters with `notify(n)`.
//!
//! Run: `cargo run --example condition`
//!
//! What it shows: `wait` releases the lock while parked and re-acquires it before
//! returning; `notify(n)` wakes exactly n waiters, oldest first; a notification with nobody
//! waiting is simply lost (here: none, since 1 + 2 + 3 + 4 = 10).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::sync::{Condition, Lock};
use corio::task::yield_now;
use corio::time::sleep;

fn main() {
    corio::run(async {
        let started = Instant::now();
        let at = move || started.elapsed().as_millis();
        let shared = Rc::new((Lock::new(()), Condition::new()));
        let parked = Rc::new(Cell::new(0));

        let tasks: Vec<_> = (0..10)
            .map(|n| {
                let (shared, parked) = (shared.clone(), parked.clone());
                corio::spawn(async move {
                    let (lock, cond) = &*shared;
                    let guard = lock.lock().await;
                    parked.set(parked.get() + 1);
                    let _guard = cond.wait(guard).await; // lock released while parked
                    println!("{:>4} ms  run the task: {n}", at());
                })
            })
            .collect();
        while parked.get() < 10 {
            yield_now().await;
        }
        println!("{:>4} ms  10 tasks are waiting on the condition", at());

        for typed in ["1", "2", "3", "4", "q"] {
            sleep(Duration::from_millis(150)).await;
            println!("{:>4} ms  >>>> {typed}", at());
            if typed == "q" {
                break;
            }
            let n: usize = typed.parse().unwrap();
            let (lock, cond) = &*shared;
            let _guard = lock.lock().await; // like `con.acquire()` around `con.notify(n)`
            cond.notify(n);
        }
        for t in tasks {
            t.await.unwrap();
        }
        println!(
            "{:>4} ms  all 10 released by notify(1), notify(2), notify(3), notify(4)",
            at()
        );
    });
}
