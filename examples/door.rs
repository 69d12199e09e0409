//! The seeds' office door, as tasks: the door is an `Event` ("swiped open"). Staff who find
//! it closed swipe their card (`set`); the door task closes it (`clear`) after it has been
//! open for a while; staff who find it open walk through.
//!
//! Run: `cargo run --example door`
//!
//! What it shows: a closed door parks the door task in `wait()` (no busy loop) until someone
//! swipes; `set` is idempotent; `clear` makes the door wait for the next swipe. One door
//! step is 100 ms (the seed's 0.5 s, shortened).

use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::sync::Event;
use corio::time::sleep;

const STEP: Duration = Duration::from_millis(100);

fn main() {
    corio::run(async {
        let started = Instant::now();
        let at = move || started.elapsed().as_millis();
        let door_open = Rc::new(Event::new());

        let door = corio::spawn({
            let door_open = door_open.clone();
            async move {
                let mut open_for = 0;
                loop {
                    if door_open.is_set() {
                        println!("{:>4} ms  door opening....", at());
                        open_for += 1;
                    } else {
                        println!("{:>4} ms  door closed...., swipe to open.", at());
                        open_for = 0;
                        door_open.wait().await; // sleeps until someone swipes
                    }
                    if open_for > 3 {
                        // Open for 3 steps: time to close. (The seed forgot to reset the
                        // counter here, so a later swipe reopened the door for one instant
                        // only and a late-comer could keep swiping forever.)
                        door_open.clear();
                        open_for = 0;
                    }
                    sleep(STEP).await;
                }
            }
        });

        let mut staff = Vec::new();
        let mut rng = 7u64;
        for n in 0..5 {
            rng = (rng * 1103515245 + 12345) % 2147483648;
            sleep(STEP * (rng % 8) as u32).await; // staff arrive at random times
            let door_open = door_open.clone();
            staff.push(corio::spawn(async move {
                println!("{:>4} ms  staff [{n}] is coming...", at());
                loop {
                    if door_open.is_set() {
                        println!("{:>4} ms  staff [{n}]: door is open, passing.....", at());
                        break;
                    }
                    println!(
                        "{:>4} ms  staff [{n}] sees the door closed, swiping the card.....",
                        at()
                    );
                    door_open.set();
                    sleep(STEP).await;
                }
            }));
        }
        for s in staff {
            s.await.unwrap();
        }
        door.abort();
        println!("{:>4} ms  all 5 staff are in", at());
    });
}
