//! "Hello, World!" over HTTPS: hyper 1 on a futures-rustls TLS stream over corio TCP, with a
//! self-signed certificate made at start by rcgen and written out so clients can verify it.
//!
//! The TLS stream is a plain futures-io stream, so `corio::compat::hyper::HyperIo` takes it
//! through its fallback path (hyper's buffer is zero-filled before each read; corio's own
//! streams are read without that). The certificate is for `localhost` and `127.0.0.1`.
//!
//! What one client can hold: a TLS handshake must finish within 10 s, a request head within
//! 10 s (hyper's `header_read_timeout`), and hyper buffers at most 64 KiB of one head.
//!
//! Run:    cargo run --release --features hyper --example https_hello [ADDR] [CERT_PATH]
//!                     (default 127.0.0.1:8443 and $TMPDIR/corio-https-hello.pem)
//! Drive:  curl --cacert /tmp/corio-https-hello.pem https://localhost:8443/
//!         openssl s_client -connect 127.0.0.1:8443 -CAfile /tmp/corio-https-hello.pem
//! Stop:   Ctrl-C or `kill PID`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use corio::compat::hyper::{HyperIo, Timer};
use corio::net::TcpListener;
use futures_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use futures_rustls::rustls::{self, ServerConfig};
use futures_rustls::TlsAcceptor;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body: &'static [u8] = if req.uri().path() == "/" {
        b"Hello, World!"
    } else {
        b"not found\n"
    };
    let mut resp = Response::new(Full::new(Bytes::from_static(body)));
    if req.uri().path() != "/" {
        *resp.status_mut() = hyper::StatusCode::NOT_FOUND;
    }
    Ok(resp)
}

/// A fresh self-signed certificate (PEM written to `path`) and the TLS config presenting it.
fn tls_config(path: &std::path::Path) -> Result<Arc<ServerConfig>, String> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let made = rcgen::generate_simple_self_signed(names).map_err(|e| format!("rcgen: {e}"))?;
    std::fs::write(path, made.cert.pem())
        .map_err(|e| format!("cannot write the certificate to {}: {e}", path.display()))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("rustls: {e}"))?
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .map_err(|e| format!("rustls: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[corio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8443".into());
    let cert_path = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("corio-https-hello.pem"));
    let acceptor = match tls_config(&cert_path) {
        Ok(config) => TlsAcceptor::from(config),
        Err(e) => {
            eprintln!("https_hello: {e}");
            std::process::exit(1);
        }
    };
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("https_hello: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().unwrap();
    println!(
        "https_hello: https://localhost:{}/ (certificate: {})",
        local.port(),
        cert_path.display()
    );
    let stop = corio::sync::CancellationToken::new();
    let stopper = stop.clone();
    corio::spawn(async move {
        let _ = corio::signal::shutdown().await;
        stopper.cancel();
    });
    while let Some(accepted) = stop.run_until_cancelled(listener.accept()).await {
        let Ok((tcp, peer)) = accepted else { continue };
        let acceptor = acceptor.clone();
        corio::spawn(async move {
            let handshake = corio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
            let tls = match handshake.await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return eprintln!("https_hello: TLS handshake with {peer}: {e}"),
                Err(_) => return eprintln!("https_hello: TLS handshake with {peer} timed out"),
            };
            let served = hyper::server::conn::http1::Builder::new()
                .timer(Timer)
                .header_read_timeout(Duration::from_secs(10))
                .max_buf_size(64 * 1024)
                .serve_connection(HyperIo::new(tls), hyper::service::service_fn(hello))
                .await;
            if let Err(e) = served {
                eprintln!("https_hello: {peer}: {e}");
            }
        });
    }
    println!("https_hello: stopped");
}
