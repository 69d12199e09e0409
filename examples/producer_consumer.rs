//! The producer–consumer model from the seeds, as tasks: a bounded `Queue` decouples a
//! fast producer from slower consumers, and `task_done`/`join` tell the producer when
//! every item has been processed (Python's `q.task_done()` / `q.join()`).
//!
//! Run: `cargo run --example producer_consumer`
//!
//! What it shows: the producer blocks while the queue is full (maxsize 3), the two
//! consumers share the work, `join` returns only after the last `task_done`, and `close`
//! ends the consumers' `while let Some(..) = q.get().await` loops.

use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::sync::Queue;
use corio::time::sleep;

fn main() {
    corio::run(async {
        let started = Instant::now();
        let at = move || started.elapsed().as_millis();
        let q = Rc::new(Queue::bounded(3));

        let consumers: Vec<_> = [("B", 45), ("C", 70)]
            .into_iter()
            .map(|(name, eat_ms)| {
                let q = q.clone();
                corio::spawn(async move {
                    let mut eaten = 0;
                    while let Some(baozi) = q.get().await {
                        println!("{:>4} ms  consumer {name} eats {baozi}", at());
                        sleep(Duration::from_millis(eat_ms)).await;
                        eaten += 1;
                        q.task_done().unwrap();
                    }
                    println!("{:>4} ms  consumer {name}: queue closed, ate {eaten}", at());
                    eaten
                })
            })
            .collect();

        for i in 0..10 {
            let baozi = format!("baozi #{i}");
            if q.is_full() {
                println!(
                    "{:>4} ms  producer A: queue full ({}), waiting for room",
                    at(),
                    q.len()
                );
            }
            q.put(baozi).await.unwrap();
            println!("{:>4} ms  producer A made baozi #{i}", at());
            sleep(Duration::from_millis(10)).await;
        }
        println!(
            "{:>4} ms  producer A: waiting until every baozi is eaten (join)...",
            at()
        );
        q.join().await;
        println!("{:>4} ms  producer A: all baozi eaten", at());
        q.close();

        let mut total = 0;
        for c in consumers {
            total += c.await.unwrap();
        }
        assert_eq!(total, 10);
        println!("{:>4} ms  done: 10 made, {total} eaten, nothing lost", at());
    });
}
