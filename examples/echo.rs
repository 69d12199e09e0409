//! TCP echo server whose idle connections hold no buffer, and that drains on SIGINT/SIGTERM.
//!
//! Each connection is one task that awaits `readable()`, then `try_read`s into a single
//! scratch buffer shared by the whole loop (one thread, so a `RefCell` is enough) and writes
//! the bytes straight back. Only a client that stops reading makes the server copy the
//! unsent rest into a buffer of that connection's own, until it drains. So an idle
//! connection costs its task, its socket and its reactor slot: about a kilobyte.
//!
//! **Drain.** On SIGINT or SIGTERM the server stops accepting (its listener closes: new
//! connections are refused), and every connection finishes what is in flight: bytes read
//! are written back whole however slowly the client reads, and a client still sending keeps
//! being echoed. An echo stream has no message boundaries, so "idle" means quiet: a
//! connection on which nothing arrives for [`DRAIN_QUIET`] (100 ms) once the drain has
//! begun is closed. The process exits 0 when the last connection is done, or at
//! `--drain-timeout SECS` (default 10), cutting the connections left; a second signal
//! during the drain exits at once with code 1 and a message on stderr. The drain machinery
//! is [`serve_until`] (a `CancellationToken` starts it, so tests drain in-process without
//! signals) and `drain/mod.rs` (the signals, the timeout, the second signal).
//!
//! **Shards.** `--shards N` (default 1) serves the port from N loops, one per thread and
//! core (`corio::shard::Pool`): each shard binds its own `SO_REUSEPORT` listener on the same
//! address, the kernel spreads the connections, and each shard echoes only its own
//! ([`start_sharded`], `shards/mod.rs`). The drain is the same: one `CancellationToken`,
//! cancelled once by the signal handling on the main thread, drains every shard.
//!
//! Run:    cargo run --release --example echo [ADDR] [--drain-timeout SECS] [--shards N]
//!                                                           (default 127.0.0.1:7000, 10 s, 1)
//! Drive:  nc 127.0.0.1 7000                                 (type lines, they come back)
//!         or the load tool: cargo run --release -p corio-bench -- echo
//! Stop:   Ctrl-C or `kill PID` (drains, then prints how many connections it served);
//!         a second Ctrl-C exits at once. scripts/sigterm-drain.sh tries it under load.

#[path = "drain/mod.rs"]
pub mod drain;
#[path = "shards/mod.rs"]
pub mod shards;

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io::{self, ErrorKind};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use corio::net::{TcpListener, TcpStream};
use corio::sync::CancellationToken;
use corio::task::TaskTracker;
use corio::time::timeout;

/// Size of the one read buffer of the whole loop.
const SCRATCH: usize = 64 * 1024;

/// During a drain, a connection on which nothing arrives for this long is closed.
pub const DRAIN_QUIET: Duration = Duration::from_millis(100);

thread_local! {
    static SCRATCH_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH]);
    static SERVED: Cell<u64> = const { Cell::new(0) };
}

const USAGE: &str = "usage: echo [ADDR] [--drain-timeout SECS] [--shards N]   \
                     (default 127.0.0.1:7000, 10 s, 1 shard)";

#[corio::main]
async fn main() {
    let Args {
        addr,
        drain_timeout,
        shards,
    } = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("echo: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    // Before anything else, so that a SIGTERM sent as soon as we listen asks for a drain.
    let signals = match drain::Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("echo: cannot listen for SIGINT/SIGTERM: {e}");
            std::process::exit(1);
        }
    };
    let code = if shards == 1 {
        serve_one(&addr, signals, drain_timeout).await
    } else {
        serve_sharded(shards, &addr, signals, drain_timeout).await
    };
    std::process::exit(code);
}

/// One loop on this thread: the listener, the connections, the drain.
async fn serve_one(addr: &str, signals: drain::Signals, drain_timeout: Duration) -> i32 {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("echo: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("echo: listening on {}", listener.local_addr().unwrap());

    let stop = CancellationToken::new();
    let outcome = drain::supervise(
        serve_until(listener, stop.clone()),
        stop,
        signals,
        drain_timeout,
        || eprintln!("echo: stop requested: draining (a second signal exits at once)"),
    )
    .await;
    println!("echo: served {} connections", served());
    outcome.exit_code("echo")
}

/// `n` shards (see the module docs); the signals and the drain's supervision stay on this
/// thread's loop.
async fn serve_sharded(
    n: usize,
    addr: &str,
    signals: drain::Signals,
    drain_timeout: Duration,
) -> i32 {
    let stop = CancellationToken::new();
    let mut running = match start_sharded(n, addr, stop.clone()).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("echo: cannot listen on {addr} with {n} shards: {e}");
            return 1;
        }
    };
    println!(
        "echo: listening on {} ({} shards)",
        running.local_addr(),
        running.count()
    );
    let outcome = drain::supervise(running.finish(), stop, signals, drain_timeout, || {
        eprintln!("echo: stop requested: draining {n} shards (a second signal exits at once)")
    })
    .await;
    // Known only when every shard finished (after a timeout or a second signal the process
    // exits with the shards still running).
    if let Some(counts) = running.outputs() {
        println!("echo: served {} connections", shards::tally(counts));
    }
    outcome.exit_code("echo")
}

/// Serve `addr` from `n` shards, each echoing the connections its own `SO_REUSEPORT`
/// listener accepts, until `stop` is cancelled; then every shard drains as [`serve_until`]
/// does. [`Shards::wait`](shards::Shards::wait) gives how many connections each shard
/// served.
pub async fn start_sharded(
    n: usize,
    addr: &str,
    stop: CancellationToken,
) -> io::Result<shards::Shards<u64>> {
    shards::start(n, addr, move |_shard, listener| {
        let stop = stop.clone();
        async move { serve_until(listener, stop).await.map(|()| served()) }
    })
    .await
}

/// The command line.
struct Args {
    addr: String,
    drain_timeout: Duration,
    shards: usize,
}

/// `[ADDR] [--drain-timeout SECS] [--shards N]`, also as `--flag=VALUE`, in any order.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut addr = None;
    let mut drain_timeout = drain::DEFAULT_TIMEOUT;
    let mut shards = 1;
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if let Some(value) = arg.strip_prefix("--drain-timeout=") {
            drain_timeout = drain::parse_drain_timeout(value)?;
        } else if arg == "--drain-timeout" {
            let value = args.next().ok_or("--drain-timeout needs a value")?;
            drain_timeout = drain::parse_drain_timeout(&value)?;
        } else if let Some(value) = arg.strip_prefix("--shards=") {
            shards = shards::parse_count(value)?;
        } else if arg == "--shards" {
            let value = args.next().ok_or("--shards needs a value")?;
            shards = shards::parse_count(&value)?;
        } else if arg.starts_with('-') || addr.is_some() {
            return Err(format!("unexpected argument: {arg}"));
        } else {
            addr = Some(arg);
        }
    }
    Ok(Args {
        addr: addr.unwrap_or_else(|| "127.0.0.1:7000".to_owned()),
        drain_timeout,
        shards,
    })
}

/// How many connections this thread's servers have accepted.
pub fn served() -> u64 {
    SERVED.with(Cell::get)
}

/// Accept connections on `listener` and echo on each in a task of its own until `stop` is
/// cancelled; then drain (see the module docs) and return once every connection is done.
/// Dropping the returned future (the drain timeout) cuts the connections still open.
///
/// Returns an error only when `accept` fails with one it does not retry by itself.
pub async fn serve_until(listener: TcpListener, stop: CancellationToken) -> io::Result<()> {
    let connections = TaskTracker::new();
    // Cancelled when this future ends or is dropped: ends every connection task left.
    let cut = CancellationToken::new();
    // What an idle connection waits on besides its socket: cancelled with `stop` (its
    // parent) and with `cut`, so the hot path — a wake-up per message — polls one token, not
    // two (at 5,000 connections each poll of a token's wait is a cache miss or two).
    let woken = stop.child_token();
    // Dropped in reverse order: `cut` is cancelled before `woken` wakes anyone, so a woken
    // connection already sees the cut.
    let _wake_when_dropped = woken.clone().drop_guard();
    let _cut_when_dropped = cut.clone().drop_guard();
    let result = loop {
        // Cancellation is checked first: once `stop` is cancelled, nothing more is accepted.
        let accepted = stop.run_until_cancelled(listener.accept()).await;
        match accepted {
            None => break Ok(()),
            Some(Ok((stream, _peer))) => {
                SERVED.with(|s| s.set(s.get() + 1));
                let (woken, cut) = (woken.clone(), cut.clone());
                connections.spawn(async move {
                    let drain = Drain {
                        woken: &woken,
                        cut: &cut,
                    };
                    if let Err(e) = echo(stream, Some(drain)).await {
                        // Resets and broken pipes are a client's business, not ours.
                        if !matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) {
                            eprintln!("echo: connection error: {e}");
                        }
                    }
                });
            }
            // accept() already backs off by itself on EMFILE & co.; anything else is fatal.
            Some(Err(e)) => break Err(e),
        }
    };
    // Stop accepting: connections that arrive from now on are refused.
    drop(listener);
    result?;
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Echo until EOF, holding no buffer while idle. (`pub` so that tests/example_echo.rs can
/// serve connections with it.)
pub async fn serve(stream: TcpStream) -> io::Result<()> {
    echo(stream, None).await
}

/// A connection's part in the drain: `woken` is cancelled when the drain starts (or at a
/// cut), `cut` when the connection must end now (the server's future was dropped).
#[derive(Clone, Copy)]
struct Drain<'a> {
    woken: &'a CancellationToken,
    cut: &'a CancellationToken,
}

/// Echo until EOF or, once the drain starts, until the client is quiet for [`DRAIN_QUIET`];
/// a backlog being written back is always written whole first, unless the server cuts.
async fn echo(mut stream: TcpStream, drain: Option<Drain<'_>>) -> io::Result<()> {
    let mut woken = pin!(drain.map(|d| d.woken.cancelled()));
    let cut = drain.map(|d| d.cut);
    let mut draining = false;
    loop {
        if draining {
            // Rare (once the drain started), so it may poll the cut token on every wake.
            let quiet = until_cut(cut, timeout(DRAIN_QUIET, stream.readable())).await;
            match quiet {
                None | Some(Err(_)) => return Ok(()), // cut, or quiet for DRAIN_QUIET
                Some(Ok(ready)) => ready?,
            }
        } else {
            let stopped = poll_fn(|cx| {
                if let Poll::Ready(ready) = stream.poll_read_ready(cx) {
                    return Poll::Ready(ready.map(|()| false));
                }
                match woken.as_mut().as_pin_mut() {
                    Some(woken) => woken.poll(cx).map(|()| Ok(true)),
                    None => Poll::Pending,
                }
            })
            .await?;
            if stopped {
                if cut.is_some_and(CancellationToken::is_cancelled) {
                    return Ok(());
                }
                draining = true;
                continue;
            }
        }
        // Read and write back synchronously while the shared buffer is borrowed; an await
        // must never happen with the borrow held, or another task would find it taken.
        let step = SCRATCH_BUF.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = match stream.try_read(&mut scratch) {
                Ok(0) => return Ok(Step::Eof),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Step::Idle),
                Err(e) => return Err(e),
            };
            let mut sent = 0;
            while sent < n {
                match stream.try_write(&scratch[sent..n]) {
                    Ok(k) => sent += k,
                    // The client is not reading: keep the rest in a buffer of our own.
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        return Ok(Step::Backlog(scratch[sent..n].to_vec()))
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(Step::Idle)
        })?;
        match step {
            Step::Idle => {}
            Step::Eof => return Ok(()),
            // A slow reader's backlog: written whole, unless the server cuts meanwhile.
            Step::Backlog(rest) => match until_cut(cut, stream.write_all(&rest)).await {
                None => return Ok(()),
                Some(written) => written?,
            },
        }
    }
}

/// `future`'s output, or `None` if `cut` (when there is one) is cancelled first.
async fn until_cut<F: Future>(cut: Option<&CancellationToken>, future: F) -> Option<F::Output> {
    match cut {
        Some(cut) => cut.run_until_cancelled(future).await,
        None => Some(future.await),
    }
}

/// What one wake-up of a connection led to.
enum Step {
    /// Everything read was written back (or nothing was there): wait for more.
    Idle,
    /// The client closed its side.
    Eof,
    /// These bytes could not be written yet.
    Backlog(Vec<u8>),
}
