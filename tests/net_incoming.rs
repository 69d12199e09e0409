//! Listeners as streams (`TcpListener::incoming`, `UnixListener::incoming`) and code generic
//! over TCP and Unix streams that splits them (issue 15's stream pieces).

use std::cell::Cell;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use corio::net::split::{self, SplitStream};
use corio::net::{Incoming, TcpListener, TcpStream, UnixListener, UnixStream};
use corio::time::timeout;
use futures_core::Stream;

const LIMIT: Duration = Duration::from_secs(10);

async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
}

/// A temp dir for socket files, removed on drop.
struct TempDir(std::path::PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("corio-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[corio::test]
async fn tcp_incoming_yields_every_connection_as_a_stream_item() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut clients = Vec::new();
    for i in 0..5u8 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(&[i]).await.unwrap();
        clients.push(c);
    }
    let mut incoming: Incoming<'_, TcpListener> = listener.incoming();
    let mut got = Vec::new();
    for _ in 0..5 {
        let mut conn = timeout(LIMIT, next(&mut incoming))
            .await
            .unwrap()
            .expect("incoming never ends")
            .unwrap();
        let mut id = [0u8; 1];
        conn.read_exact(&mut id).await.unwrap();
        got.push(id[0]);
    }
    got.sort();
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert!(format!("{incoming:?}").contains("Incoming"));
}

#[corio::test]
async fn unix_incoming_yields_connections_too() {
    let dir = TempDir::new("incoming");
    let path = dir.0.join("s.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let _a = UnixStream::connect(&path).await.unwrap();
    let _b = UnixStream::connect(&path).await.unwrap();
    let mut incoming = listener.incoming();
    for _ in 0..2 {
        let conn: UnixStream = timeout(LIMIT, next(&mut incoming))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(conn.peer_addr().is_ok());
    }
}

#[corio::test]
async fn a_dropped_pending_next_loses_no_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    {
        let mut incoming = listener.incoming();
        // Nothing queued: one poll parks, then the stream and its pending next are dropped.
        let first = poll_fn(|cx| Poll::Ready(Pin::new(&mut incoming).poll_next(cx).is_pending()));
        assert!(first.await, "nothing was queued yet");
    }
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"x").await.unwrap();
    // A new stream (or a plain accept) gets the connection that arrived meanwhile.
    let mut incoming = listener.incoming();
    let mut conn = timeout(LIMIT, next(&mut incoming))
        .await
        .expect("the connection was lost with the dropped next()")
        .unwrap()
        .unwrap();
    let mut buf = [0u8; 1];
    conn.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"x");
}

#[test]
fn draining_a_full_backlog_through_incoming_gives_way_to_other_tasks() {
    const BUDGET: u32 = 8;
    const QUEUED: usize = 40;
    let rt = corio::Runtime::builder()
        .task_budget(BUDGET)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        // Connected, so all QUEUED connections wait ready in the backlog.
        let mut clients = Vec::new();
        for _ in 0..QUEUED {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let other_ran = Rc::new(Cell::new(false));
        let hog = {
            let (listener, other_ran) = (listener.clone(), other_ran.clone());
            corio::spawn(async move {
                let mut incoming = listener.incoming();
                let mut taken = 0usize;
                while !other_ran.get() && taken < QUEUED {
                    next(&mut incoming).await.unwrap().unwrap();
                    taken += 1;
                }
                taken
            })
        };
        let other = corio::spawn(async move { other_ran.set(true) });
        let taken = timeout(LIMIT, hog).await.unwrap().unwrap();
        other.await.unwrap();
        assert!(
            taken < QUEUED,
            "incoming drained all {QUEUED} ready connections without giving way"
        );
        assert_eq!(
            taken,
            BUDGET as usize + 1,
            "incoming should give way when its budget of {BUDGET} runs out, like accept"
        );
    });
}

/// Generic over TCP and Unix: echo one 4-byte message through borrowed halves, then answer
/// through owned halves, and put the stream back together.
async fn echo_then_reunite<S: SplitStream>(mut stream: S) -> S {
    let (mut rd, mut wr) = split::split(&mut stream);
    let mut buf = [0u8; 4];
    rd.read_exact(&mut buf).await.unwrap();
    wr.write_all(&buf).await.unwrap();
    let (rd, mut wr) = split::into_split(stream);
    wr.write_all(b"done").await.unwrap();
    rd.reunite(wr).unwrap()
}

#[corio::test]
async fn generic_code_splits_tcp_and_unix_streams_alike() {
    let (mut unix_peer, unix_side) = UnixStream::pair().unwrap();
    unix_peer.write_all(b"unix").await.unwrap();
    let _unix: UnixStream = echo_then_reunite(unix_side).await;
    let mut buf = [0u8; 8];
    unix_peer.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"unixdone");

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut tcp_peer = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (tcp_side, _) = listener.accept().await.unwrap();
    tcp_peer.write_all(b"tcp!").await.unwrap();
    let _tcp: TcpStream = echo_then_reunite(tcp_side).await;
    tcp_peer.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"tcp!done");
}

/// Stands in for `futures::io::AsyncReadExt::split`: a by-value `split` on every type, which
/// method lookup finds before corio's `split(&mut self)` on a plain `s.split()`.
trait ByValueSplit: Sized {
    fn split(self) -> (Self, ()) {
        (self, ())
    }
}
impl<T> ByValueSplit for T {}

#[corio::test]
async fn the_documented_fixes_for_the_split_name_clash_reach_corios_split() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    // The clash itself: with the by-value trait in scope, a plain `.split()` is the trait's
    // (this line only compiles because it is).
    let (c, _d) = UnixStream::pair().unwrap();
    let (_c, ()): (UnixStream, ()) = c.split();
    {
        let (mut rd, _wr): (
            corio::net::unix::ReadHalf<'_>,
            corio::net::unix::WriteHalf<'_>,
        ) = UnixStream::split(&mut a);
        b.write_all(b"1").await.unwrap();
        assert_eq!(rd.read(&mut [0u8; 1]).await.unwrap(), 1);
    }
    // clippy's needless_borrow misreads this one: without the `&mut`, lookup picks the
    // by-value trait method (see `_c` above).
    #[allow(clippy::needless_borrow)]
    let (_rd, mut wr): (
        corio::net::unix::ReadHalf<'_>,
        corio::net::unix::WriteHalf<'_>,
    ) = (&mut a).split();
    wr.write_all(b"2").await.unwrap();
    assert_eq!(b.read(&mut [0u8; 1]).await.unwrap(), 1);
}
