//! The seeds' RLock demo, as tasks: `run3` takes the lock, then calls `run1` and `run2`,
//! which take the same lock again. With a plain `Lock` that would deadlock; an `RLock` is
//! re-entrant for the task holding it.
//!
//! Run: `cargo run --example rlock`
//!
//! What it shows: 10 tasks each update two counters inside nested sections of one `RLock`,
//! yielding to other tasks in the middle of each read-modify-write; no update is lost
//! (10, 10), and the lock is free only after the outermost guard drops.

use std::cell::Cell;
use std::rc::Rc;

use corio::sync::RLock;
use corio::task::yield_now;

#[derive(Default)]
struct Data {
    num: Cell<u32>,
    num2: Cell<u32>,
}

async fn run1(lock: &RLock<Data>) -> u32 {
    println!("grab the first part data");
    let data = lock.lock().await; // re-entered: this task already holds it
    let n = data.num.get();
    yield_now().await; // other tasks run, but cannot take the lock
    data.num.set(n + 1);
    data.num.get()
}

async fn run2(lock: &RLock<Data>) -> u32 {
    println!("grab the second part data");
    let data = lock.lock().await;
    let n = data.num2.get();
    yield_now().await;
    data.num2.set(n + 1);
    data.num2.get()
}

async fn run3(lock: Rc<RLock<Data>>) {
    let outer = lock.lock().await;
    let res = run1(&lock).await;
    println!("--------between run1 and run2-----");
    let res2 = run2(&lock).await;
    assert!(lock.is_locked(), "the outer guard still holds it");
    drop(outer);
    println!("{res} {res2}");
}

fn main() {
    corio::run(async {
        let lock = Rc::new(RLock::new(Data::default()));
        let tasks: Vec<_> = (0..10).map(|_| corio::spawn(run3(lock.clone()))).collect();
        for t in tasks {
            t.await.unwrap();
        }
        let data = lock.lock().await;
        println!("----all tasks done---");
        println!("{} {}", data.num.get(), data.num2.get());
        assert_eq!((data.num.get(), data.num2.get()), (10, 10));
    });
}
