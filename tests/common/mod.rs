//! Helpers the test files share (`mod common;` in each). Not every file uses every helper.
#![allow(dead_code)]

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use corio::task::yield_now;
use corio::time::timeout;

pub mod cancel;

/// Poll `fut` once with this task's waker.
pub async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

/// Await `fut`, failing instead of hanging if a lost wakeup strands it.
pub async fn within<F: Future>(fut: F) -> F::Output {
    timeout(Duration::from_secs(2), fut)
        .await
        .expect("stranded: a grant or wakeup was lost")
}

/// Let every ready task run a few turns.
pub async fn settle() {
    for _ in 0..8 {
        yield_now().await;
    }
}

/// Yield until `cond` holds.
pub async fn until(cond: impl Fn() -> bool) {
    while !cond() {
        yield_now().await;
    }
}

/// Bound a whole test in time: fail instead of hanging CI.
pub async fn bounded<F: Future>(f: F) -> F::Output {
    timeout(Duration::from_secs(30), f)
        .await
        .expect("the test took longer than 30 s")
}

/// A connected (client, server) TCP pair on 127.0.0.1.
pub async fn tcp_pair() -> (corio::net::TcpStream, corio::net::TcpStream) {
    let listener = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = corio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    (client, server)
}

/// Stop a sharded example server and wait (at most 10 s: a hang guard) for `drained`, its
/// `Shards::wait`: each shard's count of connections served, which must add up to `served`.
pub async fn stop_and_drain_shards(
    stop: &corio::sync::CancellationToken,
    drained: impl Future<Output = std::io::Result<Vec<u64>>>,
    served: usize,
) -> Vec<u64> {
    stop.cancel();
    let per_shard = timeout(Duration::from_secs(10), drained)
        .await
        .expect("the shards did not drain")
        .unwrap();
    assert_eq!(
        per_shard.iter().sum::<u64>(),
        served as u64,
        "{per_shard:?}"
    );
    per_shard
}
