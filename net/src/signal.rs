//! Signals: [`ctrl_c`] waits for SIGINT.
//!
//! The first call installs a process-wide SIGINT handler (kept for the rest of the
//! process's life, as in tokio: from then on Ctrl-C no longer kills the process, it is
//! delivered to the waiting tasks). The handler only counts the signal and writes a byte to a
//! self-pipe; a small thread (`corio-signal`) reads the pipe and wakes every waiting task,
//! on whichever loop it runs. Other signals keep their disposition.

use std::future::Future;
use std::io;
use std::os::fd::IntoRawFd;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::sys::sigint;

/// Tasks waiting for SIGINT: (waiter id, waker).
struct Waiters {
    next_id: u64,
    list: Vec<(u64, Waker)>,
}

static WAITERS: Mutex<Waiters> = Mutex::new(Waiters {
    next_id: 0,
    list: Vec::new(),
});

/// Whether the handler is installed (or why it could not be).
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

fn waiters() -> std::sync::MutexGuard<'static, Waiters> {
    // A panic while holding this lock leaves only a list of wakers: still usable.
    WAITERS.lock().unwrap_or_else(|e| e.into_inner())
}

fn install() -> io::Result<()> {
    let result = INSTALLED.get_or_init(|| {
        let setup = || -> io::Result<()> {
            let (sender, receiver) = mio::unix::pipe::new()?;
            // The reading thread blocks; the handler's end stays non-blocking.
            receiver.set_nonblocking(false)?;
            std::thread::Builder::new()
                .name("corio-signal".into())
                .spawn(move || relay(receiver))?;
            // The write end lives as long as the process: the handler may run at any time.
            sigint::install(sender.into_raw_fd())
        };
        setup().map_err(|e| format!("cannot install the SIGINT handler: {e}"))
    });
    result.clone().map_err(io::Error::other)
}

/// The `corio-signal` thread: each byte from the handler wakes every waiting task.
fn relay(receiver: mio::unix::pipe::Receiver) {
    let mut buf = [0u8; 64];
    loop {
        match std::io::Read::read(&mut &receiver, &mut buf) {
            Ok(0) => return,
            Ok(_) => {
                let woken: Vec<Waker> = waiters().list.drain(..).map(|(_, w)| w).collect();
                woken.into_iter().for_each(Waker::wake);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Wait for the next SIGINT (Ctrl-C in a terminal) received after the first poll of the
/// returned future. Any number of tasks, on any number of loops, may wait at once; each one
/// completes. Fails only if the handler cannot be installed.
///
/// ```no_run
/// corio_runtime::run(async {
///     println!("press Ctrl-C to stop");
///     corio_net::signal::ctrl_c().await.unwrap();
///     println!("bye");
/// });
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    install()?;
    CtrlC {
        start: None,
        id: None,
    }
    .await;
    Ok(())
}

/// The wait behind [`ctrl_c`]; deregisters its waker when dropped.
struct CtrlC {
    /// Signal count seen at the first poll.
    start: Option<usize>,
    /// Our entry in `WAITERS`.
    id: Option<u64>,
}

impl Future for CtrlC {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let start = *self
            .start
            .get_or_insert_with(|| sigint::COUNT.load(Ordering::SeqCst));
        {
            // Register before looking at the count, so a signal in between still wakes us.
            let mut w = waiters();
            match self
                .id
                .and_then(|id| w.list.iter_mut().find(|(i, _)| *i == id))
            {
                Some((_, waker)) => waker.clone_from(cx.waker()),
                None => {
                    let id = w.next_id;
                    w.next_id += 1;
                    w.list.push((id, cx.waker().clone()));
                    self.id = Some(id);
                }
            }
        }
        if sigint::COUNT.load(Ordering::SeqCst) != start {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            waiters().list.retain(|(i, _)| *i != id);
        }
    }
}
