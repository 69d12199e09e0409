//! The byte-stream core shared by [`TcpStream`](crate::TcpStream),
//! [`UnixStream`](crate::UnixStream) and their split halves.
//!
//! * [`ops`]: the operations, generic over the registered socket (`Async<T>`): reads that
//!   clear readiness when they come back short, writes with `MSG_NOSIGNAL`, the `try_*` forms,
//!   and the cooperative budget charged by bytes.
//! * `methods.rs`: the public read and write methods (with their docs), expanded into every
//!   stream and half type, so each keeps its own inherent methods and rustdoc page.
//! * `common.rs`: the rest of a stream type's surface (`shutdown`, `split`, `into_std`, the
//!   fd and futures-io traits), expanded once per stream type.

#[macro_use]
mod methods;
#[macro_use]
mod common;

pub(crate) mod ops;
