//! process::Command: piped stdio as async streams, output/communicate, wait, kill,
//! kill_on_drop, errors, and children waited on concurrently without blocking the loop.

#![cfg(unix)]

use std::io::ErrorKind;
use std::process::Stdio;
use std::time::{Duration, Instant};

use corio::process::Command;
use corio::time::{sleep, timeout};

mod common;
use common::bounded;

/// The state letter of /proc/PID/stat, or None when the process is gone (reaped).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    after_name.trim_start().chars().next()
}

#[corio::test]
async fn output_captures_stdout_stderr_and_status() {
    bounded(async {
        let out = Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 7"])
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(7));
        // output() gives the child a null stdin: `cat` ends at once.
        let out = Command::new("cat").output().await.unwrap();
        assert!(out.status.success() && out.stdout.is_empty());
    })
    .await
}

#[corio::test]
async fn communicate_feeds_and_drains_at_once_without_deadlock() {
    bounded(async {
        // 4 MiB through `cat`: far more than a pipe holds, so writing everything before
        // reading would deadlock.
        let input: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
        let child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.communicate(&input).await.unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), input.len());
        assert!(out.stdout == input);
        assert!(out.stderr.is_empty());
    })
    .await
}

#[corio::test]
async fn a_child_that_ignores_its_input_is_not_an_error() {
    bounded(async {
        let child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
        let out = child.communicate(&vec![0u8; 1 << 20]).await.unwrap();
        assert!(out.status.success());
        let no_stdin = Command::new("true").spawn().unwrap();
        let err = no_stdin.communicate(b"x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    })
    .await
}

#[corio::test]
async fn streaming_stdin_and_stdout_line_by_line() {
    bounded(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        for i in 0..20 {
            let line = format!("line {i}\n");
            stdin.write_all(line.as_bytes()).await.unwrap();
            let mut got = vec![0u8; line.len()];
            let mut filled = 0;
            while filled < got.len() {
                let n = stdout.read(&mut got[filled..]).await.unwrap();
                assert!(n > 0, "cat closed early");
                filled += n;
            }
            assert_eq!(got, line.as_bytes());
        }
        drop(stdin); // EOF for cat
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        assert!(child.wait().await.unwrap().success());
    })
    .await
}

#[corio::test]
async fn wait_closes_stdin_and_is_cancel_safe() {
    bounded(async {
        let mut child = Command::new("sh")
            .args(["-c", "cat >/dev/null; sleep 0.2; exit 4"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        // A wait that times out leaves the child alone...
        assert!(timeout(Duration::from_millis(20), child.wait())
            .await
            .is_err());
        assert!(child.try_wait().unwrap().is_none());
        assert_eq!(child.id(), Some(pid));
        // ...and the next one finishes it (stdin was closed by the first wait).
        let status = child.wait().await.unwrap();
        assert_eq!(status.code(), Some(4));
        assert_eq!(child.id(), None);
        assert_eq!(child.try_wait().unwrap(), Some(status));
        assert_eq!(
            child.wait().await.unwrap(),
            status,
            "wait again: same status"
        );
    })
    .await
}

#[corio::test]
async fn kill_ends_a_child_and_collects_it() {
    bounded(async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let started = Instant::now();
        child.kill().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        let status = child.try_wait().unwrap().unwrap();
        assert!(!status.success());
        child.start_kill().unwrap(); // already gone: fine
    })
    .await
}

#[corio::test]
async fn kill_on_drop_is_opt_in() {
    bounded(async {
        // Opted in: dropping the Child kills it (and it is reaped in the background).
        let child = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let killed = child.id().unwrap();
        drop(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(proc_state(killed), Some(s) if s != 'Z') {
            assert!(Instant::now() < deadline, "kill_on_drop did not kill");
            sleep(Duration::from_millis(10)).await;
        }
        // Default: dropping the Child leaves the process running.
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let kept = child.id().unwrap();
        drop(child);
        sleep(Duration::from_millis(100)).await;
        let state = proc_state(kept);
        assert!(
            matches!(state, Some(s) if s != 'Z'),
            "the child should still run, state {state:?}"
        );
        // Clean up with the kill(1) command.
        let status = std::process::Command::new("kill")
            .arg(kept.to_string())
            .status()
            .unwrap();
        assert!(status.success());
    })
    .await
}

#[corio::test]
async fn spawn_errors_keep_their_kind_and_name_the_program() {
    bounded(async {
        let err = Command::new("/definitely/not/here").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("/definitely/not/here"), "{err}");
        let err = Command::new("/definitely/not/here")
            .output()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    })
    .await
}

#[corio::test]
async fn many_children_wait_concurrently_on_one_loop() {
    bounded(async {
        let started = Instant::now();
        let mut handles = Vec::new();
        for i in 0..20 {
            handles.push(corio::spawn(async move {
                Command::new("sh")
                    .args(["-c", &format!("sleep 0.3; echo {i}")])
                    .output()
                    .await
                    .unwrap()
            }));
        }
        for (i, h) in handles.into_iter().enumerate() {
            let out = h.await.unwrap();
            assert_eq!(out.stdout, format!("{i}\n").as_bytes());
        }
        // Sequential waiting would take 6 s.
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    })
    .await
}

#[corio::test]
async fn env_current_dir_and_status() {
    bounded(async {
        let out = Command::new("sh")
            .args(["-c", "echo $CORIO_TEST_VAR; pwd"])
            .env("CORIO_TEST_VAR", "forty-two")
            .current_dir("/")
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"forty-two\n/\n");
        let status = Command::new("false").status().await.unwrap();
        assert_eq!(status.code(), Some(1));
        let cmd = Command::new("true");
        assert!(format!("{cmd:?}").contains("true"));
    })
    .await
}
