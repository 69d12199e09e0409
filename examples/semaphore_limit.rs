//! The seeds' semaphore demo, as tasks: 20 tasks, at most 5 inside at a time.
//!
//! Run: `cargo run --example semaphore_limit`
//!
//! What it shows: `Semaphore::new(5)` lets 5 tasks in, the rest wait in arrival order and
//! enter as permits come back (a `Permit` is returned when dropped). Each task works
//! 200 ms, so 20 tasks take 4 rounds, ~800 ms. Then the Python-style `BoundedSemaphore`
//! refuses a release past its initial count.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::sync::{BoundedSemaphore, Semaphore};
use corio::time::sleep;

fn main() {
    corio::run(async {
        let started = Instant::now();
        let at = move || started.elapsed().as_millis();
        let sem = Rc::new(Semaphore::new(5));
        let (inside, peak) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));

        let tasks: Vec<_> = (0..20)
            .map(|n| {
                let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
                corio::spawn(async move {
                    let _permit = sem.acquire().await.unwrap();
                    inside.set(inside.get() + 1);
                    peak.set(peak.get().max(inside.get()));
                    println!(
                        "{:>4} ms  run the task: {n:>2} ({} inside)",
                        at(),
                        inside.get()
                    );
                    sleep(Duration::from_millis(200)).await;
                    inside.set(inside.get() - 1);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        println!(
            "{:>4} ms  ----all tasks done---- at most {} were inside at once; {} permits free",
            at(),
            peak.get(),
            sem.available_permits()
        );
        assert_eq!(peak.get(), 5);

        let bounded = BoundedSemaphore::new(5);
        bounded.acquire().await;
        bounded.release().unwrap();
        match bounded.release() {
            Err(e) => println!("BoundedSemaphore: one release too many -> error: {e}"),
            Ok(()) => unreachable!(),
        }
    });
}
