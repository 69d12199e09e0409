//! `accept` under EMFILE: the test lowers RLIMIT_NOFILE so that no new descriptor can be
//! made. The listener must then back off on a timer (no busy loop: little CPU used), the
//! loop must keep serving the connection it already has, and accepting must resume by
//! itself once the limit is restored. Its own test binary, because the limit is
//! process-wide; in net/tests because it needs libc (setrlimit, getrusage).

#![cfg(any(target_os = "linux", target_os = "android"))]

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use corio_net::{TcpListener, TcpSocket, TcpStream};
use corio_runtime::time::{sleep, timeout};

fn get_nofile() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0, "getrlimit: {}", std::io::Error::last_os_error());
    limit
}

fn set_nofile(limit: libc::rlimit) {
    // SAFETY: setrlimit reads the struct we pass.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Restores the descriptor limit when dropped, even if the test panics.
struct RestoreLimit(libc::rlimit);

impl Drop for RestoreLimit {
    fn drop(&mut self) {
        set_nofile(self.0);
    }
}

/// User + system CPU time of the whole process.
fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we pass.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The lowest descriptor number not in use.
fn lowest_free_fd() -> u64 {
    use std::os::fd::AsRawFd;
    let probe = std::fs::File::open("/dev/null").unwrap();
    probe.as_raw_fd() as u64
}

async fn echo_once(stream: &mut TcpStream, msg: &[u8]) {
    stream.write_all(msg).await.unwrap();
    let mut back = vec![0u8; msg.len()];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(back, msg);
}

#[test]
fn accept_backs_off_while_out_of_fds_and_resumes_after() {
    corio_runtime::run(async {
        timeout(Duration::from_secs(60), scenario())
            .await
            .expect("the test took longer than 60 s");
    });
}

async fn scenario() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Rc::new(Cell::new(0usize));
    let count = accepted.clone();
    corio_runtime::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.expect("accept must not fail");
            count.set(count.get() + 1);
            corio_runtime::spawn(async move {
                let mut buf = [0u8; 256];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });

    let mut first = TcpStream::connect(addr).await.unwrap();
    echo_once(&mut first, b"before").await;
    assert_eq!(accepted.get(), 1);

    // Client sockets made now, so that connecting them later needs no new descriptor.
    let pending: Vec<TcpSocket> = (0..3).map(|_| TcpSocket::new_v4().unwrap()).collect();

    let original = get_nofile();
    let restore = RestoreLimit(original);
    set_nofile(libc::rlimit {
        rlim_cur: lowest_free_fd(),
        rlim_max: original.rlim_max,
    });
    assert_eq!(
        std::fs::File::open("/dev/null").unwrap_err().raw_os_error(),
        Some(libc::EMFILE),
        "the lowered limit must forbid new descriptors"
    );

    // The kernel completes these handshakes; the server's accept4 now fails with EMFILE.
    let mut waiting = Vec::new();
    for socket in pending {
        waiting.push(socket.connect(addr).await.unwrap());
    }

    let cpu_before = cpu_time();
    let wall_before = Instant::now();
    // The loop keeps serving the existing connection meanwhile.
    for round in 0..10 {
        echo_once(&mut first, format!("while at the limit {round}").as_bytes()).await;
        sleep(Duration::from_millis(60)).await;
    }
    let wall = wall_before.elapsed();
    let cpu = cpu_time() - cpu_before;
    assert_eq!(accepted.get(), 1, "nothing can be accepted at the limit");
    assert!(
        cpu * 4 < wall,
        "accept must back off on a timer, not spin: {cpu:?} CPU in {wall:?}"
    );

    drop(restore);
    // Retries come at most 1 s apart, so all three are accepted soon after.
    let deadline = Instant::now() + Duration::from_secs(10);
    while accepted.get() < 4 {
        assert!(
            Instant::now() < deadline,
            "accept did not resume: {} accepted",
            accepted.get()
        );
        sleep(Duration::from_millis(10)).await;
    }
    for (i, stream) in waiting.iter_mut().enumerate() {
        echo_once(stream, format!("after {i}").as_bytes()).await;
    }
    echo_once(&mut first, b"still fine").await;
}
