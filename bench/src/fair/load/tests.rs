//! The load clients against tiny in-test servers: a starving server shows up as a stuck
//! canary at its age, an answering one gives round trips and hog replies.

use super::*;
use std::net::TcpListener;

/// A loopback echo server whose every connection answers its first `answered` reads,
/// then reads on without answering (a server that starves the connection). Returns its
/// address; its threads end when their client closes.
fn stalling_echo_server(answered: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut reads = 0;
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    reads += 1;
                    if reads <= answered && stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn run_unprobed(spec: &FairSpec) -> Result<FairOutcome, RunError> {
    run(spec, &mut |_| Ok(()))
}

fn spec(addr: SocketAddr, hogs: usize, window: Duration) -> FairSpec {
    FairSpec {
        addr,
        proto: Proto::Echo,
        hogs,
        canaries: 2,
        interval: Duration::from_millis(1),
        warmup: Duration::from_millis(50),
        window,
    }
}

#[test]
fn a_canary_the_server_never_answers_counts_at_its_age_not_as_a_missing_sample() {
    // The first round trip (setup) is answered, the next never is.
    let addr = stalling_echo_server(1);
    let window = Duration::from_millis(300);
    let out = run_unprobed(&spec(addr, 0, window)).unwrap();
    assert_eq!(out.stuck_at_end, 2, "{out:?}");
    assert_eq!(out.canary_round_trips, 2, "{out:?}");
    // Stuck since the warm-up began: at least the whole window.
    assert!(out.max_us >= window.as_micros() as f64, "{out:?}");
}

#[test]
fn an_answering_server_gives_round_trips_and_hog_replies() {
    let addr = stalling_echo_server(usize::MAX);
    let out = run_unprobed(&spec(addr, 1, Duration::from_millis(300))).unwrap();
    assert!(out.canary_round_trips > 10, "{out:?}");
    assert!(out.hog_replies > 0 && out.hog_mib_per_sec > 0.0, "{out:?}");
    assert_eq!(out.canary_errors + out.hog_errors, 0, "{out:?}");
    assert!(
        out.p50_us <= out.p99_us && out.p99_us <= out.max_us,
        "{out:?}"
    );
}

#[test]
fn a_port_nobody_listens_on_is_unreachable() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = run_unprobed(&spec(addr, 1, Duration::from_millis(100))).unwrap_err();
    assert!(matches!(err, RunError::Unreachable(_)), "{err:?}");
}
