//! The micro-benchmark cases, each written for corio and for tokio current_thread + LocalSet.
//!
//! Shared by `corio-bench micro` and by the criterion benches (`benches/micro.rs` includes this
//! file with `#[path]`), so both measure the very same code. Every function builds its own
//! runtime, then times only the loop inside `block_on`: runtime start-up is not measured.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// One case: a name, what one iteration is, and the two implementations.
pub struct Case {
    /// Short name used in tables and bench ids.
    pub name: &'static str,
    /// What one iteration does.
    pub unit: &'static str,
    /// The target for the corio/tokio time ratio (lower is better).
    pub target: f64,
    /// Run `iters` iterations on corio; returns the measured time.
    pub corio: fn(u64) -> Duration,
    /// Run `iters` iterations on tokio current_thread + LocalSet.
    pub tokio: fn(u64) -> Duration,
}

/// Every case, in report order.
pub const CASES: &[Case] = &[
    Case {
        name: "spawn_join",
        unit: "spawn + await one task",
        target: 0.3,
        corio: corio_spawn_join,
        tokio: tokio_spawn_join,
    },
    Case {
        name: "spawn_100k_join_all",
        unit: "spawn 100k tasks, then await all",
        target: 0.3,
        corio: corio_spawn_many,
        tokio: tokio_spawn_many,
    },
    Case {
        name: "yield_now",
        unit: "one yield_now in a task",
        target: 0.15,
        corio: corio_yield,
        tokio: tokio_yield,
    },
    Case {
        name: "ping_pong",
        unit: "one round trip between two tasks (Event vs Notify)",
        target: 0.25,
        corio: corio_ping_pong,
        tokio: tokio_ping_pong,
    },
    Case {
        name: "lock_uncontended",
        unit: "lock + unlock (Lock vs Mutex)",
        target: 0.3,
        corio: corio_lock,
        tokio: tokio_lock,
    },
    Case {
        name: "semaphore_uncontended",
        unit: "acquire + release",
        target: 0.3,
        corio: corio_semaphore,
        tokio: tokio_semaphore,
    },
    Case {
        name: "lock_contended_8",
        unit: "one lock hand-over among 8 tasks",
        target: 0.3,
        corio: corio_lock_contended,
        tokio: tokio_lock_contended,
    },
    Case {
        name: "queue_bounded_16",
        unit: "one item through Queue(16) vs mpsc(16)",
        target: 0.5,
        corio: corio_queue_bounded,
        tokio: tokio_queue_bounded,
    },
    Case {
        name: "queue_unbounded",
        unit: "one item through Queue vs unbounded mpsc",
        target: 0.7,
        corio: corio_queue_unbounded,
        tokio: tokio_queue_unbounded,
    },
    Case {
        name: "channel_same_loop",
        unit: "one item through shard::channel(16) vs mpsc(16), one loop",
        // The bar is corio's own Queue: within 2x of `queue_bounded_16`'s corio time.
        target: 1.0,
        corio: corio_channel_same_loop,
        tokio: tokio_queue_bounded,
    },
    Case {
        name: "sleep_100k_fire",
        unit: "100k tasks each sleep 1 ms, all joined",
        target: 0.5,
        corio: corio_sleeps,
        tokio: tokio_sleeps,
    },
    Case {
        name: "timeout_not_fired",
        unit: "timeout(1 s) around a future pending once",
        target: 0.5,
        corio: corio_timeout,
        tokio: tokio_timeout,
    },
    Case {
        name: "timeout_ready",
        unit: "timeout(10 s) around a future ready at once",
        // The performance-at-scale issue's bar: a ready future reads no clock.
        target: 0.3,
        corio: corio_timeout_ready,
        tokio: tokio_timeout_ready,
    },
];

/// The corio runtime every case runs on: the defaults, or with slow-poll detection on when
/// `CORIO_MICRO_SLOW_POLL_MS` is set (to measure what the watchdog costs).
fn corio_runtime() -> corio::Runtime {
    let mut builder = corio::Runtime::builder();
    if let Some(ms) = std::env::var("CORIO_MICRO_SLOW_POLL_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        builder = builder.slow_poll_threshold(Duration::from_millis(ms));
    }
    builder.build().expect("corio runtime")
}

fn corio_time<F: std::future::Future<Output = ()>>(body: F) -> Duration {
    let rt = corio_runtime();
    rt.block_on(async {
        let t = Instant::now();
        body.await;
        t.elapsed()
    })
}

fn tokio_time<F: std::future::Future<Output = ()>>(body: F) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let t = Instant::now();
        body.await;
        t.elapsed()
    })
}

fn corio_spawn_join(iters: u64) -> Duration {
    corio_time(async move {
        for i in 0..iters {
            std::hint::black_box(corio::spawn(async move { i }).await.unwrap());
        }
    })
}

fn tokio_spawn_join(iters: u64) -> Duration {
    tokio_time(async move {
        for i in 0..iters {
            std::hint::black_box(tokio::task::spawn_local(async move { i }).await.unwrap());
        }
    })
}

const MANY: u64 = 100_000;

fn corio_spawn_many(iters: u64) -> Duration {
    corio_time(async move {
        for _ in 0..iters {
            let hs: Vec<_> = (0..MANY).map(|i| corio::spawn(async move { i })).collect();
            for h in hs {
                std::hint::black_box(h.await.unwrap());
            }
        }
    })
}

fn tokio_spawn_many(iters: u64) -> Duration {
    tokio_time(async move {
        for _ in 0..iters {
            let hs: Vec<_> = (0..MANY)
                .map(|i| tokio::task::spawn_local(async move { i }))
                .collect();
            for h in hs {
                std::hint::black_box(h.await.unwrap());
            }
        }
    })
}

fn corio_yield(iters: u64) -> Duration {
    corio_time(async move {
        corio::spawn(async move {
            for _ in 0..iters {
                corio::task::yield_now().await;
            }
        })
        .await
        .unwrap()
    })
}

fn tokio_yield(iters: u64) -> Duration {
    tokio_time(async move {
        tokio::task::spawn_local(async move {
            for _ in 0..iters {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap()
    })
}

fn corio_ping_pong(iters: u64) -> Duration {
    use corio::sync::Event;
    corio_time(async move {
        let ping = Rc::new(Event::new());
        let pong = Rc::new(Event::new());
        let (pi, po) = (ping.clone(), pong.clone());
        let responder = corio::spawn(async move {
            for _ in 0..iters {
                pi.wait().await;
                pi.clear();
                po.set();
            }
        });
        for _ in 0..iters {
            ping.set();
            pong.wait().await;
            pong.clear();
        }
        responder.await.unwrap();
    })
}

fn tokio_ping_pong(iters: u64) -> Duration {
    use tokio::sync::Notify;
    tokio_time(async move {
        let ping = Rc::new(Notify::new());
        let pong = Rc::new(Notify::new());
        let (pi, po) = (ping.clone(), pong.clone());
        let responder = tokio::task::spawn_local(async move {
            for _ in 0..iters {
                pi.notified().await;
                po.notify_one();
            }
        });
        for _ in 0..iters {
            ping.notify_one();
            pong.notified().await;
        }
        responder.await.unwrap();
    })
}

fn corio_lock(iters: u64) -> Duration {
    corio_time(async move {
        let lock = corio::sync::Lock::new(0u64);
        for _ in 0..iters {
            *lock.lock().await += 1;
        }
        assert_eq!(*lock.lock().await, iters);
    })
}

fn tokio_lock(iters: u64) -> Duration {
    tokio_time(async move {
        let lock = tokio::sync::Mutex::new(0u64);
        for _ in 0..iters {
            *lock.lock().await += 1;
        }
        assert_eq!(*lock.lock().await, iters);
    })
}

fn corio_semaphore(iters: u64) -> Duration {
    corio_time(async move {
        let sem = corio::sync::Semaphore::new(4);
        for _ in 0..iters {
            drop(std::hint::black_box(sem.acquire().await.unwrap()));
        }
    })
}

fn tokio_semaphore(iters: u64) -> Duration {
    tokio_time(async move {
        let sem = tokio::sync::Semaphore::new(4);
        for _ in 0..iters {
            drop(std::hint::black_box(sem.acquire().await.unwrap()));
        }
    })
}

const CONTENDERS: u64 = 8;

fn corio_lock_contended(iters: u64) -> Duration {
    corio_time(async move {
        let lock = Rc::new(corio::sync::Lock::new(0u64));
        let per_task = iters.div_ceil(CONTENDERS);
        let hs: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let lock = lock.clone();
                corio::spawn(async move {
                    for _ in 0..per_task {
                        let mut g = lock.lock().await;
                        *g += 1;
                        // Hold the lock across a yield so the others queue up behind it.
                        corio::task::yield_now().await;
                        drop(g);
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        assert_eq!(*lock.lock().await, per_task * CONTENDERS);
    })
}

fn tokio_lock_contended(iters: u64) -> Duration {
    tokio_time(async move {
        let lock = Rc::new(tokio::sync::Mutex::new(0u64));
        let per_task = iters.div_ceil(CONTENDERS);
        let hs: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let lock = lock.clone();
                tokio::task::spawn_local(async move {
                    for _ in 0..per_task {
                        let mut g = lock.lock().await;
                        *g += 1;
                        tokio::task::yield_now().await;
                        drop(g);
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        assert_eq!(*lock.lock().await, per_task * CONTENDERS);
    })
}

fn corio_queue(iters: u64, queue: corio::sync::Queue<u64>) -> Duration {
    corio_time(async move {
        let q = Rc::new(queue);
        let producer = {
            let q = q.clone();
            corio::spawn(async move {
                for i in 0..iters {
                    q.put(i).await.unwrap();
                }
            })
        };
        let mut sum = 0u64;
        for _ in 0..iters {
            sum += q.get().await.unwrap();
        }
        producer.await.unwrap();
        std::hint::black_box(sum);
    })
}

fn corio_queue_bounded(iters: u64) -> Duration {
    corio_queue(iters, corio::sync::Queue::bounded(16))
}

fn corio_queue_unbounded(iters: u64) -> Duration {
    corio_queue(iters, corio::sync::Queue::new())
}

fn tokio_queue_bounded(iters: u64) -> Duration {
    tokio_time(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let producer = tokio::task::spawn_local(async move {
            for i in 0..iters {
                tx.send(i).await.unwrap();
            }
        });
        let mut sum = 0u64;
        for _ in 0..iters {
            sum += rx.recv().await.unwrap();
        }
        producer.await.unwrap();
        std::hint::black_box(sum);
    })
}

fn tokio_queue_unbounded(iters: u64) -> Duration {
    tokio_time(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let producer = tokio::task::spawn_local(async move {
            for i in 0..iters {
                tx.send(i).unwrap();
            }
        });
        let mut sum = 0u64;
        for _ in 0..iters {
            sum += rx.recv().await.unwrap();
        }
        producer.await.unwrap();
        std::hint::black_box(sum);
    })
}

/// `corio_queue_bounded` with the Send channel instead of `sync::Queue`.
fn corio_channel_same_loop(iters: u64) -> Duration {
    corio_time(async move {
        let (tx, mut rx) = corio::shard::channel(16);
        let producer = corio::spawn(async move {
            for i in 0..iters {
                tx.send(i).await.unwrap();
            }
        });
        let mut sum = 0u64;
        for _ in 0..iters {
            sum += rx.recv().await.unwrap();
        }
        producer.await.unwrap();
        std::hint::black_box(sum);
    })
}

const SLEEPERS: u64 = 100_000;

fn corio_sleeps(iters: u64) -> Duration {
    corio_time(async move {
        for _ in 0..iters {
            let hs: Vec<_> = (0..SLEEPERS)
                .map(|_| corio::spawn(corio::time::sleep(Duration::from_millis(1))))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        }
    })
}

fn tokio_sleeps(iters: u64) -> Duration {
    tokio_time(async move {
        for _ in 0..iters {
            let hs: Vec<_> = (0..SLEEPERS)
                .map(|_| tokio::task::spawn_local(tokio::time::sleep(Duration::from_millis(1))))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        }
    })
}

fn corio_timeout(iters: u64) -> Duration {
    corio_time(async move {
        for _ in 0..iters {
            let r = corio::time::timeout(Duration::from_secs(1), corio::task::yield_now()).await;
            r.unwrap();
        }
    })
}

fn tokio_timeout(iters: u64) -> Duration {
    tokio_time(async move {
        for _ in 0..iters {
            let r = tokio::time::timeout(Duration::from_secs(1), tokio::task::yield_now()).await;
            r.unwrap();
        }
    })
}

fn corio_timeout_ready(iters: u64) -> Duration {
    corio_time(async move {
        for i in 0..iters {
            let r = corio::time::timeout(Duration::from_secs(10), std::future::ready(i)).await;
            std::hint::black_box(r.unwrap());
        }
    })
}

fn tokio_timeout_ready(iters: u64) -> Duration {
    tokio_time(async move {
        for i in 0..iters {
            let r = tokio::time::timeout(Duration::from_secs(10), std::future::ready(i)).await;
            std::hint::black_box(r.unwrap());
        }
    })
}

/// Tasks parked for the idle-memory case.
pub const IDLE_TASKS: usize = 100_000;

/// The parked future, the same in both runtimes: a small state machine that never finishes.
async fn parked(i: usize, stop: Rc<Cell<bool>>) -> usize {
    std::future::pending::<()>().await;
    if stop.get() {
        i
    } else {
        0
    }
}

/// Resident set size of this process, in bytes (Linux `/proc/self/statm`).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// RSS growth per parked task on corio, in bytes.
pub fn corio_idle_task_bytes() -> f64 {
    let rt = corio::Runtime::new().expect("corio runtime");
    rt.block_on(async {
        let stop = Rc::new(Cell::new(false));
        let before = rss_bytes();
        let hs: Vec<_> = (0..IDLE_TASKS)
            .map(|i| corio::spawn(parked(i, stop.clone())))
            .collect();
        // Let every task run once and park (the loop runs all ready tasks before a timer).
        corio::time::sleep(Duration::from_millis(20)).await;
        let after = rss_bytes();
        std::hint::black_box(&hs);
        (after.saturating_sub(before)) as f64 / IDLE_TASKS as f64
    })
}

/// RSS growth per parked task on tokio current_thread + LocalSet, in bytes.
pub fn tokio_idle_task_bytes() -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let stop = Rc::new(Cell::new(false));
        let before = rss_bytes();
        let hs: Vec<_> = (0..IDLE_TASKS)
            .map(|i| tokio::task::spawn_local(parked(i, stop.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let after = rss_bytes();
        std::hint::black_box(&hs);
        (after.saturating_sub(before)) as f64 / IDLE_TASKS as f64
    })
}
