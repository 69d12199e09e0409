//! Barrier: nobody passes until n arrive, exactly one leader per generation, reusable,
//! and a wait dropped before its generation fills does not count.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;

use corio::sync::Barrier;
use corio::task::yield_now;

mod common;
use common::{poll_once, settle, within};

#[corio::test]
async fn nobody_passes_until_n_have_arrived() {
    let barrier = Rc::new(Barrier::new(3));
    let passed = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (barrier, passed) = (barrier.clone(), passed.clone());
            corio::spawn(async move {
                barrier.wait().await;
                passed.set(passed.get() + 1);
            })
        })
        .collect();
    settle().await;
    assert_eq!((passed.get(), barrier.n_waiting()), (0, 2));
    assert!(barrier.wait().await.is_leader(), "the last arrival leads");
    for t in tasks {
        within(t).await.unwrap();
    }
    assert_eq!((passed.get(), barrier.n_waiting()), (2, 0));
}

#[corio::test(seed = 6)]
async fn exactly_one_leader_per_generation_across_many_generations() {
    const PARTIES: usize = 4;
    const GENERATIONS: usize = 10;
    let barrier = Rc::new(Barrier::new(PARTIES));
    let leaders = Rc::new(RefCell::new(vec![0; GENERATIONS]));
    let phase = Rc::new(RefCell::new(vec![0; GENERATIONS]));
    let tasks: Vec<_> = (0..PARTIES)
        .map(|_| {
            let (barrier, leaders, phase) = (barrier.clone(), leaders.clone(), phase.clone());
            corio::spawn(async move {
                for g in 0..GENERATIONS {
                    phase.borrow_mut()[g] += 1;
                    let result = barrier.wait().await;
                    // Everyone of this generation arrived before anyone got through.
                    assert_eq!(phase.borrow()[g], PARTIES);
                    leaders.borrow_mut()[g] += result.is_leader() as usize;
                    yield_now().await;
                }
            })
        })
        .collect();
    for t in tasks {
        within(t).await.unwrap();
    }
    assert_eq!(*leaders.borrow(), vec![1; GENERATIONS]);
}

#[corio::test]
async fn a_wait_dropped_before_its_generation_fills_does_not_count() {
    let barrier = Barrier::new(2);
    let mut early = Box::pin(barrier.wait());
    assert!(poll_once(&mut early).await.is_pending());
    assert_eq!(barrier.n_waiting(), 1);
    drop(early);
    assert_eq!(barrier.n_waiting(), 0, "the dropped arrival left");
    let mut a = Box::pin(barrier.wait());
    assert!(
        poll_once(&mut a).await.is_pending(),
        "a stale arrival would have tripped the barrier"
    );
    let b = barrier.wait().await;
    assert!(b.is_leader());
    assert_eq!(
        poll_once(&mut a).await.map(|r| r.is_leader()),
        Poll::Ready(false)
    );
}

#[corio::test]
async fn a_barrier_of_zero_or_one_never_waits() {
    for n in [0, 1] {
        let barrier = Barrier::new(n);
        assert_eq!(barrier.parties(), 1);
        assert!(barrier.wait().await.is_leader());
        assert!(barrier.wait().await.is_leader());
    }
    assert!(format!("{:?}", Barrier::new(3)).contains("parties: 3"));
}
