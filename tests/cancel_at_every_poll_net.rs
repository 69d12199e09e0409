//! Cancel at every poll point, for the network operations: `write` and `write_all` on TCP and
//! Unix streams whose send buffer is full, `TcpListener::accept`, `TcpStream::connect`,
//! `UdpSocket::{recv_from, recv, send_to, send}` and `UnixDatagram::send` on a full send
//! buffer.
//! Each operation is started again and again and dropped at each of its poll points in turn
//! (unpolled; after a pending poll, parked; after the wake-up that follows it, before it sees
//! what it was woken for) until it is allowed to complete; after every drop the test asserts
//! what is conserved: bytes, connections, datagrams, file descriptors.
//!
//! What each operation promises when dropped (the doc comments in `net/src`):
//! * `write` is cancel-safe: a dropped `write` sent nothing; a completed one sent exactly the
//!   `n` it returned.
//! * `write_all` is *not* cancel-safe ("a dropped future may have sent a prefix"): what is
//!   guaranteed, and checked here, is that the peer gets a prefix of the buffer (possibly
//!   empty, possibly all of it), nothing reordered or duplicated, and that the stream stays
//!   usable: the next `write_all` continues the stream right after that prefix.
//! * `accept` is cancel-safe: a dropped `accept` loses no connection (it stays queued).
//! * `connect` dropped closes the half-open socket (no fd leak); the listener sees at most
//!   the connections that got as far as the kernel's handshake, each closed without data.
//! * A dropped datagram receive loses no datagram; a datagram send delivers at most once
//!   (in fact never, once dropped: it sends only in the poll that returns `Ready`).
//!
//! Same driver as `tests/cancel_at_every_poll.rs`:
//! `corio_runtime::testing::{cancel_at_each_poll, poll_then_drop}` under several seeds
//! (`CORIO_SEEDS=N` for more, `CORIO_SEED=S` to replay). Loopback and socket pairs only. The
//! tests of this file run one at a time (a process-wide lock), so that counting
//! `/proc/self/fd` in the connect test sees no other test's sockets.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use corio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixStream};
use corio::sync::Lock;
use corio::task::yield_now;
use corio_runtime::testing::{cancel_at_each_poll, poll_then_drop, DropPoint, Explore};

mod common;
use common::cancel::{jitter, join_or_stranded, turns, within_or_stranded, Others};

/// Seeds per test in the default `cargo test`.
const SEEDS: u64 = 3;
/// The most one seed of one test may take.
const SEED_LIMIT: Duration = Duration::from_secs(30);

/// The tests of this file run one at a time: the fd count of the connect test must not see
/// sockets of tests running beside it.
static SERIAL: Mutex<()> = Mutex::new(());

/// Run `scenario` under each seed (see `Explore`), one test of this file at a time.
#[track_caller]
fn explore_net<F, Fut>(name: &str, scenario: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let _serial: MutexGuard<'_, ()> = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    Explore::new(name)
        .seeds(SEEDS)
        .time_limit(SEED_LIMIT)
        .run(scenario);
}

// ---- stream writes: `write` and `write_all` on a full send buffer ----

/// Byte 0xFF never occurs in the data (see `byte_at`): it marks the end of each trial.
const MARK: u8 = 0xFF;

/// Data byte number `i`: a mix of `i`, so that no shifted copy of the data matches the data
/// (a duplicated or skipped run shows), and never `MARK`.
fn byte_at(i: u64) -> u8 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) % 255) as u8
}

/// Data bytes `start..start + len`.
fn data(start: u64, len: usize) -> Vec<u8> {
    (start..start + len as u64).map(byte_at).collect()
}

type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The byte-stream methods under test, the same on TCP and Unix streams.
trait ByteStream: 'static {
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> LocalBoxFuture<'a, io::Result<usize>>;
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> LocalBoxFuture<'a, io::Result<()>>;
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> LocalBoxFuture<'a, io::Result<usize>>;
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    fn shutdown_write(&self) -> io::Result<()>;
}

macro_rules! byte_stream {
    ($t:ty) => {
        impl ByteStream for $t {
            fn write<'a>(&'a mut self, buf: &'a [u8]) -> LocalBoxFuture<'a, io::Result<usize>> {
                Box::pin(<$t>::write(self, buf))
            }
            fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> LocalBoxFuture<'a, io::Result<()>> {
                Box::pin(<$t>::write_all(self, buf))
            }
            fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> LocalBoxFuture<'a, io::Result<usize>> {
                Box::pin(<$t>::read(self, buf))
            }
            fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                <$t>::try_write(self, buf)
            }
            fn shutdown_write(&self) -> io::Result<()> {
                <$t>::shutdown(self, Shutdown::Write)
            }
        }
    };
}

byte_stream!(TcpStream);
byte_stream!(UnixStream);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteOp {
    Write,
    WriteAll,
}

/// Fill the writer's send buffer (and the peer's receive buffer) with `try_write` until it
/// says `WouldBlock`; every byte taken is appended to `expected`. Returns the bytes taken.
fn fill<S: ByteStream>(writer: &S, next: &mut u64, expected: &mut Vec<u8>) -> usize {
    let mut filled = 0;
    loop {
        let chunk = data(*next, 64 * 1024);
        match writer.try_write(&chunk) {
            Ok(n) => {
                assert!(n > 0, "try_write took no byte");
                expected.extend_from_slice(&chunk[..n]);
                *next += n as u64;
                filled += n;
                assert!(filled < 64 << 20, "the send buffer never fills");
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return filled,
            Err(e) => panic!("try_write failed: {e}"),
        }
    }
}

/// The slow peer: reads 2 KiB at a time, `pace` turns apart, appending to `received`, until
/// the trial's closing `MARK` has arrived (the last byte, as nothing is sent after it until
/// the next trial).
async fn read_until_mark<S: ByteStream>(
    reader: Rc<Lock<S>>,
    received: Rc<RefCell<Vec<u8>>>,
    pace: u64,
) {
    let mut reader = reader.lock().await;
    let mut buf = vec![0u8; 2048];
    loop {
        turns(pace).await;
        let n = within_or_stranded(
            "the peer waiting for the trial's closing write_all(MARK)",
            reader.read(&mut buf),
        )
        .await
        .expect("read failed");
        assert_ne!(n, 0, "EOF before the trial's closing mark");
        let mut received = received.borrow_mut();
        received.extend_from_slice(&buf[..n]);
        if received.last() == Some(&MARK) {
            return;
        }
    }
}

/// Counts of one write scenario, to show which points were reached.
#[derive(Debug, Default)]
struct WriteStats {
    /// Trials whose future was dropped.
    dropped: usize,
    /// Dropped after it had sent part of its buffer (0 < sent < len).
    dropped_mid_way: usize,
}

/// `op` on `writer`, dropped at every poll point, `ROUNDS` times over. Each trial: fill the
/// send buffer, start the slow peer, run `op` with a buffer three times what the socket
/// holds, then close the trial with `write_all(&[MARK])` and wait for the peer to read up to
/// it. What arrived between the previous mark and this one is what the trial's future sent.
async fn write_scenario<S: ByteStream>(
    seed: u64,
    op: WriteOp,
    mut writer: S,
    reader: S,
) -> WriteStats {
    const ROUNDS: u64 = 2;
    let reader = Rc::new(Lock::new(reader));
    let received = Rc::new(RefCell::new(Vec::new()));
    // Every byte known to have been sent, in order: the peer must receive exactly this.
    let mut expected: Vec<u8> = Vec::new();
    let mut next = 0u64;
    let mut stats = WriteStats::default();
    for round in 0..ROUNDS {
        let mut dropped = 0;
        for point in DropPoint::all() {
            let filled = fill(&writer, &mut next, &mut expected);
            assert!(filled > 0, "the peer had not drained the previous trial");
            let peer = corio::spawn(read_until_mark(
                reader.clone(),
                received.clone(),
                jitter(seed, round, point),
            ));
            let len = 3 * filled + 1 + round as usize * 777;
            let payload = data(next, len);
            next += len as u64;

            let operation: LocalBoxFuture<'_, io::Result<usize>> = match op {
                WriteOp::Write => writer.write(&payload),
                WriteOp::WriteAll => {
                    let (w, p) = (&mut writer, &payload);
                    Box::pin(async move { w.write_all(p).await.map(|()| p.len()) })
                }
            };
            let out = within_or_stranded(
                format_args!("{op:?} dropped {point}"),
                poll_then_drop(point, operation),
            )
            .await;
            // The stream stays usable: a later write_all continues it.
            within_or_stranded(
                format_args!("{op:?} dropped {point}: the next write_all"),
                writer.write_all(&[MARK]),
            )
            .await
            .unwrap_or_else(|e| panic!("{op:?} dropped {point}: the next write_all: {e}"));
            join_or_stranded(format_args!("{op:?} dropped {point}: the peer"), peer).await;

            let sent = {
                let received = received.borrow();
                assert!(
                    received.len() > expected.len() && received[..expected.len()] == expected[..],
                    "{op:?} dropped {point}: the bytes before this trial's payload are not \
                     what was written"
                );
                let tail = &received[expected.len()..];
                // The peer stopped at the mark: everything before it came from `op`.
                let sent = tail.len() - 1;
                assert!(
                    sent <= len,
                    "{op:?} dropped {point}: {sent} bytes arrived from a {len}-byte buffer \
                     (duplicated)"
                );
                assert!(
                    tail[..sent] == payload[..sent],
                    "{op:?} dropped {point}: the {sent} bytes that arrived are not a prefix of \
                     the buffer (reordered, duplicated or corrupted)"
                );
                expected.extend_from_slice(tail);
                sent
            };
            let completed = out.is_some();
            match (op, out) {
                (_, Some(Err(e))) => panic!("{op:?} failed: {e}"),
                (WriteOp::Write, Some(Ok(n))) => {
                    assert!(n > 0 && n <= len);
                    assert_eq!(sent, n, "write returned {n}, the peer got {sent}");
                }
                (WriteOp::WriteAll, Some(Ok(_))) => {
                    assert_eq!(
                        sent, len,
                        "write_all returned Ok; the peer got {sent}/{len}"
                    )
                }
                (WriteOp::Write, None) => assert_eq!(
                    sent, 0,
                    "write is documented cancel-safe, but the one dropped {point} sent {sent} \
                     bytes the caller never learned of"
                ),
                // Not cancel-safe: any prefix (checked above).
                (WriteOp::WriteAll, None) => {
                    if sent > 0 && sent < len {
                        stats.dropped_mid_way += 1;
                    }
                }
            }
            if completed {
                break;
            }
            dropped += 1;
        }
        assert!(
            dropped >= 3,
            "unpolled, parked on a full buffer, woken by the peer: {dropped}"
        );
        stats.dropped += dropped;
    }

    // The end: after EOF the peer has exactly the bytes known to be written, nothing more.
    writer.shutdown_write().unwrap();
    let mut reader = reader.lock().await;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = within_or_stranded("the peer reading to EOF", reader.read(&mut buf))
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        received.borrow_mut().extend_from_slice(&buf[..n]);
    }
    let received = received.borrow();
    assert_eq!(received.len(), expected.len(), "bytes lost or invented");
    assert!(*received == expected, "bytes reordered or corrupted");
    stats
}

/// A connected TCP pair on loopback with small buffers (`SO_SNDBUF` on the writer,
/// `SO_RCVBUF` on the reader, fixed, so that Linux does not autotune them): a few trips of
/// the slow peer drain them. Returns (writer, reader).
async fn tcp_pair_with_small_buffers() -> (TcpStream, TcpStream) {
    const SMALL: u32 = 16 * 1024;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(SMALL).unwrap(); // accepted sockets inherit it
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(8).unwrap();
    let client = TcpSocket::new_v4().unwrap();
    client.set_send_buffer_size(SMALL).unwrap();
    let connect = corio::spawn(client.connect(listener.local_addr().unwrap()));
    let (reader, _) = within_or_stranded("accept", listener.accept())
        .await
        .unwrap();
    let writer = join_or_stranded("connect", connect).await.unwrap();
    (writer, reader)
}

#[test]
fn tcp_write_dropped_at_every_poll_point_sends_nothing() {
    explore_net(
        "tcp_write_dropped_at_every_poll_point_sends_nothing",
        |seed| async move {
            let (writer, reader) = tcp_pair_with_small_buffers().await;
            write_scenario(seed, WriteOp::Write, writer, reader).await;
        },
    );
}

#[test]
fn tcp_write_all_dropped_at_every_poll_point_sends_a_prefix_and_the_stream_goes_on() {
    explore_net(
        "tcp_write_all_dropped_at_every_poll_point_sends_a_prefix_and_the_stream_goes_on",
        |seed| async move {
            let (writer, reader) = tcp_pair_with_small_buffers().await;
            let stats = write_scenario(seed, WriteOp::WriteAll, writer, reader).await;
            assert!(
                stats.dropped_mid_way >= 1,
                "no write_all was dropped after a partial write: {stats:?}"
            );
        },
    );
}

#[test]
fn unix_write_dropped_at_every_poll_point_sends_nothing() {
    explore_net(
        "unix_write_dropped_at_every_poll_point_sends_nothing",
        |seed| async move {
            let (writer, reader) = UnixStream::pair().unwrap();
            write_scenario(seed, WriteOp::Write, writer, reader).await;
        },
    );
}

#[test]
fn unix_write_all_dropped_at_every_poll_point_sends_a_prefix_and_the_stream_goes_on() {
    explore_net(
        "unix_write_all_dropped_at_every_poll_point_sends_a_prefix_and_the_stream_goes_on",
        |seed| async move {
            let (writer, reader) = UnixStream::pair().unwrap();
            let stats = write_scenario(seed, WriteOp::WriteAll, writer, reader).await;
            assert!(
                stats.dropped_mid_way >= 1,
                "no write_all was dropped after a partial write: {stats:?}"
            );
        },
    );
}

// ---- accept ----

#[test]
fn tcp_accept_dropped_at_every_poll_point_loses_no_connection() {
    explore_net(
        "tcp_accept_dropped_at_every_poll_point_loses_no_connection",
        |seed| async move {
            let listener = &TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // Ids of the clients that connected, and of the connections accepted (each
            // client writes its id first). Client streams stay open to the end.
            let made = &RefCell::new(Vec::<u32>::new());
            let accepted = &RefCell::new(Vec::<u32>::new());
            let held = &Rc::new(RefCell::new(Vec::<TcpStream>::new()));
            let next = &Cell::new(0u32);
            let others = &Others::default();
            let dropped = cancel_at_each_poll(
                |point| {
                    // Two clients connect a few turns later (after our first poll).
                    for c in 0..2u64 {
                        let id = next.replace(next.get() + 1);
                        made.borrow_mut().push(id);
                        let held = held.clone();
                        others.spawn(async move {
                            turns(1 + jitter(seed, c, point)).await;
                            let mut s = within_or_stranded("connect", TcpStream::connect(addr))
                                .await
                                .unwrap();
                            within_or_stranded("write the id", s.write_all(&id.to_le_bytes()))
                                .await
                                .unwrap();
                            held.borrow_mut().push(s);
                        });
                    }
                    listener.accept()
                },
                |point, out| async move {
                    let mut streams = Vec::new();
                    if let Some(r) = out {
                        streams.push(r.expect("accept failed").0);
                    }
                    // Both clients are connected: their handshakes are done.
                    others.finish(point).await;
                    // Every connection made is accepted by a later accept: none was lost
                    // with the dropped one.
                    while accepted.borrow().len() + streams.len() < made.borrow().len() {
                        let (s, _) = within_or_stranded(
                            format_args!(
                                "accept dropped {point}: a later accept (a connection lost?)"
                            ),
                            listener.accept(),
                        )
                        .await
                        .expect("accept failed");
                        streams.push(s);
                    }
                    for mut s in streams {
                        let mut id = [0u8; 4];
                        within_or_stranded("read the id", s.read_exact(&mut id))
                            .await
                            .unwrap();
                        accepted.borrow_mut().push(u32::from_le_bytes(id));
                    }
                    let mut got = accepted.borrow().clone();
                    got.sort_unstable();
                    assert_eq!(
                        got,
                        *made.borrow(),
                        "accept dropped {point}: each connection accepted exactly once"
                    );
                },
            )
            .await;
            assert!(
                dropped >= 3,
                "unpolled, parked, woken by a client: {dropped}"
            );
            // No phantom connection is left queued: one poll of accept finds nothing.
            let extra = poll_then_drop(DropPoint::after(1, false), listener.accept()).await;
            assert!(extra.is_none(), "a connection nobody made: {extra:?}");
        },
    );
}

// ---- connect ----

/// Open file descriptors of this process (Linux); `None` elsewhere.
fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|dir| dir.count())
}

#[test]
fn tcp_connect_dropped_at_every_poll_point_leaks_no_fd_and_leaves_no_live_connection() {
    explore_net(
        "tcp_connect_dropped_at_every_poll_point_leaks_no_fd_and_leaves_no_live_connection",
        |_seed| async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let base = open_fds();
            let polled = &Cell::new(0usize); // connects polled at least once
            let connected = &RefCell::new(None::<TcpStream>);
            let dropped = cancel_at_each_poll(
                |point| {
                    if point.polls() > 0 {
                        polled.set(polled.get() + 1);
                    }
                    TcpStream::connect(addr)
                },
                |point, out| async move {
                    match out {
                        None => assert_eq!(
                            open_fds(),
                            base,
                            "connect dropped {point}: its socket is still open"
                        ),
                        Some(r) => {
                            let stream = r.expect("connect failed");
                            assert_eq!(open_fds(), base.map(|n| n + 1));
                            *connected.borrow_mut() = Some(stream);
                        }
                    }
                },
            )
            .await;
            // A non-blocking connect says EINPROGRESS even on loopback (Linux), so it parks.
            assert!(dropped >= 3, "unpolled, parked, handshake done: {dropped}");

            // The listener's side, in handshake order: the connections of dropped connects
            // (if their handshake got that far) are closed and carry nothing; then the one
            // that completed, which works.
            let mut client = connected.take().unwrap();
            within_or_stranded("client write", client.write_all(b"?"))
                .await
                .unwrap();
            let mut closed = 0;
            let mut server = loop {
                let (mut s, _) = within_or_stranded(
                    "accepting the connection that completed",
                    listener.accept(),
                )
                .await
                .unwrap();
                let mut b = [0u8; 1];
                match within_or_stranded("server read", s.read(&mut b)).await {
                    Ok(1) => {
                        assert_eq!(b[0], b'?');
                        break s;
                    }
                    Ok(0) => closed += 1,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => closed += 1,
                    other => panic!("a dropped connect's connection: {other:?}"),
                }
            };
            assert!(
                closed < polled.get(),
                "{closed} closed connections, but only {} connects were polled (one completed)",
                polled.get()
            );
            let extra = poll_then_drop(DropPoint::after(1, false), listener.accept()).await;
            assert!(extra.is_none(), "more connections than connects: {extra:?}");
            // A later connect works both ways.
            within_or_stranded("server write", server.write_all(b"!"))
                .await
                .unwrap();
            let mut b = [0u8; 1];
            within_or_stranded("client read", client.read_exact(&mut b))
                .await
                .unwrap();
            assert_eq!(&b, b"!");
            drop((client, server));
            assert_eq!(open_fds(), base, "file descriptors leaked");
        },
    );
}

// ---- datagrams ----

/// Datagram `id`: its id, then 0..700 data bytes (the length varies with the id).
fn datagram(id: u32) -> Vec<u8> {
    let mut d = id.to_le_bytes().to_vec();
    d.extend(data(u64::from(id) << 20, (id as usize * 277) % 700));
    d
}

/// The id of a received datagram, which must be whole.
fn datagram_id(d: &[u8]) -> u32 {
    assert!(d.len() >= 4, "a datagram of {} bytes", d.len());
    let id = u32::from_le_bytes(d[..4].try_into().unwrap());
    assert!(
        d == datagram(id),
        "datagram {id} cut or corrupted: {} bytes",
        d.len()
    );
    id
}

/// `recv_from` (or, `connected`, `recv`) dropped at each poll point; two datagrams sent a
/// few turns after its first poll. After each drop, later receives get every datagram sent,
/// exactly once and whole.
async fn udp_recv_scenario(seed: u64, connected: bool) {
    let rx = &UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tx = Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let (rx_addr, tx_addr) = (rx.local_addr().unwrap(), tx.local_addr().unwrap());
    if connected {
        rx.connect(tx_addr).await.unwrap();
    }
    let recv = move || async move {
        let mut buf = vec![0u8; 2048];
        let n = if connected {
            rx.recv(&mut buf).await?
        } else {
            let (n, from) = rx.recv_from(&mut buf).await?;
            assert_eq!(from, tx_addr);
            n
        };
        buf.truncate(n);
        io::Result::Ok(buf)
    };
    let made = &RefCell::new(Vec::<u32>::new());
    let got = &RefCell::new(Vec::<u32>::new());
    let next = &Cell::new(0u32);
    let others = &Others::default();
    let dropped = cancel_at_each_poll(
        |point| {
            for c in 0..2u64 {
                let id = next.replace(next.get() + 1);
                made.borrow_mut().push(id);
                let tx = tx.clone();
                others.spawn(async move {
                    turns(1 + jitter(seed, c, point)).await;
                    let d = datagram(id);
                    let n = within_or_stranded("send_to", tx.send_to(&d, rx_addr))
                        .await
                        .unwrap();
                    assert_eq!(n, d.len());
                });
            }
            recv()
        },
        |point, out| async move {
            if let Some(r) = out {
                got.borrow_mut()
                    .push(datagram_id(&r.expect("receive failed")));
            }
            others.finish(point).await;
            // The rest wait in the socket: nothing was taken by the dropped receive.
            while got.borrow().len() < made.borrow().len() {
                let d = within_or_stranded(
                    format_args!("receive dropped {point}: a later receive (a datagram lost?)"),
                    recv(),
                )
                .await
                .expect("receive failed");
                got.borrow_mut().push(datagram_id(&d));
            }
            let mut ids = got.borrow().clone();
            ids.sort_unstable();
            assert_eq!(
                ids,
                *made.borrow(),
                "receive dropped {point}: each datagram exactly once"
            );
        },
    )
    .await;
    assert!(
        dropped >= 3,
        "unpolled, parked, woken by a datagram: {dropped}"
    );
    let mut buf = [0u8; 2048];
    let left = rx.try_recv_from(&mut buf).map(|(n, _)| n);
    assert_eq!(
        left.map_err(|e| e.kind()),
        Err(io::ErrorKind::WouldBlock),
        "a datagram nobody sent"
    );
}

#[test]
fn udp_recv_from_dropped_at_every_poll_point_loses_no_datagram() {
    explore_net(
        "udp_recv_from_dropped_at_every_poll_point_loses_no_datagram",
        |seed| udp_recv_scenario(seed, false),
    );
}

#[test]
fn udp_recv_dropped_at_every_poll_point_loses_no_datagram() {
    explore_net(
        "udp_recv_dropped_at_every_poll_point_loses_no_datagram",
        |seed| udp_recv_scenario(seed, true),
    );
}

/// The end of a trial on the datagram path: `u32::MAX` is never a trial's id.
const END_OF_TRIAL: u32 = u32::MAX;

#[test]
fn udp_send_to_and_send_dropped_at_every_poll_point_deliver_at_most_once_and_whole() {
    explore_net(
        "udp_send_to_and_send_dropped_at_every_poll_point_deliver_at_most_once_and_whole",
        |_seed| async move {
            let rx = &UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let tx = &UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let rx_addr = rx.local_addr().unwrap();
            tx.connect(rx_addr).await.unwrap();
            let next = &Cell::new(0u32);
            for connected in [false, true] {
                let dropped = cancel_at_each_poll(
                    |_point| {
                        let id = next.replace(next.get() + 1);
                        async move {
                            let d = datagram(id);
                            let n = if connected {
                                tx.send(&d).await?
                            } else {
                                tx.send_to(&d, rx_addr).await?
                            };
                            assert_eq!(n, d.len(), "a datagram is sent whole");
                            io::Result::Ok(())
                        }
                    },
                    |point, out| async move {
                        let id = next.get() - 1;
                        // Close the trial with a datagram of its own, then take everything up
                        // to it: what came before is what the trial's send delivered.
                        within_or_stranded(
                            "send the end of the trial",
                            tx.send(&datagram(END_OF_TRIAL)),
                        )
                        .await
                        .unwrap();
                        let mut ids = Vec::new();
                        loop {
                            let mut buf = vec![0u8; 2048];
                            let n = within_or_stranded(
                                "receive up to the end of the trial",
                                rx.recv(&mut buf),
                            )
                            .await
                            .unwrap();
                            match datagram_id(&buf[..n]) {
                                END_OF_TRIAL => break,
                                got => ids.push(got),
                            }
                        }
                        match out {
                            Some(r) => {
                                r.expect("send failed");
                                assert_eq!(ids, [id], "sent {point}: delivered exactly once");
                            }
                            None => assert!(
                                ids.is_empty() || ids == [id],
                                "send dropped {point}: {ids:?} arrived (at most [{id}])"
                            ),
                        }
                    },
                )
                .await;
                // A loopback UDP send never waits (the kernel hands the datagram straight to
                // the receiver or drops it), so the only drop point is before the first poll.
                assert!(dropped >= 1, "{dropped}");
            }
        },
    );
}

/// A Unix datagram send *does* wait: when its send buffer is full of datagrams the peer has
/// not read (for a socket pair the limit is `SO_SNDBUF`, not `net.unix.max_dgram_qlen`; the
/// sender is woken once the peer has read three quarters of them). Dropped at each poll
/// point, a send delivers at most once (here: never); a completed one exactly once; later
/// sends still go through.
#[test]
fn unix_datagram_send_dropped_at_every_poll_point_delivers_at_most_once() {
    explore_net(
        "unix_datagram_send_dropped_at_every_poll_point_delivers_at_most_once",
        |seed| async move {
            let (tx, rx) = UnixDatagram::pair().unwrap();
            let rx = &Rc::new(rx);
            let tx = &tx;
            let next = &Cell::new(0u32);
            // Ids known to have been sent, in order; and all received.
            let sent = &RefCell::new(Vec::<u32>::new());
            let received = &Rc::new(RefCell::new(Vec::<u32>::new()));
            let others = &Others::default();
            // Dropped sends whose datagram arrived all the same (allowed, at most once).
            let delivered_anyway = &Cell::new(0usize);
            let dropped = cancel_at_each_poll(
                |point| {
                    // Fill the send buffer.
                    let mut queued = 0;
                    loop {
                        let id = next.get();
                        match tx.try_send(&datagram(id)) {
                            Ok(_) => {
                                next.set(id + 1);
                                sent.borrow_mut().push(id);
                                queued += 1;
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => panic!("try_send: {e}"),
                        }
                        assert!(queued < 100_000, "the send buffer never fills");
                    }
                    assert!(queued > 0, "the peer had not drained the previous trial");
                    // A few turns later the peer reads what is queued (not ours), one datagram
                    // a turn, making room for ours.
                    let (rx, received) = (rx.clone(), received.clone());
                    others.spawn(async move {
                        turns(1 + jitter(seed, 0, point)).await;
                        let mut buf = vec![0u8; 2048];
                        for _ in 0..queued {
                            let n = within_or_stranded("the peer's recv", rx.recv(&mut buf))
                                .await
                                .unwrap();
                            received.borrow_mut().push(datagram_id(&buf[..n]));
                            yield_now().await;
                        }
                    });
                    let id = next.replace(next.get() + 1);
                    async move { tx.send(&datagram(id)).await }
                },
                |point, out| async move {
                    others.finish(point).await;
                    let id = next.get() - 1;
                    if let Some(r) = &out {
                        r.as_ref().expect("send failed");
                        sent.borrow_mut().push(id);
                    }
                    // Drain the peer: every datagram known sent arrives exactly once, in
                    // order; a dropped send's datagram may be there too, at most once.
                    let mut buf = vec![0u8; 2048];
                    loop {
                        match rx.try_recv(&mut buf) {
                            Ok(n) => received.borrow_mut().push(datagram_id(&buf[..n])),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => panic!("try_recv: {e}"),
                        }
                    }
                    let received = received.borrow();
                    // A dropped send's datagram may have gone out: then it is the last one.
                    if out.is_none() && received.last() == Some(&id) {
                        delivered_anyway.set(delivered_anyway.get() + 1);
                        sent.borrow_mut().push(id);
                    }
                    assert_eq!(
                        *received,
                        *sent.borrow(),
                        "send dropped {point}: datagrams lost, doubled or reordered"
                    );
                },
            )
            .await;
            assert!(
                dropped >= 3,
                "unpolled, parked on a full queue, woken: {dropped}"
            );
            // Stricter than "at most once", as tokio promises for its sends: a send dropped
            // before it returned sent nothing.
            assert_eq!(
                delivered_anyway.get(),
                0,
                "a dropped send delivered its datagram"
            );
        },
    );
}
