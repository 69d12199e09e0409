//! Step 3 of a loop turn: I/O, timers and what other threads handed over.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::core::Core;
use crate::metrics::Counters;
use crate::remote::Injected;

/// How long an idle loop that expects a reply from another thread spins before it sleeps.
const REMOTE_SPIN: Duration = Duration::from_micros(50);

/// More than one CPU: a spinning loop does not hold the CPU its peer needs.
fn spinning_helps() -> bool {
    use std::sync::OnceLock;
    static HELPS: OnceLock<bool> = OnceLock::new();
    *HELPS.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

/// How long an auto-advancing paused clock waits for I/O already in flight before it jumps.
const IO_GRACE: Duration = Duration::from_millis(1);

impl Core {
    /// Step 3 of a loop turn: I/O, timers, foreign wakes. `idle`: nothing is ready, so the
    /// poll may block until the next timer (or a foreign wake / I/O event).
    pub(super) fn turn(&self, idle: bool) {
        // After this turn's I/O and timers, the tasks it wakes run "now".
        struct StampOnExit<'a>(&'a Cell<std::time::Instant>);
        impl Drop for StampOnExit<'_> {
            fn drop(&mut self) {
                self.0.set(std::time::Instant::now());
            }
        }
        let _stamp = StampOnExit(&self.loop_time);
        if self.remote.take_notified() {
            self.drain_remote();
        }
        let idle = idle && self.run_queue.borrow().is_empty();
        if idle && self.timers.clock.is_paused() {
            self.turn_paused();
            return;
        }
        let timeout = if idle {
            self.timers.next_timeout()
        } else {
            Some(Duration::ZERO)
        };
        // A foreign wake after the check above pokes the mio::Waker, so a blocking poll returns.
        if timeout == Some(Duration::ZERO) {
            self.reactor.poll(timeout);
        } else if self.spin_next_idle.replace(false) && self.spin_for_remote(timeout) {
            // The foreign wake came while spinning: no sleep, no wake-up of this thread; look
            // at the OS without blocking for what else is ready.
            self.reactor.poll(Some(Duration::ZERO));
        } else {
            self.counters.parked(|| self.reactor.poll(timeout));
        }
        self.timers.fire_due();
        if self.remote.take_notified() {
            self.drain_remote();
        }
    }

    /// Before sleeping, when a reply from another thread is expected soon — this loop awaits a
    /// `RemoteJoinHandle`, or it just ran a remote spawn (whose sender may send the next) —
    /// spin up to `REMOTE_SPIN` for the foreign wake. A request/response round trip between
    /// two loops then costs no thread wake-ups (each is several µs of the OS scheduler), at
    /// the price of up to `REMOTE_SPIN` of CPU per idle spell of such a loop. Channel traffic
    /// and I/O never spin: a receiver that sleeps drains a whole batch when it wakes, which
    /// spinning would cut into single items. Off on one-CPU machines, where the spinner would
    /// hold the CPU the other thread needs.
    fn spin_for_remote(&self, timeout: Option<Duration>) -> bool {
        if !spinning_helps() {
            return false;
        }
        let limit = timeout.map_or(REMOTE_SPIN, |t| t.min(REMOTE_SPIN));
        let start = std::time::Instant::now();
        loop {
            if self.remote.is_notified() {
                return true;
            }
            if start.elapsed() >= limit {
                return false;
            }
            for _ in 0..32 {
                std::hint::spin_loop();
            }
        }
    }

    /// An idle turn with the clock paused: nothing may sleep on virtual time, so look at the
    /// OS without blocking; if that finds nothing, no wake came from another thread and no
    /// blocking job is in flight (it could still wake someone), jump the clock to the next
    /// deadline (auto-advance). Otherwise block for real until I/O or a foreign wake.
    fn turn_paused(&self) {
        let _ = self.reactor.poll(Some(Duration::ZERO));
        // Read before draining: a job that finished has injected its wake by the time its
        // thread counts as idle, so that wake is seen by the drain below.
        let jobs = self.blocking.jobs_in_flight();
        if self.remote.take_notified() {
            self.drain_remote();
        }
        if !self.run_queue.borrow().is_empty() {
            return;
        }
        if self.auto_advance && jobs == 0 {
            if let Some(deadline) = self.timers.next_deadline() {
                // Sockets are registered: an event may be in flight in the kernel (a loopback
                // write's wake-up, an ACK that frees send space, processed in a softirq that
                // a loaded machine runs late). Give it up to a millisecond of real time before
                // jumping: otherwise the clock leaps over the moment the I/O would have
                // landed, straight to a test's timeout.
                if self.reactor.has_sources() && self.reactor.poll(Some(IO_GRACE)) > 0 {
                    return;
                }
                self.timers.clock.advance_to(deadline);
                self.timers.fire_due();
                return;
            }
        }
        // A job in flight may end without waking anyone (its waiter was aborted), and its
        // thread counts as idle only after its wake: wait for real, but look again every
        // millisecond so the clock moves on once the jobs are done.
        let wait = if self.auto_advance && jobs > 0 && self.timers.next_deadline().is_some() {
            Some(Duration::from_millis(1))
        } else {
            None
        };
        self.counters.parked(|| self.reactor.poll(wait));
        self.timers.fire_due();
        if self.remote.take_notified() {
            self.drain_remote();
        }
    }

    fn drain_remote(&self) {
        // One swap, so a foreign wake landing between a load and a store is never lost.
        if self.remote.main_woken.swap(false, Ordering::AcqRel) {
            Counters::add(&self.counters.remote_schedules, 1);
            self.wake_main();
        }
        let mut injected = self.injected.borrow_mut();
        self.remote.drain(&mut injected);
        Counters::add(&self.counters.remote_schedules, injected.len() as u64);
        for entry in injected.drain(..) {
            match entry {
                // SAFETY: entries of this runtime's inject queue are its own tasks, and
                // this is its loop's thread.
                Injected::Wake(task) => self.schedule(&unsafe { task.into_local() }),
                // SAFETY: as above.
                Injected::Abort(task) => unsafe { task.into_local() }.abort(),
                Injected::Spawn(job) => {
                    // Its sender may well send the next one soon (see `spin_for_remote`).
                    self.spin_next_idle.set(true);
                    job()
                }
            }
        }
    }
}
