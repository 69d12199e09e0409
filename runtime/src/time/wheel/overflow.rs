//! Timers too far ahead for the wheel's slots (at least `SPAN` ticks, about 2.1 years), kept in
//! (deadline, insertion) order until they come within span.
//!
//! Why not park them in a slot, as the wheel once did: the only slot free for a deadline the
//! top level cannot tell apart from its current slot is one chosen relative to the time of
//! insertion, so two timers due at the same tick took different cascade paths and could fire
//! in the reverse of their insertion order. Here a timer leaves for the slots at the tick its
//! deadline comes within span, which depends on the deadline alone, behind every earlier-
//! inserted timer with that deadline and before any later one can be filed directly.
//! A `BTreeMap` allocates, but only for these timers: the slots stay allocation-free.

use std::collections::BTreeMap;

use super::SPAN;

#[derive(Debug)]
pub(super) struct Overflow {
    /// Wheel entry keys by `(deadline, insertion sequence)`.
    timers: BTreeMap<(u64, u64), usize>,
    next_seq: u64,
    /// The wheel time at which the earliest timer comes within span, or `u64::MAX` when there
    /// is none (never a real one: deadlines are at most `u64::MAX`, so every such tick is at
    /// most `u64::MAX - SPAN + 1`). Cached so the wheel's `advance` tests one `u64`.
    due: u64,
}

impl Overflow {
    pub(super) fn new() -> Overflow {
        Overflow {
            timers: BTreeMap::new(),
            next_seq: 0,
            due: u64::MAX,
        }
    }

    /// Keeps the entry `key` due at `deadline` (at least `SPAN` ahead of the wheel's time);
    /// returns its sequence number, which `remove` needs.
    pub(super) fn push(&mut self, deadline: u64, key: usize) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.timers.insert((deadline, seq), key);
        self.due = self.due.min(within_span_at(deadline));
        seq
    }

    /// Forgets a timer (cancelled).
    pub(super) fn remove(&mut self, deadline: u64, seq: u64) {
        self.timers.remove(&(deadline, seq));
        self.refresh_due();
    }

    /// The wheel time at which the earliest timer must be moved into the slots, if any.
    pub(super) fn due(&self) -> Option<u64> {
        (self.due != u64::MAX).then_some(self.due)
    }

    /// The first timer, by `(deadline, insertion)`, if it is within span at wheel time
    /// `elapsed`: taken out, to be filed in the slots now.
    pub(super) fn pop_within_span(&mut self, elapsed: u64) -> Option<usize> {
        if self.due > elapsed {
            return None;
        }
        let (_, key) = self.timers.pop_first()?;
        self.refresh_due();
        Some(key)
    }

    fn refresh_due(&mut self) {
        self.due = self
            .timers
            .first_key_value()
            .map_or(u64::MAX, |(&(deadline, _), _)| within_span_at(deadline));
    }
}

/// The first wheel time at which `deadline` is less than `SPAN` ticks ahead.
fn within_span_at(deadline: u64) -> u64 {
    deadline - (SPAN - 1)
}
