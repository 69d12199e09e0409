//! Cancel at every poll point, for the shard channel: `send` on a full channel and `recv` on
//! an empty one are started again and again and dropped at each of their poll points in
//! turn (unpolled; parked; woken — granted a slot, or handed an item — but not yet polled
//! again) until they complete. After every drop: no item lost, duplicated or invented, a
//! dropped `send`'s item was either delivered or dropped with it (never both), and the other
//! sender of the trial is not stranded (a slot granted to a dropped sender passes on).
//!
//! Same driver as tests/cancel_at_every_poll.rs (`corio_runtime::testing`), several seeds.

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use corio::shard::{channel, unbounded, Receiver, Sender};
use corio::sync::Lock;
use corio_runtime::testing::{cancel_at_each_poll, explore};

mod common;
use common::cancel::{jitter, turns, within_or_stranded, Others};

/// Seeds per test in the default `cargo test`.
const SEEDS: u64 = 5;

/// Where every item went: made, received, dropped (each id must be dropped exactly once).
#[derive(Default)]
struct Ledger {
    made: Mutex<Vec<u64>>,
    received: Mutex<Vec<u64>>,
    dropped: Arc<Mutex<Vec<u64>>>,
}

/// A channel item that logs its drop.
struct Tracked {
    id: u64,
    drops: Arc<Mutex<Vec<u64>>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.lock().unwrap().push(self.id);
    }
}

impl Ledger {
    fn item(&self) -> Tracked {
        let mut made = self.made.lock().unwrap();
        let id = made.len() as u64;
        made.push(id);
        Tracked {
            id,
            drops: self.dropped.clone(),
        }
    }

    fn receive(&self, item: Tracked) {
        self.received.lock().unwrap().push(item.id);
    }

    fn was_received(&self, id: u64) -> bool {
        self.received.lock().unwrap().contains(&id)
    }

    /// Every item made was dropped exactly once, and none was received twice.
    fn check(&self, what: impl std::fmt::Display) {
        let sorted = |v: &Mutex<Vec<u64>>| {
            let mut v = v.lock().unwrap().clone();
            v.sort_unstable();
            v
        };
        let received = sorted(&self.received);
        let mut unique = received.clone();
        unique.dedup();
        assert_eq!(received, unique, "{what}: an item was received twice");
        assert_eq!(
            sorted(&self.dropped),
            sorted(&self.made),
            "{what}: an item was leaked or dropped twice"
        );
    }
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// Receive one item within `STRANDED` (the one receiver is shared by the trial's tasks
/// behind a `Lock`: one receives at a time).
async fn receive_one(ledger: &Ledger, rx: &Lock<Receiver<Tracked>>, what: &str) {
    let item = within_or_stranded(what, async { rx.lock().await.recv().await }).await;
    ledger.receive(item.expect("the channel is not closed"));
}

#[test]
fn send_dropped_at_every_poll_point_delivers_or_drops_its_item_and_passes_its_slot_on() {
    explore(
        "send_dropped_at_every_poll_point_delivers_or_drops_its_item_and_passes_its_slot_on",
        SEEDS,
        |seed| async move {
            let ledger: &'static Ledger = leak(Ledger::default());
            let (tx, rx) = channel::<Tracked>(1);
            let tx: &'static Sender<Tracked> = leak(tx);
            let rx: &'static Lock<Receiver<Tracked>> = leak(Lock::new(rx));
            tx.try_send(ledger.item()).map_err(|_| "room").unwrap(); // full
            let others = &Others::default();
            let ours_id = &Cell::new(0);
            let dropped = cancel_at_each_poll(
                |point| {
                    // A consumer frees the one slot a few turns later: it is granted to ours
                    // (the oldest waiter), or, once ours is gone, to the second sender.
                    others.spawn(async move {
                        turns(1 + jitter(seed, 0, point)).await;
                        receive_one(ledger, rx, "the consumer's recv").await;
                    });
                    others.spawn(async move {
                        tx.send(ledger.item()).await.map_err(|_| "open").unwrap();
                    });
                    let item = ledger.item();
                    ours_id.set(item.id);
                    tx.send(item)
                },
                |point, out| async move {
                    let ours = ours_id.get();
                    let completed = out.is_some();
                    if let Some(result) = out {
                        result.map_err(|_| "open").unwrap();
                        // Ours took the freed slot: the second sender needs another.
                        receive_one(ledger, rx, "our item").await;
                        assert!(ledger.was_received(ours), "dropped {point}: sent but lost");
                    }
                    others.finish(point).await;
                    // Back to one queued item (the second sender's): take it, refill.
                    receive_one(ledger, rx, "the second sender's item").await;
                    assert!(
                        rx.try_lock().unwrap().is_empty(),
                        "dropped {point}: items invented"
                    );
                    if !completed {
                        assert!(
                            !ledger.was_received(ours),
                            "dropped {point}: a dropped send delivered its item"
                        );
                        assert!(
                            ledger.dropped.lock().unwrap().contains(&ours),
                            "dropped {point}: a dropped send kept its item"
                        );
                    }
                    ledger.check(format_args!("dropped {point}"));
                    tx.try_send(ledger.item()).map_err(|_| "room").unwrap(); // full again
                    assert!(!rx.try_lock().unwrap().is_empty());
                },
            )
            .await;
            assert_eq!(dropped, 3, "unpolled, parked, granted a slot and woken");
            drop(rx.try_lock().unwrap().try_recv());
            ledger.check("at the end");
        },
    );
}

#[test]
fn recv_dropped_at_every_poll_point_loses_no_item() {
    explore(
        "recv_dropped_at_every_poll_point_loses_no_item",
        SEEDS,
        |seed| async move {
            let ledger: &'static Ledger = leak(Ledger::default());
            let (tx, rx) = unbounded::<Tracked>();
            let tx: &'static Sender<Tracked> = leak(tx);
            let rx: &'static Lock<Receiver<Tracked>> = leak(Lock::new(rx));
            let others = &Others::default();
            let dropped = cancel_at_each_poll(
                |point| {
                    others.spawn(async move {
                        turns(jitter(seed, 0, point)).await;
                        tx.send(ledger.item()).await.map_err(|_| "open").unwrap();
                    });
                    async move { rx.lock().await.recv().await }
                },
                |point, out| async move {
                    others.finish(point).await;
                    match out {
                        Some(item) => ledger.receive(item.expect("not closed")),
                        // Dropped, maybe after the item arrived: it must still be there.
                        None => receive_one(ledger, rx, "the item a dropped recv left").await,
                    }
                    assert!(
                        rx.try_lock().unwrap().is_empty(),
                        "dropped {point}: items invented"
                    );
                    ledger.check(format_args!("dropped {point}"));
                },
            )
            .await;
            assert_eq!(dropped, 3, "unpolled, parked, woken by the send");
        },
    );
}
