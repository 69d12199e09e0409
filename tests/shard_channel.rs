//! `corio::shard::{channel, unbounded}`: the contract of the Send channel between loops and
//! threads — conservation and per-sender order under many producers (OS threads and other
//! loops), close semantics, capacity and backpressure with FIFO senders, one wake-up per
//! burst, `send_blocking`, the budget and `Stream`. Cancel-at-every-poll for `send` and
//! `recv` is in tests/shard_channel_cancel.rs.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use corio::shard::{channel, unbounded, Receiver, Sender, TryRecvError, TrySendError};
use corio::sync::Closed;
use corio::task::yield_now;

mod common;
use common::{bounded, poll_once, settle, within};

const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 100_000;

/// Receive until every sender is gone; check each producer's items came in its order and
/// none is missing or duplicated.
async fn receive_all_in_order(mut rx: Receiver<(u64, u64)>) {
    let mut next = vec![0u64; PRODUCERS as usize];
    let mut total = 0u64;
    while let Some((producer, seq)) = rx.recv().await {
        let expected = &mut next[producer as usize];
        assert_eq!(seq, *expected, "producer {producer}: out of order or lost");
        *expected += 1;
        total += 1;
    }
    assert_eq!(next, vec![PER_PRODUCER; PRODUCERS as usize]);
    assert_eq!(total, PRODUCERS * PER_PRODUCER);
}

fn run_receiver(rx: Receiver<(u64, u64)>) {
    corio::Runtime::new()
        .unwrap()
        .block_on(bounded(receive_all_in_order(rx)));
}

#[test]
fn every_item_of_many_os_thread_producers_arrives_once_in_per_sender_order() {
    for (tx, rx) in [channel(64), unbounded()] {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx: Sender<(u64, u64)> = tx.clone();
                thread::spawn(move || {
                    for seq in 0..PER_PRODUCER {
                        tx.send_blocking((p, seq)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        run_receiver(rx);
        producers.into_iter().for_each(|p| p.join().unwrap());
    }
}

#[test]
fn every_item_of_producers_on_other_loops_arrives_once_in_per_sender_order() {
    let (tx, rx) = channel(32);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx: Sender<(u64, u64)> = tx.clone();
            thread::spawn(move || {
                // Each producer thread runs a loop of its own, with a few tasks sharing it.
                corio::Runtime::new().unwrap().block_on(async move {
                    let tx = Rc::new(tx);
                    let half = PER_PRODUCER / 2;
                    let first = corio::spawn({
                        let tx = tx.clone();
                        async move {
                            for seq in 0..half {
                                tx.send((p, seq)).await.unwrap();
                            }
                        }
                    });
                    first.await.unwrap();
                    for seq in half..PER_PRODUCER {
                        // try_send when there is room, await when full.
                        if let Err(TrySendError::Full(item)) = tx.try_send((p, seq)) {
                            tx.send(item).await.unwrap();
                        }
                    }
                })
            })
        })
        .collect();
    drop(tx);
    run_receiver(rx);
    producers.into_iter().for_each(|p| p.join().unwrap());
}

#[corio::test]
async fn within_one_loop_tasks_exchange_items_both_ways_of_waiting() {
    let (tx, mut rx) = channel(2);
    let producer = corio::spawn(async move {
        for n in 0..1000u32 {
            tx.send(n).await.unwrap();
        }
    });
    let mut expected = 0;
    while let Some(n) = within(rx.recv()).await {
        assert_eq!(n, expected);
        expected += 1;
        if n % 7 == 0 {
            yield_now().await; // let the producer fill the channel and wait
        }
    }
    assert_eq!(expected, 1000);
    producer.await.unwrap();
}

#[corio::test]
async fn recv_returns_none_only_once_every_sender_is_gone_and_it_is_drained() {
    let (tx, mut rx) = unbounded();
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    drop(tx);
    tx2.try_send(2).unwrap();
    let mut recv = Box::pin(rx.recv());
    assert_eq!(poll_once(&mut recv).await, Poll::Ready(Some(1)));
    drop(recv);
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "a sender remains");
    let waiting = corio::spawn(async move { rx.recv().await });
    settle().await;
    drop(tx2); // wakes the parked receiver with the end
    assert_eq!(within(waiting).await.unwrap(), None);
}

#[corio::test]
async fn close_fails_senders_now_and_later_with_their_items_and_lets_the_rest_drain() {
    let (tx, mut rx) = channel(1);
    tx.try_send("queued").unwrap();
    let blocked = corio::spawn({
        let tx = tx.clone();
        async move { tx.send("waiting").await }
    });
    settle().await;
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(within(blocked).await.unwrap(), Err(Closed("waiting")));
    assert_eq!(tx.try_send("late"), Err(TrySendError::Closed("late")));
    assert_eq!(tx.send("later").await, Err(Closed("later")));
    assert_eq!(
        rx.recv().await,
        Some("queued"),
        "what was queued still drains"
    );
    assert_eq!(rx.recv().await, None);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    rx.close(); // twice: harmless
}

#[corio::test]
async fn dropping_the_receiver_closes_the_channel_and_drops_the_queued_items() {
    /// Counts its drops (in an `Arc`: channel items are `Send`).
    struct SendCounted(Arc<AtomicUsize>);
    impl Drop for SendCounted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel(4);
    for _ in 0..3 {
        tx.try_send(SendCounted(drops.clone()))
            .map_err(|_| ())
            .unwrap();
    }
    drop(rx);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        3,
        "queued items dropped with the receiver"
    );
    assert!(tx.is_closed());
    match tx.try_send(SendCounted(drops.clone())) {
        Err(TrySendError::Closed(item)) => drop(item),
        _ => panic!("a send after the receiver is gone must fail with its item"),
    }
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[corio::test]
async fn a_full_channel_makes_senders_wait_in_arrival_order_and_try_send_cannot_overtake() {
    let (tx, mut rx) = channel(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(rx.len(), 2);
    let order = Rc::new(std::cell::RefCell::new(Vec::new()));
    let senders: Vec<_> = (2..5)
        .map(|n| {
            let (tx, order) = (tx.clone(), order.clone());
            corio::spawn(async move {
                tx.send(n).await.unwrap();
                order.borrow_mut().push(n);
            })
        })
        .collect();
    settle().await; // all three wait, in order 2, 3, 4
    assert_eq!(rx.try_recv(), Ok(0)); // frees a slot: granted to the oldest waiter (2)
    assert_eq!(
        tx.try_send(9),
        Err(TrySendError::Full(9)),
        "try_send overtook a waiting sender"
    );
    let mut got = vec![0];
    while got.len() < 5 {
        got.push(within(rx.recv()).await.unwrap());
        assert!(rx.len() <= 2, "more items buffered than the capacity");
    }
    assert_eq!(got, [0, 1, 2, 3, 4]);
    for s in senders {
        s.await.unwrap();
    }
    assert_eq!(*order.borrow(), [2, 3, 4]);
    assert_eq!(rx.capacity(), Some(2));
    assert_eq!(unbounded::<u8>().1.capacity(), None);
}

#[test]
#[should_panic(expected = "shard::channel(0)")]
fn a_channel_of_capacity_zero_is_refused_with_a_hint() {
    let _ = channel::<u8>(0);
}

#[test]
fn send_blocking_from_a_plain_thread_waits_for_room() {
    let (tx, mut rx) = channel(1);
    let producer = thread::spawn(move || {
        for n in 0..100u32 {
            tx.send_blocking(n).unwrap();
        }
        tx
    });
    corio::run(bounded(async {
        for expected in 0..100 {
            assert_eq!(rx.recv().await, Some(expected));
        }
    }));
    let tx = producer.join().unwrap();
    drop(rx);
    assert_eq!(
        tx.send_blocking(5),
        Err(Closed(5)),
        "fails once the receiver is gone"
    );
}

#[corio::test]
async fn send_blocking_on_a_loop_thread_panics_instead_of_stalling_the_loop() {
    let (tx, _rx) = channel::<u8>(1);
    let out = std::panic::catch_unwind(move || tx.send_blocking(1));
    let payload = out.unwrap_err();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or(payload.downcast_ref::<String>().map(String::as_str))
        .unwrap();
    assert!(message.contains("use `send(item).await`"), "{message}");
}

/// Counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_burst_of_sends_from_another_thread_wakes_the_parked_receiver_once() {
    let (tx, mut rx) = unbounded();
    let count = Arc::new(CountingWaker::default());
    let waker = Waker::from(count.clone());
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    let burst = thread::spawn(move || {
        for n in 0..1000u32 {
            tx.try_send(n).unwrap();
        }
    });
    burst.join().unwrap();
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "one wake for the whole burst"
    );
    let mut got = 0;
    while let Ok(n) = rx.try_recv() {
        assert_eq!(n, got);
        got += 1;
    }
    assert_eq!(got, 1000);
}

#[test]
fn a_burst_of_sends_from_another_thread_schedules_the_receiving_task_once() {
    corio::run(bounded(async {
        let (tx, mut rx) = channel(2000);
        let receiver = corio::spawn(async move {
            let mut got = 0u32;
            while let Some(n) = rx.recv().await {
                assert_eq!(n, got);
                got += 1;
            }
            got
        });
        settle().await; // the receiver parks
        let before = corio::metrics().remote_schedule_count;
        // Block this loop on purpose while the burst lands, so the receiver cannot run (and
        // park again) in between: every wake it gets is counted below.
        thread::spawn(move || {
            for n in 0..1000u32 {
                tx.send_blocking(n).unwrap();
            }
        })
        .join()
        .unwrap();
        assert_eq!(within(receiver).await.unwrap(), 1000);
        let woken = corio::metrics().remote_schedule_count - before;
        assert_eq!(
            woken, 1,
            "1,000 sends (and the last sender's drop) woke the loop {woken} times"
        );
    }));
}

#[test]
fn a_busy_receiver_gives_way_under_the_cooperative_budget() {
    let rt = corio::Runtime::builder().task_budget(16).build().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = unbounded();
        for n in 0..100u32 {
            tx.try_send(n).unwrap();
        }
        let other_ran = Rc::new(Cell::new(false));
        corio::spawn({
            let other_ran = other_ran.clone();
            async move { other_ran.set(true) }
        });
        for _ in 0..100 {
            rx.recv().await.unwrap();
        }
        assert!(
            other_ran.get(),
            "100 ready receives never let another task run"
        );
        assert!(corio_runtime::testing::budget_forced_yield_count() > 0);
    });
}

#[corio::test]
async fn the_receiver_is_a_stream_and_the_handles_are_send() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let (tx, mut rx) = unbounded();
    send_sync(&tx);
    send(&rx);
    send(&tx.send(1u8)); // the send future can cross threads too
    for n in 0..3u8 {
        tx.try_send(n).unwrap();
    }
    drop(tx);
    let mut got = Vec::new();
    std::future::poll_fn(|cx| loop {
        match futures_core::Stream::poll_next(std::pin::Pin::new(&mut rx), cx) {
            Poll::Ready(Some(n)) => got.push(n),
            Poll::Ready(None) => return Poll::Ready(()),
            Poll::Pending => return Poll::Pending,
        }
    })
    .await;
    assert_eq!(got, [0, 1, 2]);
    assert!(format!("{rx:?}").contains("Receiver"));
}
