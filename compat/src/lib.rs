//! # corio-compat — corio and the wider async ecosystem
//!
//! Most of the ecosystem needs no glue: corio's streams implement futures-io's `AsyncRead` and
//! `AsyncWrite`, so futures-util, futures-rustls (TLS) and async-tungstenite (WebSocket) run
//! on them unchanged. hyper 1 is the exception: it has its own I/O, executor and timer traits,
//! and hyper-util's ready-made pieces (`TokioIo`, `TokioTimer`, the pooled client) assume
//! tokio or `Send` streams. The [`hyper`] module fills that gap for corio.
//!
//! Use it through the facade: `corio::compat::hyper`, behind the `hyper` feature of `corio`.
//!
//! # Why a crate of its own
//!
//! The hyper glue lives here and not in `corio-net` so that the networking layer takes no
//! dependency on hyper (or on `http`, `h2`, `bytes` ...): builds that do not enable the
//! `hyper` feature compile none of it. It uses only corio's public API — the streams'
//! readiness methods (`poll_read_ready`, `try_read_buf`).
//!
//! # Non-goals
//!
//! * TLS in the client (`https://`): wrap a futures-rustls stream in [`hyper::HyperIo`] and
//!   use hyper's `client::conn` directly.
//! * HTTP/2 in the pooled client (the server side does HTTP/2 with [`hyper::LocalExecutor`]).
//! * Moving connections between loops: everything here is `!Send`, one loop per thread.
//!
//! ```
//! use corio_compat::hyper::{HyperIo, LocalExecutor, Timer};
//! let _ = (LocalExecutor, Timer);
//! corio_runtime::run(async {
//!     let (a, _b) = corio_net::UnixStream::pair().unwrap();
//!     let _io = HyperIo::new(a);
//! });
//! ```
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod hyper;
