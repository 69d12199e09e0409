//! The seeds' `threading.Timer`, as `time::call_later`: run a callback after a delay, on
//! the event loop, unless it is cancelled first.
//!
//! Run: `cargo run --example timer`
//!
//! What it shows: a timer fires after its delay (300 ms here, the seed's 30 s shortened), a
//! cancelled timer never fires, and `is_finished` reports both.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::time::{call_later, sleep};

fn main() {
    corio::run(async {
        let started = Instant::now();
        let at = move || started.elapsed().as_millis();
        let fired = Rc::new(Cell::new(0));

        let f = fired.clone();
        let hello = call_later(Duration::from_millis(300), move || {
            println!("{:>4} ms  hello, world", at());
            f.set(f.get() + 1);
        });
        let f = fired.clone();
        let cancelled = call_later(Duration::from_millis(200), move || {
            println!("this never prints");
            f.set(f.get() + 100);
        });
        println!(
            "{:>4} ms  two timers started: 'hello' in 300 ms, another in 200 ms",
            at()
        );

        sleep(Duration::from_millis(100)).await;
        cancelled.cancel();
        println!("{:>4} ms  cancelled the 200 ms timer before it fired", at());

        sleep(Duration::from_millis(350)).await;
        println!(
            "{:>4} ms  hello finished: {}, cancelled finished: {}, callbacks run: {}",
            at(),
            hello.is_finished(),
            cancelled.is_finished(),
            fired.get()
        );
        assert_eq!(fired.get(), 1);
    });
}
