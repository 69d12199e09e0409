//! One name for each list of operating systems the crate switches on, so a list is written
//! once and a new OS is added in one place.
//!
//! Each `cfg_*!` macro keeps the items it wraps only on the systems of its list:
//!
//! ```ignore
//! cfg_msg_nosignal! {
//!     { const FLAGS: i32 = libc::MSG_NOSIGNAL; }      // on the listed systems
//!     else { const FLAGS: i32 = 0; }                  // everywhere else (optional)
//! }
//! ```
//!
//! (Not a doc test: the macros are private to the crate.)

/// Expand `items` under `#[cfg(pred)]` and the `else` items under `#[cfg(not(pred))]`.
/// `pred` is one `meta` fragment, so the list each named macro passes is written only there.
macro_rules! cfg_select {
    ([$pred:meta] { $($yes:item)* } else { $($no:item)* }) => {
        $( #[cfg($pred)] $yes )*
        $( #[cfg(not($pred))] $no )*
    };
    ([$pred:meta] $($yes:item)*) => {
        $( #[cfg($pred)] $yes )*
    };
}

/// Systems whose `send(2)` takes `MSG_NOSIGNAL` (the others need `SO_NOSIGPIPE`).
macro_rules! cfg_msg_nosignal {
    ($($body:tt)*) => {
        cfg_select! {
            [any(
                target_os = "linux",
                target_os = "android",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly",
                target_os = "illumos",
                target_os = "solaris"
            )]
            $($body)*
        }
    };
}

/// Apple systems: no `MSG_NOSIGNAL`, but the `SO_NOSIGPIPE` socket option.
macro_rules! cfg_apple {
    ($($body:tt)*) => {
        cfg_select! {
            [any(
                target_os = "macos",
                target_os = "ios",
                target_os = "tvos",
                target_os = "watchos"
            )]
            $($body)*
        }
    };
}

/// Systems where `socket(2)` takes `SOCK_NONBLOCK` (socket2's `Type::nonblocking`), so a
/// socket is born non-blocking in one call.
macro_rules! cfg_sock_nonblock {
    ($($body:tt)*) => {
        cfg_select! {
            [any(
                target_os = "linux",
                target_os = "android",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly",
                target_os = "illumos"
            )]
            $($body)*
        }
    };
}

/// Systems with `SO_REUSEPORT` (socket2 offers it everywhere but Solaris and illumos).
macro_rules! cfg_reuseport {
    ($($body:tt)*) => {
        cfg_select! {
            [not(any(target_os = "solaris", target_os = "illumos"))]
            $($body)*
        }
    };
}

/// Linux and Android: `sigtimedwait` for the SIGPIPE-free pipe write.
macro_rules! cfg_linux_like {
    ($($body:tt)*) => {
        cfg_select! {
            [any(target_os = "linux", target_os = "android")]
            $($body)*
        }
    };
}
