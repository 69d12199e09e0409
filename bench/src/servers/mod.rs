//! The server variants, each in its own file, and the hidden `serve` entry point the sweep
//! starts each server child with.
//!
//! Every variant speaks both workloads: `echo` writes back what it reads; `http` answers
//! [`http::RESPONSE`](crate::http::RESPONSE) to every complete request, several per read if
//! the client pipelines. All set `TCP_NODELAY` on accepted connections.

mod corio;
mod corio_hyper;
mod corio_shards;
mod mio;
mod smol;
mod threads;
mod tokio;
mod tokio_hyper;
mod tokio_mt;

/// The hyper service both hyper variants serve: the `hyper_hello` example's own file.
#[path = "../../../examples/hyper_hello/service.rs"]
mod hyper_service;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};

use crate::cli::{ServeArgs, Variant};
use crate::{runtime_metrics, sys};

/// Run one server variant forever: pin it, bind, print the bound address as the first line of
/// stdout (the parent waits for it), then serve. Returns only on a fatal error. With
/// `--metrics-on-stdin` (corio only) the server also answers runtime-metrics requests on
/// stdin ([`runtime_metrics`]).
pub fn serve(args: &ServeArgs) -> Result<(), String> {
    sys::die_with_parent();
    if let Some(cpu) = args.cpu {
        sys::pin_to_cpu(cpu).map_err(|e| format!("cannot pin the server to CPU {cpu}: {e}"))?;
    }
    if !args.cpus.is_empty() {
        sys::pin_to_cpus(&args.cpus)
            .map_err(|e| format!("cannot pin the server to CPUs {:?}: {e}", args.cpus))?;
    }
    if args.shards > 1 && !matches!(args.variant, Variant::Corio | Variant::TokioMt) {
        return Err(format!(
            "--shards {}: the {} server runs on one thread (only corio and tokio-mt take --shards)",
            args.shards, args.variant
        ));
    }
    let metrics = match (args.metrics_on_stdin, args.variant) {
        (false, _) => None,
        (true, Variant::Corio) => Some(
            runtime_metrics::stdin_socket()
                .map_err(|e| format!("--metrics-on-stdin: stdin is not usable: {e}"))?,
        ),
        (true, other) => {
            return Err(format!(
                "--metrics-on-stdin: the {other} server has no runtime metrics (corio only)"
            ))
        }
    };
    if args.variant == Variant::Corio && args.shards > 1 {
        // Binds its own N listeners (SO_REUSEPORT) and reports the address itself.
        return corio_shards::serve(args.addr, args.workload, args.shards, metrics)
            .map_err(|e| format!("corio server ({} shards): {e}", args.shards));
    }
    let listener =
        TcpListener::bind(args.addr).map_err(|e| format!("cannot bind {}: {e}", args.addr))?;
    report_address(listener.local_addr().map_err(|e| e.to_string())?)?;
    let result = match args.variant {
        Variant::Corio => corio::serve(listener, args.workload, metrics),
        Variant::Threads => threads::serve(listener, args.workload),
        Variant::Tokio => tokio::serve(listener, args.workload),
        Variant::TokioMt => tokio_mt::serve(listener, args.workload, args.shards),
        Variant::Mio => mio::serve(listener, args.workload),
        Variant::CorioHyper => corio_hyper::serve(listener, args.workload),
        Variant::TokioHyper => tokio_hyper::serve(listener, args.workload),
        Variant::Smol => smol::serve(listener, args.workload),
    };
    result.map_err(|e| format!("{} server: {e}", args.variant))
}

/// The hyper variants answer HTTP only: refuse the echo workload with a clear message.
fn http_only(name: &str, workload: crate::cli::Workload) -> std::io::Result<()> {
    match workload {
        crate::cli::Workload::Http => Ok(()),
        crate::cli::Workload::Echo => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("the {name} variant speaks HTTP only: use it with `corio-bench http`"),
        )),
    }
}

/// Print the bound address as the first line of stdout (the parent waits for it).
fn report_address(addr: SocketAddr) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{addr}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot report the address: {e}"))
}

/// Is this accept error about one connection (skip it) rather than the listener?
fn transient_accept_error(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        err.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) || matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
