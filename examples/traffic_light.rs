//! The seeds' traffic light, as tasks: one task drives the light and an `Event` is "green";
//! car tasks drive while it is set and wait on it while it is red.
//!
//! Run: `cargo run --example traffic_light`
//!
//! What it shows: `set` (green) wakes every waiting car at once, `clear` (red) makes later
//! `wait`s block again, and `is_set` lets a car look without waiting. One tick is 40 ms, so
//! two full light cycles (green 10, yellow 3, red 7 ticks) take 1.6 s.

use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::sync::Event;
use corio::time::sleep;

const TICK: Duration = Duration::from_millis(40);

fn main() {
    corio::run(async {
        let started = Instant::now();
        let at = move || started.elapsed().as_millis();
        let green = Rc::new(Event::new());

        let light = corio::spawn({
            let green = green.clone();
            async move {
                green.set();
                for cycle in 0..2 {
                    for count in 0..20 {
                        match count {
                            0 => {
                                green.set(); // wakes every car waiting at the red light
                                println!("{:>4} ms  --green light on-- (cycle {cycle})", at());
                            }
                            10 => println!("{:>4} ms  --yellow light on--", at()),
                            13 => {
                                green.clear();
                                println!("{:>4} ms  --red light on--", at());
                            }
                            _ => {}
                        }
                        sleep(TICK).await;
                    }
                }
            }
        });

        let cars: Vec<_> = (0..3u64)
            .map(|n| {
                let green = green.clone();
                corio::spawn(async move {
                    let mut rng = n * 7 + 3;
                    loop {
                        rng = (rng * 1103515245 + 12345) % 2147483648;
                        sleep(TICK * (rng % 10) as u32).await;
                        if green.is_set() {
                            println!("{:>4} ms  car [{n}] is running..", at());
                        } else {
                            println!("{:>4} ms  car [{n}] is waiting for the red light..", at());
                            green.wait().await;
                            println!("{:>4} ms  car [{n}] sees green and goes", at());
                        }
                    }
                })
            })
            .collect();

        light.await.unwrap();
        for car in cars {
            car.abort();
        }
        println!("{:>4} ms  two light cycles done; cars parked", at());
    });
}
