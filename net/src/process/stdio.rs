//! The parent's ends of a child's piped stdin, stdout and stderr, as async streams.
//!
//! They are ordinary pipes (as with Python's `Popen`), set non-blocking on the parent's side
//! only. Pipes have no `MSG_NOSIGNAL`, so stdin writes block SIGPIPE in the writing thread
//! around the `write` call instead (see `sys::write_pipe`): a child that closed its stdin
//! gives `BrokenPipe`, never a SIGPIPE.

use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use corio_runtime::io::Async;
use mio::unix::pipe::{Receiver, Sender};

use crate::sys;

/// The write end of a child's stdin. Drop it to close the child's stdin (EOF).
///
/// ```
/// use corio_net::process::Command;
/// use std::process::Stdio;
/// corio_runtime::run(async {
///     let mut child = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let mut stdin = child.stdin.take().unwrap();
///     stdin.write_all(b"meow").await.unwrap();
///     drop(stdin);
///     let out = child.wait_with_output().await.unwrap();
///     assert_eq!(out.stdout, b"meow");
/// });
/// ```
pub struct ChildStdin {
    io: Async<Sender>,
}

/// The read end of a child's stdout.
///
/// ```
/// use corio_net::process::Command;
/// use std::process::Stdio;
/// corio_runtime::run(async {
///     let mut child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn().unwrap();
///     let mut out = String::new();
///     child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
///     assert_eq!(out, "hi\n");
///     child.wait().await.unwrap();
/// });
/// ```
pub struct ChildStdout {
    io: Async<Receiver>,
}

/// The read end of a child's stderr.
///
/// ```
/// use corio_net::process::Command;
/// use std::process::Stdio;
/// corio_runtime::run(async {
///     let mut child = Command::new("sh")
///         .args(["-c", "echo oops >&2"])
///         .stderr(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let mut err = Vec::new();
///     child.stderr.take().unwrap().read_to_end(&mut err).await.unwrap();
///     assert_eq!(err, b"oops\n");
///     child.wait().await.unwrap();
/// });
/// ```
pub struct ChildStderr {
    io: Async<Receiver>,
}

impl ChildStdin {
    pub(crate) fn new(stdin: std::process::ChildStdin) -> io::Result<ChildStdin> {
        let sender = Sender::from(stdin);
        sender.set_nonblocking(true)?;
        Ok(ChildStdin {
            io: Async::new(sender)?,
        })
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = ready!(self
            .io
            .poll_write_with(cx, |s| sys::write_pipe(s.as_fd(), buf)))?;
        if n < buf.len() {
            self.io.clear_writable();
        }
        Poll::Ready(Ok(n))
    }

    /// Write some bytes; `BrokenPipe` once the child has closed its stdin. Cancel-safe.
    ///
    /// ```
    /// # use corio_net::process::Command;
    /// # use std::process::Stdio;
    /// # corio_runtime::run(async {
    /// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    /// let n = child.stdin.as_mut().unwrap().write(b"abc").await.unwrap();
    /// assert_eq!(n, 3);
    /// child.wait().await.unwrap(); // closes stdin first
    /// # });
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_write_priv(cx, buf)).await
    }

    /// Write all of `buf`. Not cancel-safe.
    ///
    /// ```
    /// # use corio_net::process::Command;
    /// # use std::process::Stdio;
    /// # corio_runtime::run(async {
    /// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    /// child.stdin.as_mut().unwrap().write_all(b"abc").await.unwrap();
    /// child.wait().await.unwrap();
    /// # });
    /// ```
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl ChildStdout {
    pub(crate) fn new(stdout: std::process::ChildStdout) -> io::Result<ChildStdout> {
        Ok(ChildStdout {
            io: receiver(Receiver::from(stdout))?,
        })
    }
}

impl ChildStderr {
    pub(crate) fn new(stderr: std::process::ChildStderr) -> io::Result<ChildStderr> {
        Ok(ChildStderr {
            io: receiver(Receiver::from(stderr))?,
        })
    }
}

fn receiver(r: Receiver) -> io::Result<Async<Receiver>> {
    r.set_nonblocking(true)?;
    Async::new(r)
}

fn poll_read_pipe(
    io: &Async<Receiver>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let n = ready!(io.poll_read_with(cx, |mut r| r.read(buf)))?;
    if n < buf.len() {
        // A pipe read comes back short only when the pipe is empty.
        io.clear_readable();
    }
    Poll::Ready(Ok(n))
}

async fn read_to_end(io: &Async<Receiver>, out: &mut Vec<u8>) -> io::Result<usize> {
    let start = out.len();
    loop {
        let len = out.len();
        let room = (out.capacity() - len).max(8 * 1024);
        out.resize(len + room, 0);
        let result = std::future::poll_fn(|cx| poll_read_pipe(io, cx, &mut out[len..])).await;
        match result {
            Ok(0) => {
                out.truncate(len);
                return Ok(len - start);
            }
            Ok(n) => out.truncate(len + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => out.truncate(len),
            Err(e) => {
                out.truncate(len);
                return Err(e);
            }
        }
    }
}

/// The reading methods of stdout and stderr.
macro_rules! reader_methods {
    ($ty:ident, $field:ident, $pipe:literal) => {
        impl $ty {
            /// Read some bytes; `Ok(0)` once the child closed its end (usually: it exited).
            /// Cancel-safe.
            ///
            #[doc = concat!("```\n# use corio_net::process::Command;\n\
                # use std::process::Stdio;\n# corio_runtime::run(async {\n\
                let mut child = Command::new(\"sh\").args([\"-c\", \"echo hi", $pipe, "\"])\n\
                \x20   .", stringify!($field), "(Stdio::piped()).spawn().unwrap();\n\
                let mut buf = [0u8; 16];\n\
                let n = child.", stringify!($field), ".as_mut().unwrap().read(&mut buf).await.unwrap();\n\
                assert!(n > 0);\nchild.wait().await.unwrap();\n# });\n```")]
            pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                std::future::poll_fn(|cx| poll_read_pipe(&self.io, cx, buf)).await
            }

            /// Read until EOF, appending to `out`; returns the bytes read. Not cancel-safe
            /// beyond what is already appended.
            ///
            #[doc = concat!("```\n# use corio_net::process::Command;\n\
                # use std::process::Stdio;\n# corio_runtime::run(async {\n\
                let mut child = Command::new(\"sh\").args([\"-c\", \"echo hi", $pipe, "\"])\n\
                \x20   .", stringify!($field), "(Stdio::piped()).spawn().unwrap();\n\
                let mut all = Vec::new();\n\
                child.", stringify!($field), ".as_mut().unwrap().read_to_end(&mut all).await.unwrap();\n\
                assert_eq!(all, b\"hi\\n\");\nchild.wait().await.unwrap();\n# });\n```")]
            pub async fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
                read_to_end(&self.io, out).await
            }

            /// Read until EOF, appending to `out`; `InvalidData` if the bytes are not UTF-8
            /// (then `out` is unchanged).
            ///
            #[doc = concat!("```\n# use corio_net::process::Command;\n\
                # use std::process::Stdio;\n# corio_runtime::run(async {\n\
                let mut child = Command::new(\"sh\").args([\"-c\", \"echo hi", $pipe, "\"])\n\
                \x20   .", stringify!($field), "(Stdio::piped()).spawn().unwrap();\n\
                let mut text = String::new();\n\
                child.", stringify!($field), ".as_mut().unwrap().read_to_string(&mut text).await.unwrap();\n\
                assert_eq!(text, \"hi\\n\");\nchild.wait().await.unwrap();\n# });\n```")]
            pub async fn read_to_string(&mut self, out: &mut String) -> io::Result<usize> {
                let mut bytes = Vec::new();
                let n = read_to_end(&self.io, &mut bytes).await?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "the child's output is not UTF-8")
                })?;
                out.push_str(&text);
                Ok(n)
            }
        }

        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                poll_read_pipe(&self.io, cx, buf)
            }
        }
    };
}

reader_methods!(ChildStdout, stdout, "");
reader_methods!(ChildStderr, stderr, " >&2");

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// A pipe cannot be half-closed: drop the `ChildStdin` to close it.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

macro_rules! fd_impls {
    ($($ty:ident),*) => {$(
        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.io.as_raw_fd()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).field("fd", &self.as_raw_fd()).finish()
            }
        }
    )*};
}

fd_impls!(ChildStdin, ChildStdout, ChildStderr);
