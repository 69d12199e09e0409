//! A hierarchical timing wheel: 6 levels of 64 slots, 1 ms ticks. Deadlines less than
//! 63 * 2^30 ticks (`SPAN`, about 2.1 years) ahead go into the slots; later ones wait in an
//! ordered overflow map (`overflow.rs`) and move into the slots when they come within span.
//!
//! Level `l` slot `s` holds timers whose deadline differs from the wheel's current time
//! (`elapsed`) first in bits `6l..6l+6`, so lower levels always expire first. Each slot is a
//! doubly linked list threaded through a slab of entries: insert and cancel are O(1) and
//! need no allocation once the slab has grown. Expiring a higher-level slot re-files its
//! entries one level down (cascading), at most 5 times per timer.
//!
//! Within one tick, timers fire in the order they were inserted, however far ahead: an
//! overflow timer moves into the slots at the tick its deadline comes within span (a tick set
//! by the deadline alone), in (deadline, insertion) order, before any slot due after that
//! tick is processed and before a timer with the same deadline can be filed directly.
//! No timer fires early or late.

mod overflow;

use overflow::Overflow;
use slab::Slab;
use std::task::Waker;

const LEVELS: usize = 6;
const SLOTS: usize = 64;
const SLOT_BITS: u32 = 6;
const NIL: usize = usize::MAX;
/// Deadlines fewer ticks ahead of `elapsed` than this go into the slots: the top level can
/// tell each of them apart from its current slot. Later ones wait in the overflow.
const SPAN: u64 = (SLOTS as u64 - 1) << ((LEVELS as u32 - 1) * SLOT_BITS);

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Place {
    /// Linked into `slots[level * SLOTS + slot]`.
    Slot(usize),
    /// Waiting in `overflow` with this insertion sequence number.
    Overflow(u64),
    /// Expired; the waker was taken and woken.
    Fired,
}

#[derive(Debug)]
struct Entry {
    deadline: u64,
    place: Place,
    prev: usize,
    next: usize,
    waker: Option<Waker>,
}

#[derive(Debug, Clone, Copy)]
struct List {
    head: usize,
    tail: usize,
}

/// The wheel proper; time is in ticks (ms) since the owner's start instant.
#[derive(Debug)]
pub struct Wheel {
    entries: Slab<Entry>,
    slots: Vec<List>,
    occupied: [u64; LEVELS],
    overflow: Overflow,
    elapsed: u64,
    armed: usize,
}

impl Default for Wheel {
    fn default() -> Self {
        Wheel::new()
    }
}

impl Wheel {
    /// An empty wheel at tick 0.
    pub fn new() -> Wheel {
        Wheel {
            entries: Slab::new(),
            slots: vec![
                List {
                    head: NIL,
                    tail: NIL
                };
                LEVELS * SLOTS
            ],
            occupied: [0; LEVELS],
            overflow: Overflow::new(),
            elapsed: 0,
            armed: 0,
        }
    }

    /// Current wheel time (the last tick processed).
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Timers not yet fired or cancelled.
    pub fn armed(&self) -> usize {
        self.armed
    }

    /// Add a timer; returns its key. A deadline at or before `elapsed` fires at the next
    /// `advance`.
    pub fn insert(&mut self, deadline: u64, waker: Waker) -> usize {
        let key = self.entries.insert(Entry {
            deadline,
            place: Place::Fired,
            prev: NIL,
            next: NIL,
            waker: Some(waker),
        });
        if deadline.saturating_sub(self.elapsed) < SPAN {
            self.link(key);
        } else {
            let seq = self.overflow.push(deadline, key);
            self.entries[key].place = Place::Overflow(seq);
        }
        self.armed += 1;
        key
    }

    /// True once the timer fired.
    pub fn is_fired(&self, key: usize) -> bool {
        self.entries[key].place == Place::Fired
    }

    /// Replace the waker of an armed timer (a future moved to another task).
    pub fn update_waker(&mut self, key: usize, waker: &Waker) {
        let entry = &mut self.entries[key];
        match &entry.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => entry.waker = Some(waker.clone()),
        }
    }

    /// Cancel (if armed) and forget the timer.
    pub fn remove(&mut self, key: usize) {
        if self.entries[key].place != Place::Fired {
            self.unlink(key);
            self.armed -= 1;
        }
        self.entries.remove(key);
    }

    /// The next tick at which the wheel has work, if anything is armed: never after the
    /// earliest armed deadline (`elapsed` if one is already due), but possibly before it,
    /// when a timer cascades to a lower level or moves in from the overflow.
    pub fn next_deadline(&self) -> Option<u64> {
        let slots = self.next_expiration().map(|(_, due)| due);
        [slots, self.overflow.due()].into_iter().flatten().min()
    }

    /// Advance to `now`, pushing the wakers of expired timers onto `fired` in firing order.
    pub fn advance(&mut self, now: u64, fired: &mut Vec<Waker>) {
        loop {
            let slot = self.next_expiration().filter(|&(_, due)| due <= now);
            let migrate_at = self.overflow.due().filter(|&at| at <= now);
            // Slots and overflow moves in time order, a slot due at the same tick first: the
            // moved timers then meet the wheel as an `insert` after `advance(tick)` would, and
            // are in place before any slot after that tick (where they may belong) expires.
            match (slot, migrate_at) {
                (Some((_, due)), Some(at)) if at < due => self.move_in(at),
                (Some((index, due)), _) => self.expire(index, due, fired),
                (None, Some(at)) => self.move_in(at),
                (None, None) => break,
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Move the overflow timers within span at tick `at` into the slots, by (deadline,
    /// insertion).
    fn move_in(&mut self, at: u64) {
        self.elapsed = self.elapsed.max(at);
        while let Some(key) = self.overflow.pop_within_span(self.elapsed) {
            self.link(key);
        }
    }

    /// Fire or cascade the timers of slot `slot_index`, due at tick `due`.
    fn expire(&mut self, slot_index: usize, due: u64, fired: &mut Vec<Waker>) {
        self.elapsed = self.elapsed.max(due);
        let level = slot_index / SLOTS;
        self.occupied[level] &= !(1 << (slot_index % SLOTS));
        let mut list = std::mem::replace(
            &mut self.slots[slot_index],
            List {
                head: NIL,
                tail: NIL,
            },
        );
        while list.head != NIL {
            let key = list.head;
            list.head = self.entries[key].next;
            let entry = &mut self.entries[key];
            entry.prev = NIL;
            entry.next = NIL;
            if entry.deadline <= self.elapsed {
                entry.place = Place::Fired;
                self.armed -= 1;
                fired.extend(entry.waker.take());
            } else {
                // Cascade: re-file relative to the new `elapsed`, on a lower level.
                self.link(key);
            }
        }
    }

    fn slot_for(&self, deadline: u64) -> usize {
        // Deadlines in the past go to the current level-0 slot: due at once.
        let when = deadline.max(self.elapsed);
        // A deadline `SPAN` or more ahead could share a top-level slot with nearer ones (or
        // the current one): `insert` keeps those in the overflow, and time only shrinks the
        // distance of a timer already in the slots.
        debug_assert!(
            when - self.elapsed < SPAN,
            "{deadline} beyond the slots' span"
        );
        let masked = (self.elapsed ^ when) | (SLOTS as u64 - 1);
        let significant = 63 - masked.leading_zeros();
        // Crossing a 2^36 boundary sets bits above the top level, yet the deadline is less
        // than 63 top slots away: the top level files it exactly.
        let level = ((significant / SLOT_BITS) as usize).min(LEVELS - 1);
        let slot = ((when >> (level as u32 * SLOT_BITS)) as usize) % SLOTS;
        level * SLOTS + slot
    }

    fn link(&mut self, key: usize) {
        let index = self.slot_for(self.entries[key].deadline);
        let tail = self.slots[index].tail;
        {
            let entry = &mut self.entries[key];
            entry.place = Place::Slot(index);
            entry.prev = tail;
            entry.next = NIL;
        }
        if tail == NIL {
            self.slots[index].head = key;
        } else {
            self.entries[tail].next = key;
        }
        self.slots[index].tail = key;
        self.occupied[index / SLOTS] |= 1 << (index % SLOTS);
    }

    fn unlink(&mut self, key: usize) {
        let index = match self.entries[key].place {
            Place::Slot(index) => index,
            Place::Overflow(seq) => {
                self.overflow.remove(self.entries[key].deadline, seq);
                self.entries[key].place = Place::Fired;
                return;
            }
            Place::Fired => return,
        };
        let (prev, next) = (self.entries[key].prev, self.entries[key].next);
        if prev == NIL {
            self.slots[index].head = next;
        } else {
            self.entries[prev].next = next;
        }
        if next == NIL {
            self.slots[index].tail = prev;
        } else {
            self.entries[next].prev = prev;
        }
        if self.slots[index].head == NIL {
            self.occupied[index / SLOTS] &= !(1 << (index % SLOTS));
        }
        self.entries[key].place = Place::Fired;
    }

    /// The first non-empty slot and the tick at which it is due.
    fn next_expiration(&self) -> Option<(usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            let slot_range = 1u64 << shift;
            let level_range = slot_range << SLOT_BITS;
            let now_slot = (self.elapsed >> shift) % SLOTS as u64;
            let distance = occupied.rotate_right(now_slot as u32).trailing_zeros() as u64;
            let slot = (now_slot + distance) % SLOTS as u64;
            let level_start = self.elapsed & !(level_range - 1);
            let mut deadline = level_start + slot * slot_range;
            if deadline < level_start + now_slot * slot_range {
                deadline += level_range;
            }
            return Some((level * SLOTS + slot as usize, deadline));
        }
        None
    }

    /// Take every waker out (runtime shutdown); entries stay for their owners to remove.
    pub fn clear_wakers(&mut self) -> Vec<Waker> {
        self.entries
            .iter_mut()
            .filter_map(|(_, e)| e.waker.take())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// The wheel's span in ticks.
    const MAX_SPAN: u64 = (1 << (SLOT_BITS * LEVELS as u32)) - 1;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn fires_every_deadline_in_order_across_levels() {
        let mut wheel = Wheel::new();
        // Miri interprets every step: a smaller (still multi-level) set keeps it to seconds.
        let count = if cfg!(miri) { 150u64 } else { 2000 };
        let deadlines: Vec<u64> = (0..count).map(|i| (i * 7919) % 300_000).collect();
        let mut keys = Vec::new();
        for &d in &deadlines {
            keys.push((d, wheel.insert(d, waker().1)));
        }
        let mut last = 0;
        let mut fired_total = 0;
        let mut now = 0;
        while wheel.armed() > 0 {
            let next = wheel.next_deadline().unwrap();
            assert!(next >= last, "next deadline went back: {next} < {last}");
            now = now.max(next);
            let mut fired = Vec::new();
            wheel.advance(now, &mut fired);
            fired_total += fired.len();
            last = next;
            for &(d, k) in &keys {
                assert_eq!(wheel.is_fired(k), d <= now, "deadline {d} at now {now}");
            }
        }
        assert_eq!(fired_total, deadlines.len());
    }

    #[test]
    fn cancel_unlinks_and_far_future_is_kept() {
        let mut wheel = Wheel::new();
        let (count, w) = waker();
        let a = wheel.insert(10, w.clone());
        let far = wheel.insert(MAX_SPAN * 3, w.clone());
        wheel.remove(a);
        let mut fired = Vec::new();
        wheel.advance(1_000, &mut fired);
        assert!(fired.is_empty());
        assert!(!wheel.is_fired(far));
        wheel.advance(MAX_SPAN * 3, &mut fired);
        // The far timer waited in the overflow, then cascaded down the levels to its deadline.
        while let Some(next) = wheel.next_deadline() {
            wheel.advance(next, &mut fired);
        }
        fired.into_iter().for_each(Waker::wake);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(wheel.is_fired(far));
    }
    #[test]
    fn far_deadlines_from_any_position_fire_on_time_never_early() {
        let top = 1u64 << 30;
        for start in [0, 5 * top + 7, (1 << 36) - 1, (1 << 36) + 63 * top + 1] {
            for distance in [
                1,
                63,
                64 * 64,
                top - 1,
                62 * top,
                63 * top,
                64 * top + 5,
                3 * MAX_SPAN,
            ] {
                let mut wheel = Wheel::new();
                let mut fired = Vec::new();
                wheel.advance(start, &mut fired);
                let deadline = start + distance;
                let key = wheel.insert(deadline, Waker::noop().clone());
                let mut steps = 0;
                while !wheel.is_fired(key) {
                    let next = wheel.next_deadline().unwrap();
                    assert!(next <= deadline, "would sleep past {deadline}: {next}");
                    wheel.advance(next, &mut fired);
                    steps += 1;
                    assert!(steps < 100, "no progress from {start} to {deadline}");
                }
                assert_eq!(wheel.elapsed(), deadline, "fired early or late");
            }
        }
    }

    /// Pushes its timer's id onto a shared log when woken, so a test sees the firing order.
    struct Tag(usize, Arc<Mutex<Vec<usize>>>);
    impl Wake for Tag {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    /// The wheel beside a model of it: each `advance` must fire exactly the armed timers due by
    /// then (never early, never late), by deadline and, within a tick, by insertion.
    struct Checked {
        wheel: Wheel,
        log: Arc<Mutex<Vec<usize>>>,
        /// `(deadline, key, armed)`, indexed by id (the insertion order).
        timers: Vec<(u64, usize, bool)>,
    }

    impl Checked {
        fn new() -> Checked {
            Checked {
                wheel: Wheel::new(),
                log: Arc::default(),
                timers: Vec::new(),
            }
        }

        /// Arms a timer (strictly ahead, so it is due at its deadline); returns its id.
        fn insert(&mut self, deadline: u64) -> usize {
            assert!(deadline > self.wheel.elapsed());
            let id = self.timers.len();
            let waker = Waker::from(Arc::new(Tag(id, self.log.clone())));
            let key = self.wheel.insert(deadline, waker);
            self.timers.push((deadline, key, true));
            id
        }

        fn cancel(&mut self, id: usize) {
            self.wheel.remove(self.timers[id].1);
            self.timers[id].2 = false;
        }

        fn earliest_armed(&self) -> Option<u64> {
            self.timers.iter().filter(|t| t.2).map(|t| t.0).min()
        }

        fn advance(&mut self, now: u64) {
            let mut want: Vec<usize> = (0..self.timers.len())
                .filter(|&i| self.timers[i].2 && self.timers[i].0 <= now)
                .collect();
            want.sort_by_key(|&i| (self.timers[i].0, i));
            let mut fired = Vec::new();
            self.wheel.advance(now, &mut fired);
            fired.into_iter().for_each(Waker::wake);
            let got = std::mem::take(&mut *self.log.lock().unwrap());
            assert_eq!(got, want, "advance({now}): ids fired, by (deadline, id)");
            for i in want {
                self.timers[i].2 = false;
            }
            let armed = self.timers.iter().filter(|t| t.2).count();
            assert_eq!(self.wheel.armed(), armed, "armed() after advance({now})");
        }

        /// Moves to `to` as the event loop does, from one `next_deadline` to the next; none
        /// may be past an armed deadline (the loop would sleep through it).
        fn step_to(&mut self, to: u64) {
            let mut steps = 0;
            while let Some(next) = self.wheel.next_deadline() {
                let earliest = self.earliest_armed().unwrap();
                assert!(
                    next <= earliest,
                    "next_deadline {next} > deadline {earliest}"
                );
                assert!(next > self.wheel.elapsed(), "next_deadline {next} behind");
                if next > to {
                    break;
                }
                self.advance(next);
                steps += 1;
                assert!(steps < 1000, "no progress towards {to}");
            }
            self.advance(to);
        }
    }

    #[test]
    fn far_and_near_timers_fire_by_deadline_then_insertion_whenever_inserted() {
        let top = 1u64 << 30;
        let (a, b, c) = (1u64 << 42, (1u64 << 42) + 1, (3u64 << 36) + 12345);
        // (insert at, deadline): far ones (at least SPAN ahead) from several positions, the
        // last far and first near insertion of each deadline at its boundary, near ones later.
        let mut schedule = vec![
            (0, a),
            (0, b),
            (0, c),
            (0, a),
            (top + 3, b),
            (5 * top, a),
            (SPAN - 1, a),
            (SPAN - 1, c),
            (c - SPAN, c),
            (c - SPAN + 1, c),
            (c - 64, c),
            (a - SPAN, a),
            (a - SPAN, b),
            (a - SPAN + 1, a),
            (a - SPAN + 1, b),
            (b - SPAN + 1, b),
            (a - 1000, b),
            (a - 1000, a),
            (a - 1, b),
            (a - 1, a),
        ];
        schedule.sort_by_key(|&(at, _)| at);
        // As the event loop moves, and by jumps straight to each insertion.
        for go in [Checked::step_to, Checked::advance] {
            let mut w = Checked::new();
            for &(at, deadline) in &schedule {
                go(&mut w, at);
                w.insert(deadline);
            }
            go(&mut w, b);
            assert_eq!(w.wheel.armed(), 0);
            assert_eq!(w.wheel.next_deadline(), None);
        }
    }

    #[test]
    fn one_long_advance_files_far_timers_before_later_ones_with_their_deadline() {
        let a = 1u64 << 42;
        let mut w = Checked::new();
        w.insert(a);
        w.insert(a + 1);
        w.insert(a);
        w.advance(SPAN - 1); // parked by insertion time, this one once overtook the first two
        w.insert(a);
        // One call across the ticks where `a` and `a + 1` come within span; then timers with
        // the same deadlines, inserted directly, must fire after the far ones.
        w.advance(a - 5);
        w.insert(a + 1);
        w.insert(a);
        w.advance(a + 1);
        // The same from a single jump past everything.
        w.insert(a << 1);
        w.insert(a << 1);
        w.insert((a << 1) - 1);
        w.advance(a << 2);
        assert_eq!(w.wheel.armed(), 0);
    }

    #[test]
    fn cancelled_far_timers_neither_fire_nor_leave_a_wake_up_behind() {
        let a = 1u64 << 42;
        let mut w = Checked::new();
        let ids: Vec<usize> = (0..4).map(|_| w.insert(a)).collect();
        let lone = w.insert(a << 2);
        w.cancel(ids[1]);
        w.cancel(ids[3]);
        assert_eq!(w.wheel.armed(), 3);
        w.step_to(a); // fires ids[0] then ids[2]: the model checks
        w.cancel(lone);
        assert_eq!(w.wheel.armed(), 0);
        assert_eq!(w.wheel.next_deadline(), None, "wakes for a cancelled timer");
        // Cancelling the earliest far timer: the next wake-up is for the remaining one.
        let first = w.insert(a << 1);
        w.insert(a << 3);
        assert!(w.wheel.next_deadline().unwrap() <= a << 1);
        w.cancel(first);
        let next = w.wheel.next_deadline().unwrap();
        assert!(next > a << 1 && next <= a << 3, "next_deadline {next}");
        w.step_to(a << 3);
        assert_eq!(w.wheel.armed(), 0);
    }

    #[test]
    fn clear_wakers_takes_far_timers_wakers_too() {
        let mut wheel = Wheel::new();
        let keys = [
            wheel.insert(100, Waker::noop().clone()),
            wheel.insert(1 << 42, Waker::noop().clone()),
        ];
        assert_eq!(wheel.clear_wakers().len(), 2);
        keys.into_iter().for_each(|k| wheel.remove(k));
        assert_eq!(wheel.armed(), 0);
        assert_eq!(wheel.next_deadline(), None);
    }
}
