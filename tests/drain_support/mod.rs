//! What the drain tests (`tests/drain_*.rs`) share: a manual stop trigger standing in for
//! SIGINT/SIGTERM (signals are process-wide, and cargo runs tests on parallel threads), and
//! a paused-time runtime. `mod drain_support;` in each.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;

/// A stream of stop requests fired by hand: each [`Trigger::fire`] is one request, as one
/// signal would be for `drain::Signals`.
#[derive(Clone, Default)]
pub struct Trigger {
    fired: Rc<Cell<u32>>,
    seen: Rc<Cell<u32>>,
    waker: Rc<RefCell<Option<Waker>>>,
}

impl Trigger {
    pub fn new() -> Trigger {
        Trigger::default()
    }

    /// One more stop request.
    pub fn fire(&self) {
        self.fired.set(self.fired.get() + 1);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }
}

impl Stream for Trigger {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.seen.get() < self.fired.get() {
            self.seen.set(self.seen.get() + 1);
            return Poll::Ready(Some(()));
        }
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Run `test` on a fresh runtime on paused time (the clients are tasks on the server's
/// loop: loopback writes are ready at once, so the clock moves only when everything
/// waits), failing if it takes more than 60 s of that time.
pub fn on_paused_time<Fut: Future<Output = ()>>(test: Fut) {
    let rt = corio::Runtime::builder()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        corio::time::timeout(Duration::from_secs(60), test)
            .await
            .expect("test timed out");
    });
}

/// After a drain timeout cut a client that never read: its reading side finds the connection
/// closed (EOF or a reset) within a second, and its writer, blocked on a full send buffer,
/// sees the close and finishes. Returns the bytes read before the close.
pub async fn expect_closed_by_the_cut(
    rd: &mut corio::net::tcp::OwnedReadHalf,
    writer: corio::task::JoinHandle<()>,
) -> usize {
    let got = corio::time::timeout(Duration::from_secs(1), async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
            got += n;
        }
        got
    })
    .await
    .expect("the connection was closed by the timeout");
    corio::time::timeout(Duration::from_secs(1), writer)
        .await
        .expect("the writer sees the connection closed")
        .unwrap();
    got
}
