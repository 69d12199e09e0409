//! The raw OS calls that std, mio and socket2 do not offer, each behind a safe function.
//! This is the only module of the crate with `unsafe` code.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use socket2::{Domain, Protocol, Socket, Type};

cfg_msg_nosignal! {
    {
        /// Flags for every `send` on a stream socket: never raise SIGPIPE, report `EPIPE`
        /// instead.
        pub(crate) const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
    } else {
        /// Apple systems have no `MSG_NOSIGNAL`: sockets get `SO_NOSIGPIPE` instead
        /// ([`no_sigpipe`]).
        pub(crate) const SEND_FLAGS: libc::c_int = 0;
    }
}

cfg_apple! {
    {
        /// Set `SO_NOSIGPIPE` where the OS has it (Apple); elsewhere `MSG_NOSIGNAL` does
        /// the job.
        pub(crate) fn no_sigpipe(fd: BorrowedFd<'_>) -> io::Result<()> {
            socket2::SockRef::from(&fd).set_nosigpipe(true)
        }
    } else {
        /// Set `SO_NOSIGPIPE` where the OS has it (Apple); elsewhere `MSG_NOSIGNAL` does
        /// the job.
        pub(crate) fn no_sigpipe(_fd: BorrowedFd<'_>) -> io::Result<()> {
            Ok(())
        }
    }
}

cfg_sock_nonblock! {
    {
        /// The stream socket type, born non-blocking where `socket(2)` can do that.
        fn stream_type() -> Type {
            Type::STREAM.nonblocking()
        }
    } else {
        /// The stream socket type (made non-blocking after `socket(2)` here).
        fn stream_type() -> Type {
            Type::STREAM
        }
    }
}

/// A new stream socket (TCP or Unix), non-blocking, close-on-exec and SIGPIPE-free: the one
/// constructor behind `TcpSocket` and `UnixStream::connect`.
pub(crate) fn stream_socket(domain: Domain, protocol: Option<Protocol>) -> io::Result<Socket> {
    let socket = Socket::new(domain, stream_type(), protocol)?;
    // Where the type could not say it (Apple), and harmless where it did.
    socket.set_nonblocking(true)?;
    no_sigpipe(socket.as_fd())?;
    Ok(socket)
}

/// `recv(fd, buf, MSG_PEEK)`: read without consuming (std has no `peek` for Unix streams).
pub(crate) fn peek(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call and `fd` is a
    // live descriptor borrowed for the call; recv writes at most `len` bytes.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_PEEK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Errors of `accept` that mean "this process or the system is out of a resource": the
/// listener backs off on a timer instead of spinning. `ENOSPC` comes from `epoll_ctl` when
/// the watch limit is reached while registering an accepted socket.
pub(crate) fn is_resource_exhaustion(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::ENOSPC)
    )
}

/// Errors of `accept` about one pending connection, not the listener: retry at once.
/// (`ECONNABORTED`, plus the network errors Linux passes up from the new socket; see
/// accept(2), "Error handling".)
pub(crate) fn is_transient_accept_error(err: &io::Error) -> bool {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
    ) {
        return true;
    }
    matches!(
        err.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EPROTO
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETDOWN
                | libc::ENETUNREACH
        )
    )
}

/// `EINPROGRESS` from a non-blocking `connect`.
pub(crate) fn is_in_progress(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::EINPROGRESS)
}

/// `pidfd_open(pid, 0)`: a descriptor that turns readable when the process exits (Linux 5.3+).
/// The descriptor is close-on-exec.
#[cfg(target_os = "linux")]
pub(crate) fn pidfd_open(pid: u32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: pidfd_open takes two integers and touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative result is a new descriptor that nobody else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as libc::c_int) })
}

cfg_linux_like! {
    {
        /// Write to a pipe without ever raising SIGPIPE: pipes have no `MSG_NOSIGNAL`, so SIGPIPE
        /// is blocked in this thread around the `write`, and a SIGPIPE that the write raised is
        /// consumed before the old mask comes back. The process-wide disposition is not touched.
        /// Costs two `rt_sigprocmask` calls per write; only child stdin pipes use it.
        pub(crate) fn write_pipe(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
            use std::mem::MaybeUninit;
            use std::ptr;

            let mut sigpipe = MaybeUninit::<libc::sigset_t>::uninit();
            let mut old = MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: sigemptyset/sigaddset initialise the set we pass; pthread_sigmask reads `set`
            // and writes the old mask into `old`, both valid for the call.
            let was_blocked = unsafe {
                libc::sigemptyset(sigpipe.as_mut_ptr());
                libc::sigaddset(sigpipe.as_mut_ptr(), libc::SIGPIPE);
                let rc = libc::pthread_sigmask(libc::SIG_BLOCK, sigpipe.as_ptr(), old.as_mut_ptr());
                if rc != 0 {
                    return Err(io::Error::from_raw_os_error(rc));
                }
                libc::sigismember(old.as_ptr(), libc::SIGPIPE) == 1
            };
            // SAFETY: `buf` is valid for reads of `buf.len()` bytes; `fd` is borrowed for the call.
            let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
            let result = if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            };
            if !was_blocked {
                if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) {
                    let zero = libc::timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    };
                    // SAFETY: `sigpipe` was initialised above; a null info pointer is allowed. Takes
                    // the SIGPIPE our write raised (if any) off this thread's pending set.
                    unsafe { libc::sigtimedwait(sigpipe.as_ptr(), ptr::null_mut(), &zero) };
                }
                // SAFETY: `old` was filled by the pthread_sigmask call above.
                unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), ptr::null_mut()) };
            }
            result
        }
    } else {
        /// Write to a pipe. Without `sigtimedwait` this relies on the SIGPIPE disposition (Rust
        /// programs start with SIGPIPE ignored).
        pub(crate) fn write_pipe(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
            // SAFETY: `buf` is valid for reads of `buf.len()` bytes; `fd` is borrowed for the call.
            let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }
    }
}

pub(crate) mod signals {
    //! The handler behind `signal::Signal` (and so `ctrl_c`, `terminate`, `shutdown`): for
    //! every signal it is installed for, it counts the delivery and writes one byte to a
    //! self-pipe (both async-signal-safe); a thread reading the pipe wakes the tasks.

    use std::io;
    use std::os::fd::RawFd;
    use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

    /// Signal numbers below this can be handled (Linux's real-time signals end at 64).
    pub(crate) const LIMIT: usize = 65;

    // Only used to initialise `COUNTS` (an array of atomics needs a `const` to repeat on the
    // MSRV, which predates inline `const` blocks); never read as a value.
    #[allow(clippy::declare_interior_mutable_const)]
    const ZERO: AtomicUsize = AtomicUsize::new(0);
    /// Deliveries of each signal since its handler was installed.
    static COUNTS: [AtomicUsize; LIMIT] = [ZERO; LIMIT];
    /// Write end of the self-pipe (non-blocking), or -1 before it exists.
    static PIPE: AtomicI32 = AtomicI32::new(-1);

    extern "C" fn on_signal(signum: libc::c_int) {
        if let Some(count) = usize::try_from(signum).ok().and_then(|i| COUNTS.get(i)) {
            count.fetch_add(1, Ordering::SeqCst);
        }
        let fd = PIPE.load(Ordering::SeqCst);
        if fd >= 0 {
            let errno = errno::get();
            let byte = 1u8;
            // SAFETY: write(2) is async-signal-safe; `byte` lives on this stack frame. A full
            // pipe (EAGAIN) is fine: the reader is already due to wake.
            unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
            errno::set(errno);
        }
    }

    /// Deliveries of `signum` counted so far (0 for numbers out of range).
    pub(crate) fn count(signum: libc::c_int) -> usize {
        usize::try_from(signum)
            .ok()
            .and_then(|i| COUNTS.get(i))
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }

    /// Give the handler its self-pipe (the write end, non-blocking; it must stay open for the
    /// rest of the process's life). Call before the first [`install`].
    pub(crate) fn set_pipe(pipe: RawFd) {
        PIPE.store(pipe, Ordering::SeqCst);
    }

    /// Install the handler for `signum` (`SA_RESTART`; `signum` must be below [`LIMIT`]).
    /// Replaces the previous disposition of that signal for the rest of the process's life.
    pub(crate) fn install(signum: libc::c_int) -> io::Result<()> {
        if usize::try_from(signum).map_or(true, |i| i == 0 || i >= LIMIT) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal number {signum} is out of range 1..{LIMIT}"),
            ));
        }
        // SAFETY: a zeroed sigaction is a valid value to start from; we fill the handler,
        // flags and an empty mask, and pass valid pointers to sigaction.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signum, &action, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// The handler must leave `errno` as it found it.
    mod errno {
        #[cfg(target_os = "linux")]
        fn location() -> *mut libc::c_int {
            // SAFETY: returns this thread's errno slot; always valid.
            unsafe { libc::__errno_location() }
        }
        #[cfg(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "dragonfly"
        ))]
        fn location() -> *mut libc::c_int {
            // SAFETY: returns this thread's errno slot; always valid.
            unsafe { libc::__error() }
        }
        #[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))]
        fn location() -> *mut libc::c_int {
            // SAFETY: returns this thread's errno slot; always valid.
            unsafe { libc::__errno() }
        }

        pub(super) fn get() -> libc::c_int {
            // SAFETY: `location` points at this thread's errno.
            unsafe { *location() }
        }

        pub(super) fn set(value: libc::c_int) {
            // SAFETY: `location` points at this thread's errno.
            unsafe { *location() = value }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_are_classified() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            let e = io::Error::from_raw_os_error(errno);
            assert!(is_resource_exhaustion(&e), "{e}");
            assert!(!is_transient_accept_error(&e), "{e}");
        }
        let aborted = io::Error::from_raw_os_error(libc::ECONNABORTED);
        assert!(is_transient_accept_error(&aborted));
        assert!(!is_resource_exhaustion(&aborted));
        let bad = io::Error::from_raw_os_error(libc::EBADF);
        assert!(!is_transient_accept_error(&bad) && !is_resource_exhaustion(&bad));
    }
}
