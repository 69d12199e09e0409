//! hyper 1 on corio: I/O, executor, timer, graceful shutdown and a pooled client.
//!
//! A server, HTTP/1.1:
//!
//! ```
//! use corio_compat::hyper::{HyperIo, Timer};
//! use corio_net::{TcpListener, TcpStream};
//! use hyper::server::conn::http1;
//! use hyper::service::service_fn;
//!
//! corio_runtime::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     corio_runtime::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let svc = service_fn(|_req| async {
//!             Ok::<_, std::convert::Infallible>(hyper::Response::new(String::from("hi")))
//!         });
//!         let conn = http1::Builder::new().timer(Timer).serve_connection(HyperIo::new(stream), svc);
//!         conn.await.unwrap();
//!     });
//!     let mut client = TcpStream::connect(addr).await.unwrap();
//!     client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
//!     let mut reply = Vec::new();
//!     let mut buf = [0u8; 256];
//!     loop {
//!         let n = client.read(&mut buf).await.unwrap();
//!         if n == 0 { break; }
//!         reply.extend_from_slice(&buf[..n]);
//!     }
//!     assert!(reply.starts_with(b"HTTP/1.1 200 OK"));
//!     assert!(reply.ends_with(b"hi"));
//! });
//! ```
//!
//! * [`HyperIo`]: `hyper::rt::Read + Write` over corio's streams (reads go straight into
//!   hyper's uninitialized buffer) and over any futures-io stream (TLS).
//! * [`LocalExecutor`]: `hyper::rt::Executor` for `!Send` futures, for HTTP/2.
//! * [`Timer`]: `hyper::rt::Timer` on corio's wheel; its [`Sleep`] is `Send + Sync` soundly
//!   (bound to its loop's thread, panics elsewhere).
//! * [`GracefulShutdown`]: signal every connection to finish gracefully, wait for them.
//! * [`client::Client`]: a pooled keep-alive HTTP/1.1 client for one loop.

pub mod client;
mod executor;
mod io;
mod shutdown;
mod timer;

pub use client::Client;
pub use executor::LocalExecutor;
pub use io::HyperIo;
pub use shutdown::{GracefulConnection, GracefulShutdown, Watched};
pub use timer::{Sleep, Timer};
