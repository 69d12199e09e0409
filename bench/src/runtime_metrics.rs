//! The corio server child's runtime metrics ([`corio::metrics`]), handed to the parent on
//! request, and what the sweeps and `fair` compute from two of them.
//!
//! The parent makes a Unix socket pair and gives one end to the corio child as its stdin
//! (with `serve --metrics-on-stdin`). The child runs one extra task that waits on that
//! socket; the server's accept loop and connection tasks are untouched. At the measured
//! window's start and end the parent asks, and the child answers with one line taken on its
//! loop at that moment:
//!
//! ```text
//!  parent (probe at WindowStart / WindowEnd)       corio child (one task beside the server)
//!  ─────────────────────────────────────────       ────────────────────────────────────────
//!  write "metrics\n" ──────────────────────────►   read a line; corio::metrics()
//!  read one line (2 s deadline)  ◄─────────────    "corio-metrics polls=.. forced_yields=..
//!                                                   parks=.. busy_us=.. elapsed_us=.. io_events=..\n"
//!  (EOF when the parent drops its end: the task ends)
//! ```
//!
//! Asking costs the server one wake-up and a couple of polls per snapshot, two per cell.
//! Rates use the server's own clock (`elapsed_us` of the two snapshots), so the time a
//! request takes to be answered does not skew them; per-request figures divide the
//! server's polls per second by the client's requests per second.

use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// What the parent writes to ask for one snapshot.
pub const REQUEST: &[u8] = b"metrics\n";

/// The first word of every reply line.
const PREFIX: &str = "corio-metrics";

/// How long the parent waits for a reply before it gives up on the link.
const REPLY_DEADLINE: Duration = Duration::from_secs(2);

/// One snapshot of the child's runtime counters (totals since its runtime was built).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `total_polls_count`.
    pub polls: u64,
    /// `budget_forced_yield_count`.
    pub forced_yields: u64,
    /// `total_park_count`.
    pub parks: u64,
    /// `total_busy_duration`, microseconds.
    pub busy_us: u64,
    /// `elapsed`, microseconds.
    pub elapsed_us: u64,
    /// `io_driver_ready_count`.
    pub io_events: u64,
}

impl Snapshot {
    /// The fields of `m` this module reports.
    pub fn from_runtime(m: &corio::RuntimeMetrics) -> Snapshot {
        Snapshot {
            polls: m.total_polls_count,
            forced_yields: m.budget_forced_yield_count,
            parks: m.total_park_count,
            busy_us: u64::try_from(m.total_busy_duration.as_micros()).unwrap_or(u64::MAX),
            elapsed_us: u64::try_from(m.elapsed.as_micros()).unwrap_or(u64::MAX),
            io_events: m.io_driver_ready_count,
        }
    }

    /// The shards of one pool as one server: counters summed, the clock shard 0's (they
    /// start together, and a window takes differences), busy time the shards' mean. So a
    /// window's `polls_per` counts every shard's polls, and `busy_ratio` is the mean shard's.
    pub fn pooled(shards: &[Snapshot]) -> Snapshot {
        let sum = |f: fn(&Snapshot) -> u64| shards.iter().map(f).sum::<u64>();
        Snapshot {
            polls: sum(|s| s.polls),
            forced_yields: sum(|s| s.forced_yields),
            parks: sum(|s| s.parks),
            busy_us: sum(|s| s.busy_us) / (shards.len().max(1) as u64),
            elapsed_us: shards.first().map_or(0, |s| s.elapsed_us),
            io_events: sum(|s| s.io_events),
        }
    }

    /// The reply line, newline included.
    pub fn to_line(self) -> String {
        format!(
            "{PREFIX} polls={} forced_yields={} parks={} busy_us={} elapsed_us={} io_events={}\n",
            self.polls,
            self.forced_yields,
            self.parks,
            self.busy_us,
            self.elapsed_us,
            self.io_events
        )
    }

    /// Parse a reply line (surrounding whitespace ignored). Every field must be there, once;
    /// unknown `key=value` fields are skipped so the child may report more later.
    pub fn parse(line: &str) -> Result<Snapshot, String> {
        let mut words = line.split_whitespace();
        if words.next() != Some(PREFIX) {
            return Err(format!("not a `{PREFIX}` line: `{}`", line.trim()));
        }
        let mut fields: [Option<u64>; 6] = [None; 6];
        const KEYS: [&str; 6] = [
            "polls",
            "forced_yields",
            "parks",
            "busy_us",
            "elapsed_us",
            "io_events",
        ];
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("`{word}` is not key=value in `{}`", line.trim()))?;
            let Some(i) = KEYS.iter().position(|&k| k == key) else {
                continue;
            };
            let value = value
                .parse()
                .map_err(|_| format!("{key}=`{value}` is not a count"))?;
            if fields[i].replace(value).is_some() {
                return Err(format!("{key} appears twice in `{}`", line.trim()));
            }
        }
        let get =
            |i: usize| fields[i].ok_or_else(|| format!("no {} in `{}`", KEYS[i], line.trim()));
        Ok(Snapshot {
            polls: get(0)?,
            forced_yields: get(1)?,
            parks: get(2)?,
            busy_us: get(3)?,
            elapsed_us: get(4)?,
            io_events: get(5)?,
        })
    }
}

/// What the runtime did between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Task polls.
    pub polls: u64,
    /// Polls cut short by the cooperative budget.
    pub forced_yields: u64,
    /// Times the loop parked in `epoll_wait`.
    pub parks: u64,
    /// I/O events the OS reported.
    pub io_events: u64,
    /// Time the loop was not parked, seconds.
    pub busy_secs: f64,
    /// The server's time between the snapshots, seconds.
    pub elapsed_secs: f64,
}

impl Window {
    /// `end - start`; `None` if `end` is not later than `start` (not the same runtime).
    pub fn between(start: &Snapshot, end: &Snapshot) -> Option<Window> {
        let elapsed_us = end.elapsed_us.checked_sub(start.elapsed_us)?;
        if elapsed_us == 0 {
            return None;
        }
        Some(Window {
            polls: end.polls.checked_sub(start.polls)?,
            forced_yields: end.forced_yields.checked_sub(start.forced_yields)?,
            parks: end.parks.checked_sub(start.parks)?,
            io_events: end.io_events.checked_sub(start.io_events)?,
            busy_secs: end.busy_us.checked_sub(start.busy_us)? as f64 / 1e6,
            elapsed_secs: elapsed_us as f64 / 1e6,
        })
    }

    /// Polls per unit of work, given the work rate the client saw (requests or messages per
    /// second); `None` when there was none.
    pub fn polls_per(&self, units_per_sec: f64) -> Option<f64> {
        (units_per_sec > 0.0).then(|| self.polls as f64 / self.elapsed_secs / units_per_sec)
    }

    /// Parks (the loop waited for events) per unit of work, like [`polls_per`](Self::polls_per).
    pub fn parks_per(&self, units_per_sec: f64) -> Option<f64> {
        (units_per_sec > 0.0).then(|| self.parks as f64 / self.elapsed_secs / units_per_sec)
    }

    /// Forced yields per second of server time.
    pub fn forced_yields_per_sec(&self) -> f64 {
        self.forced_yields as f64 / self.elapsed_secs
    }

    /// The share of the window the loop was busy (not parked), 0.0 to 1.0.
    pub fn busy_ratio(&self) -> f64 {
        (self.busy_secs / self.elapsed_secs).clamp(0.0, 1.0)
    }
}

/// The child's end of the link: its stdin, which the parent made a Unix socket.
pub fn stdin_socket() -> io::Result<UnixStream> {
    let fd = io::stdin().as_fd().try_clone_to_owned()?;
    Ok(UnixStream::from(fd))
}

/// The child's side: answer every request line on `link` with a snapshot of this runtime,
/// until the parent closes its end. Runs as its own task on the server's loop.
pub async fn answer(link: UnixStream) -> io::Result<()> {
    answer_with(link, || async { Snapshot::from_runtime(&corio::metrics()) }).await
}

/// [`answer`] with the snapshot taken by `snapshot` (a sharded server: every shard's,
/// [`Snapshot::pooled`]).
pub async fn answer_with<F, Fut>(link: UnixStream, mut snapshot: F) -> io::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Snapshot>,
{
    let mut link = corio::net::UnixStream::from_std(link)?;
    let mut buf = [0u8; 256];
    loop {
        let n = link.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        for _ in buf[..n].iter().filter(|&&b| b == b'\n') {
            let line = snapshot().await.to_line();
            link.write_all(line.as_bytes()).await?;
        }
    }
}

/// The parent's side of the link to one corio child.
#[derive(Debug)]
pub struct Link {
    reader: BufReader<UnixStream>,
    /// Set once a request failed or timed out: a late reply would be taken for the next one.
    broken: Option<String>,
}

impl Link {
    /// A new link, and the end to give the child as its stdin.
    pub fn pair() -> io::Result<(Link, OwnedFd)> {
        let (ours, theirs) = UnixStream::pair()?;
        ours.set_read_timeout(Some(REPLY_DEADLINE))?;
        ours.set_write_timeout(Some(REPLY_DEADLINE))?;
        let link = Link {
            reader: BufReader::new(ours),
            broken: None,
        };
        Ok((link, OwnedFd::from(theirs)))
    }

    /// Ask the child for a snapshot and wait for it (up to 2 s). After one failure every
    /// later call fails with the same message.
    pub fn snapshot(&mut self) -> Result<Snapshot, String> {
        if let Some(err) = &self.broken {
            return Err(err.clone());
        }
        let result = self.ask();
        if let Err(err) = &result {
            self.broken = Some(err.clone());
        }
        result
    }

    fn ask(&mut self) -> Result<Snapshot, String> {
        let io_err = |e: io::Error| format!("the metrics link: {e}");
        self.reader.get_mut().write_all(REQUEST).map_err(io_err)?;
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("the metrics link closed (the server exited?)".to_string()),
            Ok(_) if !line.ends_with('\n') => Err(format!("a cut reply: `{line}`")),
            Ok(_) => Snapshot::parse(&line),
            Err(e) => Err(io_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(polls: u64, forced: u64, busy_us: u64, elapsed_us: u64) -> Snapshot {
        Snapshot {
            polls,
            forced_yields: forced,
            parks: 7,
            busy_us,
            elapsed_us,
            io_events: 3,
        }
    }

    #[test]
    fn a_line_round_trips_and_bad_lines_are_refused() {
        let s = snap(12, 3, 400, 900);
        assert_eq!(Snapshot::parse(&s.to_line()), Ok(s));
        let extra = "corio-metrics polls=1 forced_yields=2 parks=3 busy_us=4 elapsed_us=5 io_events=6 later=9";
        assert_eq!(Snapshot::parse(extra).unwrap().io_events, 6);
        for bad in [
            "",
            "12 polls=1",
            "corio-metrics polls=1",
            "corio-metrics polls=x forced_yields=2 parks=3 busy_us=4 elapsed_us=5 io_events=6",
            "corio-metrics polls=1 polls=1 forced_yields=2 parks=3 busy_us=4 elapsed_us=5 io_events=6",
            "corio-metrics polls forced_yields=2 parks=3 busy_us=4 elapsed_us=5 io_events=6",
        ] {
            assert!(Snapshot::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_window_gives_rates_on_the_servers_clock() {
        let w = Window::between(
            &snap(100, 10, 0, 1_000_000),
            &snap(2_100, 30, 500_000, 3_000_000),
        )
        .unwrap();
        assert_eq!(w.polls, 2_000);
        assert_eq!(w.elapsed_secs, 2.0);
        assert_eq!(w.forced_yields_per_sec(), 10.0);
        assert_eq!(w.busy_ratio(), 0.25);
        // 1000 polls/s against 500 requests/s: 2 polls per request.
        assert_eq!(w.polls_per(500.0), Some(2.0));
        assert_eq!(w.polls_per(0.0), None);
        // 7 parks in each snapshot: none in the window.
        assert_eq!(w.parks_per(500.0), Some(0.0));
        // Counters that went backwards are another runtime, not a window.
        assert_eq!(
            Window::between(&snap(5, 0, 0, 10), &snap(4, 0, 0, 20)),
            None
        );
        assert_eq!(
            Window::between(&snap(5, 0, 0, 10), &snap(6, 0, 0, 10)),
            None
        );
    }

    #[test]
    fn a_pool_sums_counters_and_averages_busy_time() {
        let pooled = Snapshot::pooled(&[snap(100, 1, 300, 1_000), snap(50, 2, 100, 990)]);
        assert_eq!(pooled.polls, 150);
        assert_eq!(pooled.forced_yields, 3);
        assert_eq!(pooled.parks, 14);
        assert_eq!(pooled.busy_us, 200);
        assert_eq!(pooled.elapsed_us, 1_000);
        assert_eq!(Snapshot::pooled(&[]), Snapshot::default());
    }

    #[test]
    fn a_corio_task_answers_over_the_link() {
        let (mut link, theirs) = Link::pair().unwrap();
        let server = std::thread::spawn(move || {
            corio::run(async move {
                let _ = answer(UnixStream::from(theirs)).await;
            })
        });
        let first = link.snapshot().unwrap();
        let second = link.snapshot().unwrap();
        assert!(second.polls >= first.polls && second.elapsed_us >= first.elapsed_us);
        drop(link); // EOF ends the task, and with it the runtime
        server.join().unwrap();
    }
}
