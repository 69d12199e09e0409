//! Fuzz target `timer_wheel`: arbitrary insert / remove / update-waker / advance sequences on
//! the runtime's hierarchical timing wheel (`corio_runtime::testing::TimerWheel`), checked
//! against a model that is just a list of armed timers and their deadlines.
//!
//! What the wheel promises (its docs in `runtime/src/time/wheel.rs`) and what is asserted:
//! * `insert` never fires at once; "a deadline at or before `elapsed` fires at the next
//!   `advance`".
//! * `advance(now)` fires exactly the armed timers whose deadline is `<= now`: never early,
//!   never late. Their wakers come out "in firing order": by the tick they fire at (a past
//!   deadline fires at the tick it was inserted at), and "within one tick, timers fire in the
//!   order they were inserted". The waker woken is the latest one given (`update_waker`).
//! * `elapsed()` is the last `now` (time is only ever moved forward here, as the runtime does).
//! * `armed()` counts timers neither fired nor removed; `is_fired` agrees with the model.
//! * `next_deadline()` is `None` exactly when nothing is armed. Otherwise it is "the next
//!   tick at which the wheel has work", "never after the earliest armed deadline" but possibly
//!   before it: for a timer on an upper level the start of its slot (a cascade point), for one
//!   in the overflow the tick it moves into the slots. That is what the runtime needs (it must
//!   not sleep past a deadline), so this asserts: `elapsed <= next_deadline <= the earliest
//!   armed deadline` (or `elapsed` when a past deadline is armed).
//! * At the end, advancing far enough fires every timer with a reachable deadline.
//!
//! Time moves by small steps, big jumps (up to 2^40 ticks), to the next deadline or just
//! before it (at most 2^40 ticks on), and to just before a multiple of 64^k (where the
//! wheel's levels roll over); deadlines are in the past, near, far, just past a multiple of
//! 64^k, or any `u64`.
//!
//! This target found the wheel parking a timer just past a 2^36-tick boundary a whole top
//! rotation away (fixed in 66f95a3), and timers inserted at least 63 * 2^30 ticks ahead
//! firing out of insertion order within their tick (fixed: such timers now wait in an overflow
//! map ordered by deadline and insertion). Both are pinned in `tests/fuzz_regressions.rs`,
//! reproducers in `fuzz/regressions/timer_wheel/`. Nothing is tolerated any more: insertion
//! order within a tick is asserted for every timer (the `CORIO_FUZZ_STRICT` switch is gone).

#![no_main]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use arbitrary::Arbitrary;
use corio_runtime::testing::TimerWheel;
use libfuzzer_sys::fuzz_target;

/// The furthest one `Advance` moves time. It keeps time below about 2^50 ticks (35,000 years
/// of ms), as in the runtime, even when `next_deadline` is the far tick at which a timer due
/// near `u64::MAX` moves into the slots (the harness's own arithmetic would overflow there).
const MAX_STEP: u64 = 1 << 40;
/// Deadlines further than this past the wheel's time are not driven to expiry at the end
/// (reaching `u64::MAX` would take 2^28 cascades).
const REACHABLE: u64 = 1 << 42;

/// One step of a fuzz input.
#[derive(Arbitrary, Debug)]
enum Op {
    /// Arm a timer.
    Insert(When),
    /// Remove (cancel if armed) the live timer at this index (modulo the count).
    Remove(u16),
    /// Give the live timer at this index a fresh waker; only that one may be woken.
    UpdateWaker(u16),
    /// Move time forward.
    Advance(Step),
}

/// A deadline, mostly relative to the wheel's current time.
#[derive(Arbitrary, Debug)]
enum When {
    /// `back` ticks before now (saturating at 0).
    Past(u16),
    /// Exactly now.
    Now,
    /// Up to 65535 ticks ahead.
    Near(u16),
    /// Up to 2^32 ticks ahead.
    Ahead(u32),
    /// Anything ahead (saturating at `u64::MAX`).
    Far(u64),
    /// An absolute tick, past or future.
    Abs(u64),
    /// `after` ticks past the next multiple of 64^level (level 1..=7) above now.
    PastBoundary { level: u8, after: u8 },
}

/// How far to move time.
#[derive(Arbitrary, Debug)]
enum Step {
    /// A few ticks.
    Ticks(u8),
    /// Up to 65535 ticks.
    Some(u16),
    /// Up to 2^40 ticks.
    Jump(u64),
    /// To `next_deadline()` (if any; at most `MAX_STEP` ahead).
    ToNext,
    /// To one tick before `next_deadline()` (if any, and ahead; at most `MAX_STEP` ahead).
    BeforeNext,
    /// To `before` ticks before the next multiple of 64^level (level 1..=7) above now.
    ToBoundary { level: u8, before: u8 },
}

/// A fuzz input: the operations, in order.
#[derive(Arbitrary, Debug)]
struct Input {
    ops: Vec<Op>,
}

/// Appends `(timer id, waker generation)` to a shared log when woken.
struct Tagged {
    id: u32,
    generation: u32,
    log: Arc<Mutex<Vec<(u32, u32)>>>,
    woken: AtomicBool,
}

impl Wake for Tagged {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        assert!(
            !self.woken.swap(true, Ordering::Relaxed),
            "timer {} woken twice",
            self.id
        );
        self.log.lock().unwrap().push((self.id, self.generation));
    }
}

/// A timer as the model sees it.
#[derive(Debug)]
struct Timer {
    key: usize,
    id: u32,
    deadline: u64,
    /// The tick it fires at: its deadline, or the wheel's time when inserted if that is later.
    due: u64,
    /// Insertion order, for ties within a tick.
    seq: u64,
    /// The generation of the waker it holds now.
    generation: u32,
    fired: bool,
}

/// The wheel and its model, side by side.
struct Harness {
    wheel: TimerWheel,
    log: Arc<Mutex<Vec<(u32, u32)>>>,
    /// Live timers (inserted, not removed), fired or not.
    timers: Vec<Timer>,
    now: u64,
    next_id: u32,
    next_seq: u64,
}

impl Harness {
    fn waker(&self, id: u32, generation: u32) -> Waker {
        Waker::from(Arc::new(Tagged {
            id,
            generation,
            log: self.log.clone(),
            woken: AtomicBool::new(false),
        }))
    }

    fn deadline(&self, when: &When) -> u64 {
        let now = self.now;
        match *when {
            When::Past(back) => now.saturating_sub(u64::from(back)),
            When::Now => now,
            When::Near(ahead) => now + u64::from(ahead),
            When::Ahead(ahead) => now + u64::from(ahead),
            When::Far(ahead) => now.saturating_add(ahead),
            When::Abs(at) => at,
            When::PastBoundary { level, after } => boundary_above(now, level) + u64::from(after),
        }
    }

    fn step_to(&self, step: &Step) -> u64 {
        let now = self.now;
        match *step {
            Step::Ticks(n) => now + u64::from(n),
            Step::Some(n) => now + u64::from(n),
            Step::Jump(n) => now + (n & (MAX_STEP - 1)),
            Step::ToNext => self
                .wheel
                .next_deadline()
                .unwrap_or(now)
                .clamp(now, now + MAX_STEP),
            Step::BeforeNext => self
                .wheel
                .next_deadline()
                .map_or(now, |d| d.saturating_sub(1))
                .clamp(now, now + MAX_STEP),
            Step::ToBoundary { level, before } => boundary_above(now, level)
                .saturating_sub(u64::from(before))
                .max(now),
        }
    }

    fn insert(&mut self, when: &When) {
        let deadline = self.deadline(when);
        let id = self.next_id;
        self.next_id += 1;
        let key = self.wheel.insert(deadline, self.waker(id, 0));
        assert!(
            !self.wheel.is_fired(key),
            "a timer fired on insert (deadline {deadline}, now {})",
            self.now
        );
        self.timers.push(Timer {
            key,
            id,
            deadline,
            due: deadline.max(self.now),
            seq: self.next_seq,
            generation: 0,
            fired: false,
        });
        self.next_seq += 1;
    }

    fn remove(&mut self, index: u16) {
        if self.timers.is_empty() {
            return;
        }
        let timer = self.timers.remove(usize::from(index) % self.timers.len());
        self.wheel.remove(timer.key);
    }

    fn update_waker(&mut self, index: u16) {
        if self.timers.is_empty() {
            return;
        }
        let i = usize::from(index) % self.timers.len();
        if self.timers[i].fired {
            return; // The runtime only updates armed timers (`Timers::poll`).
        }
        self.timers[i].generation += 1;
        let waker = self.waker(self.timers[i].id, self.timers[i].generation);
        self.wheel.update_waker(self.timers[i].key, &waker);
    }

    fn advance(&mut self, to: u64) {
        assert!(to >= self.now);
        let mut fired = Vec::new();
        self.wheel.advance(to, &mut fired);
        fired.into_iter().for_each(Waker::wake);
        let log: Vec<(u32, u32)> = std::mem::take(&mut *self.log.lock().unwrap());
        self.now = to;

        // Which timers fired, and in which order they should have.
        let mut expected: Vec<&Timer> = self
            .timers
            .iter()
            .filter(|t| !t.fired && t.deadline <= to)
            .collect();
        expected.sort_by_key(|t| (t.due, t.seq));
        let expected: Vec<(u32, u32)> = expected.iter().map(|t| (t.id, t.generation)).collect();
        assert_eq!(
            log, expected,
            "advance({to}): fired (id, waker generation) differ from the model's (all due \
             timers, by due tick then insertion)\ntimers: {:?}",
            self.timers
        );
        for &(id, generation) in &log {
            let timer = self
                .timers
                .iter_mut()
                .find(|t| t.id == id)
                .unwrap_or_else(|| panic!("a removed or unknown timer {id} fired"));
            assert!(!timer.fired, "timer {id} fired twice");
            assert!(
                timer.deadline <= to,
                "timer {id} fired early: deadline {} > now {to}",
                timer.deadline
            );
            assert_eq!(generation, timer.generation, "a stale waker was woken");
            timer.fired = true;
        }
        assert_eq!(self.wheel.elapsed(), to, "elapsed() is not the last now");
    }

    /// Invariants that hold between any two operations.
    fn check(&self) {
        for t in &self.timers {
            assert_eq!(
                self.wheel.is_fired(t.key),
                t.fired,
                "is_fired disagrees for {t:?} at now {}",
                self.now
            );
        }
        let armed = self.timers.iter().filter(|t| !t.fired).count();
        assert_eq!(self.wheel.armed(), armed, "armed()");
        let next = self.wheel.next_deadline();
        assert_eq!(
            next.is_some(),
            armed > 0,
            "next_deadline {next:?} with {armed} armed"
        );
        if let Some(next) = next {
            assert!(
                next >= self.now,
                "next_deadline {next} is before the wheel's time {}",
                self.now
            );
            let earliest = self
                .timers
                .iter()
                .filter(|t| !t.fired)
                .map(|t| t.deadline.max(self.now))
                .min();
            if let Some(earliest) = earliest {
                assert!(
                    next <= earliest,
                    "next_deadline {next} is after the earliest armed deadline {earliest} \
                     (now {})\ntimers: {:?}",
                    self.now,
                    self.timers
                );
            }
        }
    }

    /// Drive time far enough that every reachable deadline must have fired.
    fn finish(&mut self) {
        let reachable = |t: &Timer, now: u64| t.deadline <= now.saturating_add(REACHABLE);
        let now = self.now;
        let Some(last) = self
            .timers
            .iter()
            .filter(|t| !t.fired && reachable(t, now))
            .map(|t| t.deadline)
            .max()
        else {
            return;
        };
        let to = last.max(now);
        // Step by next_deadline, as the runtime's loop does, with a bound on the steps.
        let mut steps = 0u32;
        while let Some(next) = self.wheel.next_deadline() {
            if next > to {
                break;
            }
            self.advance(next.max(self.now));
            self.check();
            steps += 1;
            assert!(steps < 100_000, "next_deadline made no progress");
        }
        self.advance(to);
        self.check();
        for t in &self.timers {
            if t.deadline <= last {
                assert!(t.fired, "timer never fired by {to}: {t:?}");
            }
        }
    }
}

/// The first multiple of 64^level (level taken as 1..=7) strictly above `now`.
fn boundary_above(now: u64, level: u8) -> u64 {
    let span = 1u64 << (6 * (u32::from(level) % 7 + 1));
    (now / span + 1) * span
}

fuzz_target!(|input: Input| {
    let mut h = Harness {
        wheel: TimerWheel::new(),
        log: Arc::new(Mutex::new(Vec::new())),
        timers: Vec::new(),
        now: 0,
        next_id: 0,
        next_seq: 0,
    };
    for op in input.ops.iter().take(512) {
        match op {
            Op::Insert(when) => h.insert(when),
            Op::Remove(i) => h.remove(*i),
            Op::UpdateWaker(i) => h.update_waker(*i),
            Op::Advance(step) => {
                let to = h.step_to(step);
                h.advance(to);
            }
        }
        h.check();
    }
    h.finish();
    for t in std::mem::take(&mut h.timers) {
        h.wheel.remove(t.key);
    }
    assert_eq!(h.wheel.armed(), 0);
    assert_eq!(h.wheel.next_deadline(), None);
});
