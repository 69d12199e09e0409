//! Bugs the fuzz targets under `fuzz/` found, each pinned as a plain test. A test stays
//! `#[ignore = "bug: ..."]` until its bug is fixed; the fix removes the `ignore`. The fuzzer's
//! own reproducer is kept in `fuzz/regressions/<target>/` (replay it with
//! `cargo +nightly fuzz run <target> regressions/<target>/<file>` from `fuzz/`; see
//! `fuzz/README.md`).
//!
//! Run any still-pinned bugs with `cargo test --test fuzz_regressions -- --ignored`.

use std::task::Waker;

use corio_runtime::testing::TimerWheel;

/// The `mini_redis` example's RESP codec, on its own (it needs nothing from its siblings).
#[allow(dead_code)]
#[path = "../examples/mini_redis/resp.rs"]
mod resp;

use resp::{parse_frame, Frame, Limits};

/// 2^36 ticks (ms, about 795 days): the span of the wheel's six levels.
const EPOCH: u64 = 1 << 36;

/// Found by `timer_wheel` (fuzz/regressions/timer_wheel/timer-across-2pow36-fires-late).
/// `Wheel::slot_for` treated any deadline whose bits above 36 differ from `elapsed`'s as
/// "beyond the wheel's span" and parked it in the top level's slot just behind the current
/// one, even when it was only a tick away: a timer due at 2^36 fired at 2^36 + 62 * 2^30.
#[test]
fn a_timer_one_tick_past_a_2pow36_boundary_fires_on_time() {
    let mut wheel = TimerWheel::new();
    let mut fired = Vec::new();
    wheel.advance(EPOCH - 1, &mut fired);
    let key = wheel.insert(EPOCH, Waker::noop().clone());
    assert_eq!(
        wheel.next_deadline(),
        Some(EPOCH),
        "the loop must wake up at the deadline, a tick away"
    );
    wheel.advance(EPOCH, &mut fired);
    assert!(wheel.is_fired(key), "not fired at its deadline");
    assert_eq!(fired.len(), 1);
}

/// The same bug seen from a fresh runtime: `sleep(2^36 ms)` driven by `next_deadline`, as the
/// event loop does, must never be told to sleep past its deadline.
#[test]
fn next_deadline_never_passes_a_timer_in_the_next_epoch() {
    let mut wheel = TimerWheel::new();
    let key = wheel.insert(EPOCH, Waker::noop().clone());
    let mut fired = Vec::new();
    while !wheel.is_fired(key) {
        let next = wheel
            .next_deadline()
            .expect("an armed timer has a deadline");
        assert!(
            next <= EPOCH,
            "next_deadline {next} is past the timer's deadline {EPOCH}"
        );
        wheel.advance(next, &mut fired);
    }
    assert_eq!(wheel.elapsed(), EPOCH, "fired late");
}

/// Found by `resp_parse` (fuzz/regressions/resp_parse/complete-line-over-max-inline-prefix-refused).
/// `header_line` enforced `max_inline` only on a line still missing its CRLF: a complete line
/// longer than that parsed, but the same bytes arriving in two reads were refused. Now a line
/// over the limit is refused either way, and one at the limit parses either way.
fn assert_split_agrees(reply: &[u8], limits: &Limits) {
    let whole = parse_frame(reply, limits);
    for k in 0..reply.len() {
        let part = parse_frame(&reply[..k], limits);
        match &whole {
            Ok(_) => assert_eq!(part, Ok(None), "prefix of {k} bytes of a valid reply"),
            Err(e) => assert!(
                part == Ok(None) || part.as_ref() == Err(e),
                "prefix of {k} bytes: {part:?}, whole: {whole:?}"
            ),
        }
    }
}

#[test]
fn a_simple_string_over_or_at_max_inline_gets_the_same_answer_whole_or_split() {
    let limits = Limits {
        max_bulk: 64,
        max_array: 4,
        max_inline: 32,
        max_depth: 3,
    };
    let at_limit = format!("+{}\r\n", "a".repeat(32));
    let over = format!("+{}\r\n", "a".repeat(33));
    assert!(matches!(
        parse_frame(at_limit.as_bytes(), &limits),
        Ok(Some((Frame::Simple(_), _)))
    ));
    assert_eq!(
        parse_frame(over.as_bytes(), &limits),
        Err(resp::RespError::TooBigInline)
    );
    assert_split_agrees(at_limit.as_bytes(), &limits);
    assert_split_agrees(over.as_bytes(), &limits);
}

/// The fuzzer's minimized input: an integer reply whose line is over a (small) `max_inline`.
#[test]
fn an_integer_line_over_max_inline_gets_the_same_answer_whole_or_split() {
    let limits = Limits {
        max_bulk: 16,
        max_array: 4,
        max_inline: 16,
        max_depth: 3,
    };
    let reply = b":-9220368547758080\r\n";
    assert_eq!(
        parse_frame(reply, &limits),
        Err(resp::RespError::TooBigInline)
    );
    assert_split_agrees(reply, &limits);
}

/// Found by `timer_wheel` (fuzz/regressions/timer_wheel/far-timers-same-deadline-fire-out-of-insertion-order).
/// The wheel documents "within one tick, timers fire in the order they were inserted", but a
/// timer inserted at least 63 top slots (63 * 2^30 ticks) ahead was parked in the top-level
/// slot just behind the current one, which depended on when it was inserted
/// (`Wheel::slot_for`). Timer A, due at 2^42, inserted at tick 0 was parked in slot 63 (due
/// 63 * 2^30); timer B, due at the same tick, inserted at 63 * 2^30 - 1 was parked in slot 61
/// (due 2^36 + 61 * 2^30), so A was re-filed behind B and B fired first. Now such timers wait
/// in an overflow map ordered by (deadline, insertion) and enter the slots at a tick that
/// depends on the deadline alone.
#[test]
fn far_timers_due_at_the_same_tick_fire_in_insertion_order() {
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    struct Tag(u32, Arc<Mutex<Vec<u32>>>);
    impl Wake for Tag {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }
    let order = Arc::new(Mutex::new(Vec::new()));
    let waker = |id| Waker::from(Arc::new(Tag(id, order.clone())));

    let deadline = 1u64 << 42;
    let mut wheel = TimerWheel::new();
    let mut fired = Vec::new();
    wheel.insert(deadline, waker(0));
    wheel.advance((63 << 30) - 1, &mut fired);
    wheel.insert(deadline, waker(1));
    while let Some(next) = wheel.next_deadline() {
        assert!(next <= deadline, "would sleep past the deadline: {next}");
        wheel.advance(next, &mut fired);
    }
    assert_eq!(wheel.elapsed(), deadline);
    fired.into_iter().for_each(Waker::wake);
    assert_eq!(
        *order.lock().unwrap(),
        [0, 1],
        "fired out of insertion order"
    );
}
