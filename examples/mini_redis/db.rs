//! The key space: byte-string keys to byte-string values, with expiry on corio timers.
//!
//! Expiry works twice over, like Redis's own:
//! * **Lazily**: every access first checks the key's deadline and deletes it if passed, so a
//!   reader never sees an expired value, however late the timer runs.
//! * **Actively**: one purger task sleeps on a corio timer until the earliest deadline,
//!   deletes what has expired, and sleeps again, so keys nobody reads do not pile up. It is
//!   woken early (through an [`Event`]) only when a new deadline becomes the earliest. It
//!   deletes at most [`PURGE_BATCH`] keys before yielding, so a million keys expiring at
//!   once does not stall the loop.
//!
//! Deadlines live in an ordered index keyed `(deadline, sequence number)`; the number is
//! stored in the entry too, so moving or dropping a deadline touches the index without
//! copying the key. Overwriting an existing small value reuses its buffer: a `SET` or `INCR`
//! of a key that exists allocates nothing. Values of [`SHARE_MIN`] bytes or more are stored
//! behind an `Rc`, which a `GET` reply shares instead of copying (see `output.rs`); a `SET`
//! of such a key makes a new one, so a reply still being sent keeps the bytes it promised.
//!
//! Every method takes `now`: the caller reads the clock once per batch of commands.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use corio::sync::Event;

use super::resp::{parse_int, push_i64};

/// Most keys the purger deletes before letting other tasks run.
pub const PURGE_BATCH: usize = 1000;

/// Values at least this long are shared with the replies that send them, not copied.
pub const SHARE_MIN: usize = 16 * 1024;

/// A stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A small value, overwritten in place.
    Inline(Vec<u8>),
    /// A value of [`SHARE_MIN`] bytes or more, shared with replies being sent.
    Shared(Rc<[u8]>),
}

impl Value {
    fn new(bytes: &[u8]) -> Value {
        if bytes.len() >= SHARE_MIN {
            Value::Shared(Rc::from(bytes))
        } else {
            Value::Inline(bytes.to_vec())
        }
    }

    /// The value's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Value::Inline(v) => v,
            Value::Shared(v) => v,
        }
    }

    /// Become `bytes`, reusing an inline buffer when both are small.
    fn assign(&mut self, bytes: &[u8]) {
        match self {
            Value::Inline(v) if bytes.len() < SHARE_MIN => {
                v.clear();
                v.extend_from_slice(bytes);
            }
            _ => *self = Value::new(bytes),
        }
    }
}

/// The database of one server (one loop).
pub struct Db {
    state: RefCell<State>,
    /// Set when the earliest deadline moved earlier than the one the purger sleeps towards.
    wake_purger: Rc<Event>,
}

#[derive(Default)]
struct State {
    entries: HashMap<Vec<u8>, Entry>,
    /// Every deadline: `(when, seq) -> key`.
    expirations: BTreeMap<(Instant, u64), Vec<u8>>,
    next_seq: u64,
}

struct Entry {
    value: Value,
    /// The entry's key in `State::expirations`, if it has a deadline.
    expiry: Option<(Instant, u64)>,
}

/// What `SET` does about an existing key (`NX`, `XX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    /// Always set.
    Always,
    /// `NX`: only if the key does not exist.
    IfAbsent,
    /// `XX`: only if the key exists.
    IfPresent,
}

/// Why `INCR` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrError {
    /// The value is not a base-10 64-bit integer.
    NotAnInteger,
    /// The result would not fit in 64 bits.
    Overflow,
}

/// A key's remaining time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// No such key.
    Missing,
    /// The key never expires.
    Persistent,
    /// The key expires after this long.
    Remaining(Duration),
}

impl Db {
    /// An empty database and its purger task.
    ///
    /// # Panics
    /// Outside a corio runtime (the purger is spawned).
    pub fn new() -> Rc<Db> {
        let wake_purger = Rc::new(Event::new());
        let db = Rc::new(Db {
            state: RefCell::new(State::default()),
            wake_purger: wake_purger.clone(),
        });
        // The purger holds the database weakly: it is the server's helper, not an owner.
        // Once the database is gone it parks on the event until the runtime drops it.
        corio::spawn(purger(Rc::downgrade(&db), wake_purger));
        db
    }

    /// Call `f` with the value of `key` (`None` if missing or expired).
    pub fn get<R>(&self, key: &[u8], now: Instant, f: impl FnOnce(Option<&Value>) -> R) -> R {
        let mut state = self.state.borrow_mut();
        state.expire_if_due(key, now);
        f(state.entries.get(key).map(|e| &e.value))
    }

    /// Set `key` to `value` with an optional deadline (none clears an old one, as in
    /// Redis); returns whether it was set (`NX`/`XX` may refuse).
    pub fn set(
        &self,
        key: &[u8],
        value: &[u8],
        deadline: Option<Instant>,
        condition: SetCondition,
        now: Instant,
    ) -> bool {
        let state = &mut *self.state.borrow_mut();
        state.expire_if_due(key, now);
        let exists = state.entries.contains_key(key);
        match condition {
            SetCondition::IfAbsent if exists => return false,
            SetCondition::IfPresent if !exists => return false,
            _ => {}
        }
        match state.entries.get_mut(key) {
            Some(entry) => entry.value.assign(value),
            None => {
                let entry = Entry {
                    value: Value::new(value),
                    expiry: None,
                };
                state.entries.insert(key.to_vec(), entry);
            }
        }
        self.set_deadline(state, key, deadline);
        true
    }

    /// Delete `key`; returns whether it existed.
    pub fn del(&self, key: &[u8], now: Instant) -> bool {
        let mut state = self.state.borrow_mut();
        state.expire_if_due(key, now);
        state.remove(key)
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &[u8], now: Instant) -> bool {
        let mut state = self.state.borrow_mut();
        state.expire_if_due(key, now);
        state.entries.contains_key(key)
    }

    /// Add one to the integer in `key` (a missing key counts as 0); the deadline stays.
    pub fn incr(&self, key: &[u8], now: Instant) -> Result<i64, IncrError> {
        let mut state = self.state.borrow_mut();
        state.expire_if_due(key, now);
        match state.entries.get_mut(key) {
            Some(entry) => {
                let n = parse_int(entry.value.as_bytes()).ok_or(IncrError::NotAnInteger)?;
                let n = n.checked_add(1).ok_or(IncrError::Overflow)?;
                // Reuse the inline buffer (a shared value is too long to be a number).
                let mut buf = match std::mem::replace(&mut entry.value, Value::Inline(Vec::new())) {
                    Value::Inline(v) => v,
                    Value::Shared(_) => Vec::new(),
                };
                buf.clear();
                push_i64(&mut buf, n);
                entry.value = Value::Inline(buf);
                Ok(n)
            }
            None => {
                let entry = Entry {
                    value: Value::Inline(b"1".to_vec()),
                    expiry: None,
                };
                state.entries.insert(key.to_vec(), entry);
                Ok(1)
            }
        }
    }

    /// Give `key` a deadline; one not after `now` deletes it at once. Returns whether the
    /// key existed.
    pub fn expire(&self, key: &[u8], deadline: Instant, now: Instant) -> bool {
        let state = &mut *self.state.borrow_mut();
        state.expire_if_due(key, now);
        if !state.entries.contains_key(key) {
            return false;
        }
        if deadline <= now {
            state.remove(key);
        } else {
            self.set_deadline(state, key, Some(deadline));
        }
        true
    }

    /// The remaining time to live of `key`.
    pub fn ttl(&self, key: &[u8], now: Instant) -> Ttl {
        let mut state = self.state.borrow_mut();
        state.expire_if_due(key, now);
        match state.entries.get(key) {
            None => Ttl::Missing,
            Some(Entry { expiry: None, .. }) => Ttl::Persistent,
            Some(Entry {
                expiry: Some((at, _)),
                ..
            }) => Ttl::Remaining(at.saturating_duration_since(now)),
        }
    }

    /// Keys stored, counting expired ones the purger has not reached yet (`DBSIZE`; Redis
    /// counts them too).
    pub fn len(&self) -> usize {
        self.state.borrow().entries.len()
    }

    /// Delete every key (`FLUSHDB`). The purger finds no deadline and parks.
    pub fn flush(&self) {
        let mut state = self.state.borrow_mut();
        // Replace rather than clear, so the tables' memory is given back too.
        state.entries = HashMap::new();
        state.expirations = BTreeMap::new();
    }

    /// Delete up to [`PURGE_BATCH`] expired keys; returns the next deadline, if any (one
    /// already passed means "more to do").
    pub fn purge_expired(&self, now: Instant) -> Option<Instant> {
        let mut state = self.state.borrow_mut();
        for _ in 0..PURGE_BATCH {
            let entry = state.expirations.first_entry()?;
            if entry.key().0 > now {
                return Some(entry.key().0);
            }
            let key = entry.remove();
            state.entries.remove(&key);
        }
        state.expirations.first_key_value().map(|(k, _)| k.0)
    }

    /// Move the deadline of the existing `key`, keeping the index in step.
    fn set_deadline(&self, state: &mut State, key: &[u8], deadline: Option<Instant>) {
        let seq = state.next_seq;
        let Some(entry) = state.entries.get_mut(key) else {
            return;
        };
        if entry.expiry.map(|(at, _)| at) == deadline {
            return;
        }
        if let Some(old) = entry.expiry.take() {
            state.expirations.remove(&old);
        }
        if let Some(at) = deadline {
            entry.expiry = Some((at, seq));
            state.next_seq += 1;
            state.expirations.insert((at, seq), key.to_vec());
            let earliest = state.expirations.first_key_value().map(|(k, _)| k.1);
            if earliest == Some(seq) {
                self.wake_purger.set();
            }
        }
    }
}

impl State {
    /// Lazy expiry: delete `key` if its deadline has passed.
    fn expire_if_due(&mut self, key: &[u8], now: Instant) {
        let due = self
            .entries
            .get(key)
            .and_then(|e| e.expiry)
            .is_some_and(|(at, _)| at <= now);
        if due {
            self.remove(key);
        }
    }

    fn remove(&mut self, key: &[u8]) -> bool {
        match self.entries.remove(key) {
            Some(entry) => {
                if let Some(index) = entry.expiry {
                    self.expirations.remove(&index);
                }
                true
            }
            None => false,
        }
    }
}

/// The active half of expiry (see the module docs).
async fn purger(db: Weak<Db>, wake: Rc<Event>) {
    loop {
        wake.clear();
        // Hold the database only while purging, never across an await.
        let next = match db.upgrade() {
            Some(db) => db.purge_expired(corio::time::now()),
            None => None,
        };
        match next {
            Some(at) if at <= corio::time::now() => corio::task::yield_now().await,
            Some(at) => {
                // Either the deadline comes or an earlier one was added: purge again.
                let _ = corio::time::timeout_at(at, wake.wait()).await;
            }
            None => wake.wait().await,
        }
    }
}
