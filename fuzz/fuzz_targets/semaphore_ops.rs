//! Fuzz target `semaphore_ops`: arbitrary sequences of `acquire_many` (pending futures kept,
//! polled and dropped by the input), `try_acquire_many`, `add_permits`, `close`, dropping and
//! forgetting permits, on a `Semaphore`, checked step by step against a model.
//!
//! The model is the contract in `runtime/src/sync/semaphore.rs`: requests are served strictly
//! in arrival order (a large request at the head is not overtaken by later small ones, and
//! `try_acquire` does not overtake waiters); `acquire_many(0)` succeeds at once unless
//! closed; `close` fails every waiter, now and later, and a request granted but not yet polled
//! when the semaphore closes also fails and gives its permits back; a dropped request that was
//! granted passes its permits on; dropping a `Permit` returns its permits, `forget` keeps them.
//!
//! Asserted after every step: every poll result and `try_` result agrees with the model (so
//! grants happen in FIFO order, to the right requests), `available_permits`, `is_closed` and
//! `num_permits` agree, permits are conserved (free + held + granted-not-yet-taken ==
//! initial + added - forgotten), and no lost wake-up (a re-polled request that is ready had
//! its latest waker woken). No runtime: futures are polled by hand.

#![no_main]

mod common;

use std::task::Poll;

use arbitrary::Arbitrary;
use common::Pending;
use corio_runtime::sync::{AcquireError, Permit, Semaphore, TryAcquireError};
use libfuzzer_sys::fuzz_target;

/// One step of a fuzz input. Counts are taken modulo 6 (0..=5); a count of 1 from a byte of
/// 128 or more calls the one-permit form (`acquire`, `try_acquire`) instead.
#[derive(Arbitrary, Debug)]
enum Op {
    /// Start `acquire_many(n)` and poll it once.
    Acquire(u8),
    /// `try_acquire_many(n)`.
    TryAcquire(u8),
    /// `add_permits(n)`.
    AddPermits(u8),
    /// `close()`.
    Close,
    /// Re-poll a pending request (index modulo the count), optionally with a new waker.
    Poll {
        /// Which request.
        index: u8,
        /// Poll with a fresh waker.
        fresh_waker: bool,
    },
    /// Drop a pending request (cancel it).
    DropPending(u8),
    /// Re-poll every pending request whose waker was woken, oldest first.
    RunWoken,
    /// Drop a held permit.
    DropPermit(u8),
    /// `forget` a held permit.
    ForgetPermit(u8),
}

/// A fuzz input: the initial permits (modulo 8), then the operations.
#[derive(Arbitrary, Debug)]
struct Input {
    permits: u8,
    ops: Vec<Op>,
}

/// A queued request in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting, in arrival order.
    Waiting,
    /// Handed its permits; takes them when polled.
    Granted,
    /// Failed by `close`.
    Refused,
}

/// The semaphore as its contract describes it.
#[derive(Debug)]
struct Model {
    permits: usize,
    closed: bool,
    /// Requests that went pending: (id, needed, state), in arrival order.
    requests: Vec<(usize, usize, State)>,
    /// Permits ever created: initial + added - forgotten.
    total: usize,
}

impl Model {
    fn anyone_waiting(&self) -> bool {
        self.requests.iter().any(|r| r.2 == State::Waiting)
    }

    /// Hand free permits to the oldest waiting requests while the head's whole request fits.
    fn grant(&mut self) {
        while let Some(r) = self.requests.iter_mut().find(|r| r.2 == State::Waiting) {
            if r.1 > self.permits {
                return;
            }
            self.permits -= r.1;
            r.2 = State::Granted;
        }
    }

    fn add(&mut self, n: usize) {
        self.permits += n;
        self.grant();
    }

    fn try_take(&mut self, n: usize) -> Result<(), TryAcquireError> {
        if self.closed {
            Err(TryAcquireError::Closed)
        } else if self.permits >= n && !self.anyone_waiting() {
            self.permits -= n;
            Ok(())
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// `Some(granted?)` when ready at the first poll, `None` when it waits as `id`.
    fn acquire_first(&mut self, id: usize, n: usize) -> Option<bool> {
        if self.closed {
            return Some(false);
        }
        if n == 0 || (self.permits >= n && !self.anyone_waiting()) {
            self.permits -= n;
            return Some(true);
        }
        self.requests.push((id, n, State::Waiting));
        None
    }

    fn acquire_again(&mut self, id: usize) -> Option<bool> {
        let i = self.requests.iter().position(|r| r.0 == id).unwrap();
        let (_, needed, state) = self.requests[i];
        match state {
            State::Waiting => None,
            State::Refused => {
                self.requests.remove(i);
                Some(false)
            }
            State::Granted => {
                self.requests.remove(i);
                if self.closed {
                    // Every waiter gets AcquireError; the permits go back.
                    self.permits += needed;
                    Some(false)
                } else {
                    Some(true)
                }
            }
        }
    }

    fn acquire_dropped(&mut self, id: usize) {
        let i = self.requests.iter().position(|r| r.0 == id).unwrap();
        let (_, needed, state) = self.requests.remove(i);
        if state == State::Granted {
            self.add(needed);
        } else {
            self.grant();
        }
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        for r in &mut self.requests {
            if r.2 == State::Waiting {
                r.2 = State::Refused;
            }
        }
    }
}

/// The semaphore, its model, the pending requests and the permits held.
struct Harness<'s> {
    sem: &'s Semaphore,
    model: Model,
    /// Pending `acquire_many` futures; `data` is the count asked for.
    pending: Vec<Pending<'s, Result<Permit<'s>, AcquireError>, usize>>,
    permits: Vec<Permit<'s>>,
    next_id: usize,
}

impl<'s> Harness<'s> {
    fn acquire(&mut self, byte: u8) {
        let n = usize::from(byte % 6);
        self.next_id += 1;
        let id = self.next_id;
        let mut p = if n == 1 && byte >= 128 {
            Pending::new(self.sem.acquire(), id, n)
        } else {
            Pending::new(self.sem.acquire_many(n), id, n)
        };
        let got = p.poll(false, true);
        let want = self.model.acquire_first(id, n);
        if !self.settle(got, want, n) {
            self.pending.push(p);
        }
    }

    fn repoll(&mut self, index: usize, fresh_waker: bool) {
        if self.pending.is_empty() {
            return;
        }
        let i = index % self.pending.len();
        let p = &mut self.pending[i];
        let (id, n) = (p.id, p.data);
        let got = p.poll(fresh_waker, false);
        let want = self.model.acquire_again(id);
        if self.settle(got, want, n) {
            self.pending.remove(i);
        }
    }

    /// Compare a poll with the model and keep a granted permit; true when it completed.
    fn settle(
        &mut self,
        got: Poll<Result<Permit<'s>, AcquireError>>,
        want: Option<bool>,
        n: usize,
    ) -> bool {
        match (got, want) {
            (Poll::Pending, None) => false,
            (Poll::Ready(Ok(permit)), Some(true)) => {
                assert_eq!(permit.num_permits(), n, "num_permits");
                self.permits.push(permit);
                true
            }
            (Poll::Ready(Err(AcquireError { .. })), Some(false)) => true,
            (got, want) => panic!(
                "acquire_many({n}) gave {got:?}, model {want:?}; model: {:?}",
                self.model
            ),
        }
    }

    fn run_woken(&mut self) {
        let mut i = 0;
        while i < self.pending.len() {
            let before = self.pending.len();
            if self.pending[i].woken() {
                self.repoll(i, false);
            }
            if self.pending.len() == before {
                i += 1;
            }
        }
    }

    fn drop_pending(&mut self, index: usize) {
        if self.pending.is_empty() {
            return;
        }
        let p = self.pending.remove(index % self.pending.len());
        let id = p.id;
        drop(p);
        self.model.acquire_dropped(id);
    }

    fn try_acquire(&mut self, byte: u8) {
        let n = usize::from(byte % 6);
        let got = if n == 1 && byte >= 128 {
            self.sem.try_acquire()
        } else {
            self.sem.try_acquire_many(n)
        };
        let want = self.model.try_take(n);
        match (got, want) {
            (Ok(permit), Ok(())) => {
                assert_eq!(permit.num_permits(), n);
                self.permits.push(permit);
            }
            (Err(e), Err(w)) => assert_eq!(e, w, "try_acquire_many({n})"),
            (got, want) => panic!(
                "try_acquire_many({n}) gave {got:?}, model {want:?}; model: {:?}",
                self.model
            ),
        }
    }

    fn drop_permit(&mut self, index: usize, forget: bool) {
        if self.permits.is_empty() {
            return;
        }
        let permit = self.permits.remove(index % self.permits.len());
        let n = permit.num_permits();
        if forget {
            permit.forget();
            self.model.total -= n;
        } else {
            drop(permit);
            self.model.add(n);
        }
    }

    fn check(&self) {
        let m = &self.model;
        assert_eq!(
            self.sem.available_permits(),
            m.permits,
            "available_permits; model: {m:?}"
        );
        assert_eq!(self.sem.is_closed(), m.closed, "is_closed");
        let held: usize = self.permits.iter().map(Permit::num_permits).sum();
        let granted: usize = m
            .requests
            .iter()
            .filter(|r| r.2 == State::Granted)
            .map(|r| r.1)
            .sum();
        assert_eq!(
            m.permits + held + granted,
            m.total,
            "permits not conserved: free {} + held {held} + granted {granted}; model: {m:?}",
            m.permits
        );
        // Strict FIFO: while someone waits, the head's request does not fit.
        if let Some(head) = m.requests.iter().find(|r| r.2 == State::Waiting) {
            assert!(
                head.1 > m.permits,
                "model left a fitting head waiting: {m:?}"
            );
        }
    }
}

fuzz_target!(|input: Input| {
    let initial = usize::from(input.permits % 8);
    let sem = Semaphore::new(initial);
    {
        let mut h = Harness {
            sem: &sem,
            model: Model {
                permits: initial,
                closed: false,
                requests: Vec::new(),
                total: initial,
            },
            pending: Vec::new(),
            permits: Vec::new(),
            next_id: 0,
        };
        for op in input.ops.iter().take(1024) {
            match *op {
                Op::Acquire(n) => h.acquire(n),
                Op::TryAcquire(n) => h.try_acquire(n),
                Op::AddPermits(n) => {
                    let n = usize::from(n % 6);
                    h.sem.add_permits(n);
                    h.model.total += n;
                    h.model.add(n);
                }
                Op::Close => {
                    h.sem.close();
                    h.model.close();
                }
                Op::Poll { index, fresh_waker } => h.repoll(usize::from(index), fresh_waker),
                Op::DropPending(i) => h.drop_pending(usize::from(i)),
                Op::RunWoken => h.run_woken(),
                Op::DropPermit(i) => h.drop_permit(usize::from(i), false),
                Op::ForgetPermit(i) => h.drop_permit(usize::from(i), true),
            }
            h.check();
        }
        let _ = format!("{:?}", h.sem);
        // Cancel every pending request and return every permit: all permits come home.
        while !h.pending.is_empty() {
            h.drop_pending(0);
            h.check();
        }
        while !h.permits.is_empty() {
            h.drop_permit(0, false);
            h.check();
        }
        assert_eq!(sem.available_permits(), h.model.total, "permits lost");
    }
});
