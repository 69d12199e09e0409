//! corio_compat::hyper::HyperIo: reads into hyper's uninitialized buffer on corio's streams
//! (every byte arrives, a drained socket parks instead of spinning), the futures-io fallback,
//! and `is_write_vectored`.

mod common;

use std::future::poll_fn;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::Poll;

use corio::net::UnixStream;
use corio_compat::hyper::HyperIo;
use hyper::rt::{Read, ReadBuf, Write};

/// One `poll_read` into a fresh uninitialized buffer of `cap` bytes, awaited.
async fn read_some<T>(io: &mut HyperIo<T>, cap: usize) -> Vec<u8>
where
    HyperIo<T>: Read + Unpin,
{
    let mut storage = vec![MaybeUninit::<u8>::uninit(); cap];
    let mut buf = ReadBuf::uninit(&mut storage);
    poll_fn(|cx| Pin::new(&mut *io).poll_read(cx, buf.unfilled()))
        .await
        .unwrap();
    buf.filled().to_vec()
}

/// Poll a read once: `None` if it is pending.
async fn try_read_once<T>(io: &mut HyperIo<T>) -> Option<Vec<u8>>
where
    HyperIo<T>: Read + Unpin,
{
    let mut storage = [MaybeUninit::<u8>::uninit(); 64];
    let mut buf = ReadBuf::uninit(&mut storage);
    let polled = poll_fn(|cx| Poll::Ready(Pin::new(&mut *io).poll_read(cx, buf.unfilled()))).await;
    match polled {
        Poll::Ready(r) => {
            r.unwrap();
            Some(buf.filled().to_vec())
        }
        Poll::Pending => None,
    }
}

#[corio::test]
async fn a_drained_socket_parks_and_wakes_on_new_data() {
    let (mut peer, stream) = common::tcp_pair().await;
    let mut io = HyperIo::new(stream);
    peer.write_all(b"abc").await.unwrap();
    assert_eq!(read_some(&mut io, 4096).await, b"abc"); // a short read: drained
                                                        // Nothing more: the read must say Pending (a stale ready bit would spin or return 0).
    assert_eq!(try_read_once(&mut io).await, None);
    assert_eq!(try_read_once(&mut io).await, None);
    let reader = corio::spawn(async move { read_some(&mut io, 4096).await });
    corio::task::yield_now().await;
    peer.write_all(b"defg").await.unwrap();
    assert_eq!(reader.await.unwrap(), b"defg");
}

#[corio::test]
async fn every_byte_of_a_long_stream_arrives_in_order_over_tcp_and_unix() {
    const TOTAL: usize = 3 << 20;
    let pattern = |i: usize| (i % 251) as u8;
    let (tcp_peer, tcp) = common::tcp_pair().await;
    let (unix_peer, unix) = UnixStream::pair().unwrap();
    async fn drive<P, T>(mut peer: P, io: T, total: usize, pattern: fn(usize) -> u8)
    where
        P: futures_util::AsyncWrite + Unpin + 'static,
        HyperIo<T>: Read + Unpin,
        T: 'static,
    {
        let writer = corio::spawn(async move {
            let data: Vec<u8> = (0..total).map(pattern).collect();
            // Uneven chunks, so reads see short, full and drained buffers.
            for chunk in data.chunks(7919) {
                futures_util::AsyncWriteExt::write_all(&mut peer, chunk)
                    .await
                    .unwrap();
            }
            peer
        });
        let mut io = HyperIo::new(io);
        let mut got = 0;
        while got < total {
            let bytes = read_some(&mut io, 1000 + got % 9000).await;
            assert!(!bytes.is_empty(), "EOF after {got} bytes");
            for (k, b) in bytes.iter().enumerate() {
                assert_eq!(*b, pattern(got + k), "byte {}", got + k);
            }
            got += bytes.len();
        }
        drop(writer.await.unwrap()); // the peer closes: EOF next
        assert_eq!(read_some(&mut io, 64).await, b"");
    }
    drive(tcp_peer, tcp, TOTAL, pattern).await;
    drive(unix_peer, unix, TOTAL, pattern).await;
}

#[corio::test]
async fn a_bulk_read_fills_the_callers_buffer_in_one_poll() {
    let (mut peer, stream) = common::tcp_pair().await;
    let mut io = HyperIo::new(stream);
    peer.write_all(&[7u8; 60_000]).await.unwrap();
    corio::time::sleep(std::time::Duration::from_millis(5)).await; // all of it in the socket
    let got = read_some(&mut io, 60_000).await;
    // One recv straight into the caller's uninitialized buffer.
    assert!(got.len() > 8 * 1024, "one poll read {} bytes", got.len());
    assert!(got.iter().all(|&b| b == 7));
}

#[corio::test]
async fn the_zero_filling_path_reads_the_same_bytes() {
    let (mut peer, stream) = common::tcp_pair().await;
    let mut io = HyperIo::zero_filling(stream);
    peer.write_all(b"hello").await.unwrap();
    assert_eq!(read_some(&mut io, 4096).await, b"hello");
    assert_eq!(try_read_once(&mut io).await, None);
}

#[corio::test]
async fn corio_streams_write_vectored_and_others_are_flattened() {
    let (_peer, stream) = common::tcp_pair().await;
    assert!(HyperIo::new(stream).is_write_vectored());
    let (a, _b) = UnixStream::pair().unwrap();
    assert!(HyperIo::new(a).is_write_vectored());
    // A futures-io type that is not a corio stream goes through the fallback.
    let cursor = futures_util::io::Cursor::new(Vec::<u8>::new());
    assert!(!HyperIo::new(cursor).is_write_vectored());
}

#[corio::test]
async fn vectored_writes_reach_the_peer_whole() {
    let (mut peer, stream) = common::tcp_pair().await;
    let mut io = HyperIo::new(stream);
    let bufs = [
        std::io::IoSlice::new(b"head "),
        std::io::IoSlice::new(b"and "),
        std::io::IoSlice::new(b"body"),
    ];
    let n = poll_fn(|cx| Pin::new(&mut io).poll_write_vectored(cx, &bufs))
        .await
        .unwrap();
    assert_eq!(n, 13);
    let mut got = [0u8; 13];
    peer.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"head and body");
}

#[corio::test]
async fn the_fallback_reads_and_writes_any_futures_io_stream() {
    let cursor = futures_util::io::Cursor::new(b"from a cursor".to_vec());
    let mut io = HyperIo::new(cursor);
    assert_eq!(read_some(&mut io, 64).await, b"from a cursor");
    assert_eq!(read_some(&mut io, 64).await, b""); // end of the cursor
    let n = poll_fn(|cx| Pin::new(&mut io).poll_write(cx, b"!"))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(io.into_inner().into_inner(), b"from a cursor!");
}
