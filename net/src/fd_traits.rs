//! `Debug`, `AsFd` and `AsRawFd` for the socket types, written once.
//!
//! `socket_traits!(TcpListener, [local_addr], io)`: the `Debug` output names the
//! type and shows the listed address methods (their `Ok` value, or `None`) and the fd; the
//! trailing tokens reach the inner socket from `self`.

macro_rules! socket_traits {
    ($ty:ident, [$($addr:ident),*], io) => {
        socket_traits!(@impl $ty, [$($addr),*], |s| s.io.get_ref());
    };
    ($ty:ident, [$($addr:ident),*], inner) => {
        socket_traits!(@impl $ty, [$($addr),*], |s| &s.inner);
    };
    (@impl $ty:ident, [$($addr:ident),*], |$s:ident| $inner:expr_2021) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($addr), &self.$addr().ok()))*
                    .field("fd", &::std::os::fd::AsRawFd::as_raw_fd(self))
                    .finish()
            }
        }

        impl ::std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                let $s = self;
                ::std::os::fd::AsFd::as_fd($inner)
            }
        }

        impl ::std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                ::std::os::fd::AsRawFd::as_raw_fd(&::std::os::fd::AsFd::as_fd(self))
            }
        }
    };
}
