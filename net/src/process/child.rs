//! `Child`: a running child process, its piped stdio and its exit.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::process::{ExitStatus, Output};
use std::task::Poll;

use super::reap::{self, ExitWatch};
use super::stdio::{ChildStderr, ChildStdin, ChildStdout};

/// A child process spawned by [`Command`](super::Command).
///
/// Its piped stdio are the public fields, like `std::process::Child`; take them to use them
/// from other tasks. Dropping a `Child` does not kill the process unless
/// [`Command::kill_on_drop`](super::Command::kill_on_drop) was set; either way the exit is
/// reaped later in the background, so no zombie stays.
///
/// ```
/// use corio_net::process::Command;
/// corio_runtime::run(async {
///     let mut child = Command::new("true").spawn().unwrap();
///     assert!(child.wait().await.unwrap().success());
/// });
/// ```
pub struct Child {
    /// The child's stdin, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// `None` only while dropping.
    std: Option<std::process::Child>,
    status: Option<ExitStatus>,
    watch: ExitWatch,
    kill_on_drop: bool,
}

impl Child {
    /// Wrap a freshly spawned std child. On failure the child is killed and reaped later.
    pub(crate) fn new(mut std: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        let watch = ExitWatch::new(std.id());
        let stdin = std.stdin.take();
        let stdout = std.stdout.take();
        let stderr = std.stderr.take();
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            std: Some(std),
            status: None,
            watch,
            // Until the stdio are wrapped, a failure must not leave the child running.
            kill_on_drop: true,
        };
        child.stdin = stdin.map(ChildStdin::new).transpose()?;
        child.stdout = stdout.map(ChildStdout::new).transpose()?;
        child.stderr = stderr.map(ChildStderr::new).transpose()?;
        child.kill_on_drop = kill_on_drop;
        Ok(child)
    }

    fn std(&mut self) -> &mut std::process::Child {
        self.std.as_mut().expect("Child used while dropping")
    }

    /// The OS process id, or `None` once the exit has been collected (the id may then be
    /// reused by another process).
    ///
    /// ```
    /// # use corio_net::process::Command;
    /// # corio_runtime::run(async {
    /// let mut child = Command::new("true").spawn().unwrap();
    /// assert!(child.id().is_some());
    /// child.wait().await.unwrap();
    /// assert!(child.id().is_none());
    /// # });
    /// ```
    pub fn id(&self) -> Option<u32> {
        match (&self.status, &self.std) {
            (None, Some(std)) => Some(std.id()),
            _ => None,
        }
    }

    /// Wait for the child to exit and return its status; closes the child's stdin first (so
    /// a child reading stdin sees EOF). Cancel-safe: call it again after a timeout.
    ///
    /// ```
    /// # use corio_net::process::Command;
    /// # corio_runtime::run(async {
    /// let status = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap().wait().await.unwrap();
    /// assert_eq!(status.code(), Some(3));
    /// # });
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        if let Some(status) = self.status {
            return Ok(status);
        }
        let std = self.std.as_mut().expect("Child used while dropping");
        let status = self.watch.wait(std).await?;
        self.status = Some(status);
        reap::reap_orphans();
        Ok(status)
    }

    /// The exit status if the child has exited, without waiting.
    ///
    /// ```
    /// # use corio_net::process::Command;
    /// # corio_runtime::run(async {
    /// let mut child = Command::new("sleep").arg("5").kill_on_drop(true).spawn().unwrap();
    /// assert!(child.try_wait().unwrap().is_none());
    /// # });
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.std().try_wait()?;
        }
        Ok(self.status)
    }

    /// Send SIGKILL without waiting. `Ok(())` if the child has already exited.
    ///
    /// ```
    /// # use corio_net::process::Command;
    /// # corio_runtime::run(async {
    /// let mut child = Command::new("sleep").arg("5").spawn().unwrap();
    /// child.start_kill().unwrap();
    /// assert!(!child.wait().await.unwrap().success());
    /// # });
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.std().kill()
    }

    /// Send SIGKILL and wait for the exit.
    ///
    /// ```
    /// # use corio_net::process::Command;
    /// # corio_runtime::run(async {
    /// let mut child = Command::new("sleep").arg("5").spawn().unwrap();
    /// child.kill().await.unwrap();
    /// assert!(child.id().is_none());
    /// # });
    /// ```
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Close stdin, read all of stdout and stderr (the piped ones) and wait for the exit.
    ///
    /// ```
    /// # use corio_net::process::Command;
    /// # use std::process::Stdio;
    /// # corio_runtime::run(async {
    /// let child = Command::new("echo").arg("out").stdout(Stdio::piped()).spawn().unwrap();
    /// let output = child.wait_with_output().await.unwrap();
    /// assert_eq!(output.stdout, b"out\n");
    /// assert!(output.status.success());
    /// # });
    /// ```
    pub async fn wait_with_output(self) -> io::Result<Output> {
        self.communicate(&[]).await
    }

    /// Python's `Popen.communicate(input)`: write `input` to stdin and close it, while
    /// reading all of stdout and stderr at the same time (so a child that writes a lot
    /// before reading all its input cannot deadlock), then wait for the exit. A child that
    /// exits without reading all of `input` is not an error. `InvalidInput` if `input` is
    /// not empty but stdin was not piped.
    ///
    /// ```
    /// # use corio_net::process::Command;
    /// # use std::process::Stdio;
    /// # corio_runtime::run(async {
    /// let child = Command::new("tr")
    ///     .args(["a-z", "A-Z"])
    ///     .stdin(Stdio::piped())
    ///     .stdout(Stdio::piped())
    ///     .spawn()
    ///     .unwrap();
    /// let output = child.communicate(b"shout").await.unwrap();
    /// assert_eq!(output.stdout, b"SHOUT");
    /// # });
    /// ```
    pub async fn communicate(mut self, input: &[u8]) -> io::Result<Output> {
        let stdin = self.stdin.take();
        if stdin.is_none() && !input.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "communicate: input given but the child's stdin is not piped (use Stdio::piped())",
            ));
        }
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let feed = async move {
            if let Some(mut stdin) = stdin {
                match stdin.write_all(input).await {
                    // The child closed its stdin early: like Popen, not an error.
                    Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        };
        let read_out = async {
            match stdout.as_mut() {
                Some(s) => s.read_to_end(&mut out).await.map(drop),
                None => Ok(()),
            }
        };
        let read_err = async {
            match stderr.as_mut() {
                Some(s) => s.read_to_end(&mut err).await.map(drop),
                None => Ok(()),
            }
        };
        let (fed, read_out, read_err) = join3(feed, read_out, read_err).await;
        fed?;
        read_out?;
        read_err?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout: out,
            stderr: err,
        })
    }
}

/// Run three futures concurrently on this task until all are done.
async fn join3<A: Future, B: Future, C: Future>(
    a: A,
    b: B,
    c: C,
) -> (A::Output, B::Output, C::Output) {
    let (mut a, mut b, mut c) = (pin!(a), pin!(b), pin!(c));
    let (mut ra, mut rb, mut rc) = (None, None, None);
    poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if rc.is_none() {
            if let Poll::Ready(v) = c.as_mut().poll(cx) {
                rc = Some(v);
            }
        }
        match (ra.take(), rb.take(), rc.take()) {
            (Some(a), Some(b), Some(c)) => Poll::Ready((a, b, c)),
            (a, b, c) => {
                (ra, rb, rc) = (a, b, c);
                Poll::Pending
            }
        }
    })
    .await
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut std) = self.std.take() else {
            return;
        };
        if self.status.is_some() {
            return;
        }
        if self.kill_on_drop {
            // Already gone (ESRCH) is fine.
            let _ = std.kill();
        }
        reap::adopt(std);
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.std.as_ref().map(|c| c.id()))
            .field("status", &self.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}
