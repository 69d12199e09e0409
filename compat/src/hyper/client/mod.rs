//! `Client`: a pooled keep-alive HTTP/1.1 client for one corio loop.
//!
//! hyper-util's pooled client (what reqwest is built on) needs `Send` connections, and
//! corio's are not. This one keeps an idle pool per authority (scheme, host, port) on the
//! loop it runs on, drives each connection as a corio task, and puts a connection back into
//! the pool as soon as its response head is in; it is taken again once its body has been read
//! to the end (see `pool.rs`).

mod builder;
mod error;
mod pool;

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use bytes::Bytes;
use corio_net::TcpStream;
use corio_runtime::time::timeout;
use http_body_util::Full;
use hyper::body::{Body, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, HOST};
use hyper::{Request, Response, Uri};

pub use builder::ClientBuilder;
pub use error::{Error, ErrorKind, TryRequestError};

use crate::hyper::HyperIo;
use builder::Config;
use pool::{Key, Pool};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A pooled keep-alive HTTP/1.1 client for one loop. Cloning is cheap and shares the pool.
///
/// * `get(uri).await` and `request(req).await` return hyper's `Response<Incoming>`; read the
///   body to the end (e.g. `http_body_util::BodyExt::collect`) and the connection is reused.
///   `try_request(req).await` also hands back a request that failed before it was sent.
/// * Connections are pooled per authority; a request whose pooled connection turns out to be
///   closed before the request went out is retried once on a new connection.
/// * `http://` only (no TLS); a `Host` header is added when the request has none, and the
///   request line carries the origin form (`/path?query`).
/// * The client is `!Send`: it belongs to the loop it is used on, like the connections.
///
/// ```
/// use corio_compat::hyper::client::Client;
/// use corio_compat::hyper::HyperIo;
/// use corio_net::TcpListener;
/// use http_body_util::BodyExt;
///
/// corio_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let url = format!("http://{}/", listener.local_addr().unwrap());
///     corio_runtime::spawn(async move {
///         let (stream, _) = listener.accept().await.unwrap();
///         let svc = hyper::service::service_fn(|_req| async {
///             Ok::<_, std::convert::Infallible>(hyper::Response::new(String::from("hello")))
///         });
///         let _ = hyper::server::conn::http1::Builder::new()
///             .serve_connection(HyperIo::new(stream), svc)
///             .await;
///     });
///     let client = Client::new();
///     for _ in 0..3 {
///         let resp = client.get(url.as_str()).await.unwrap();
///         let body = resp.into_body().collect().await.unwrap().to_bytes();
///         assert_eq!(&body[..], b"hello");
///     }
///     assert_eq!(client.connections_opened(), 1);
/// });
/// ```
pub struct Client<B = Full<Bytes>> {
    shared: Rc<Shared<B>>,
}

struct Shared<B> {
    pool: Pool<B>,
    config: Config,
    opened: Cell<u64>,
}

impl Client<Full<Bytes>> {
    /// A client with the default settings (no timeouts, up to 32 pooled connections per
    /// authority), sending `Full<Bytes>` bodies.
    ///
    /// ```
    /// let client = corio_compat::hyper::client::Client::new();
    /// assert_eq!(client.pooled(), 0);
    /// ```
    pub fn new() -> Client<Full<Bytes>> {
        Client::from_config(Config::default())
    }
}

impl Default for Client<Full<Bytes>> {
    fn default() -> Client<Full<Bytes>> {
        Client::new()
    }
}

impl<B> Client<B> {
    /// Settings: timeouts, pool size (see [`ClientBuilder`]).
    ///
    /// ```
    /// let client: corio_compat::hyper::client::Client = corio_compat::hyper::client::Client::builder()
    ///     .request_timeout(std::time::Duration::from_secs(5))
    ///     .build();
    /// # drop(client);
    /// ```
    pub fn builder() -> ClientBuilder<B> {
        ClientBuilder::new()
    }

    fn from_config(config: Config) -> Client<B> {
        Client {
            shared: Rc::new(Shared {
                pool: Pool::new(config.max_idle_per_host),
                config,
                opened: Cell::new(0),
            }),
        }
    }

    /// How many TCP connections this client (and its clones) has opened so far.
    ///
    /// ```
    /// assert_eq!(corio_compat::hyper::client::Client::new().connections_opened(), 0);
    /// ```
    pub fn connections_opened(&self) -> u64 {
        self.shared.opened.get()
    }

    /// How many connections sit in the pool now (ready, or still finishing a response body).
    ///
    /// ```
    /// assert_eq!(corio_compat::hyper::client::Client::new().pooled(), 0);
    /// ```
    pub fn pooled(&self) -> usize {
        self.shared.pool.len()
    }
}

impl<B> Clone for Client<B> {
    fn clone(&self) -> Client<B> {
        Client {
            shared: self.shared.clone(),
        }
    }
}

impl<B> fmt::Debug for Client<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.shared.config)
            .field("pooled", &self.pooled())
            .field("connections_opened", &self.connections_opened())
            .finish()
    }
}

impl<B> Client<B>
where
    B: Body + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// `GET uri` with an empty body.
    ///
    /// ```
    /// use corio_compat::hyper::client::{Client, ErrorKind};
    /// corio_runtime::run(async {
    ///     // Port 1 on loopback: nobody listens there.
    ///     let err = Client::new().get("http://127.0.0.1:1/").await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::Connect);
    /// });
    /// ```
    pub async fn get<U>(&self, uri: U) -> Result<Response<Incoming>, Error>
    where
        B: Default,
        Uri: TryFrom<U>,
        <Uri as TryFrom<U>>::Error: Into<hyper::http::Error>,
    {
        let uri = Uri::try_from(uri).map_err(|e| {
            Error::new(ErrorKind::InvalidUri, "the URI does not parse").with_source(e.into())
        })?;
        let mut req = Request::new(B::default());
        *req.uri_mut() = uri;
        self.request(req).await
    }

    /// Send `req` (its URI must be absolute: `http://host[:port]/path`) on a pooled
    /// connection, or a new one, and return the response once its head is in.
    ///
    /// ```
    /// use corio_compat::hyper::client::{Client, ErrorKind};
    /// corio_runtime::run(async {
    ///     let req = hyper::Request::post("ftp://127.0.0.1/").body(Default::default()).unwrap();
    ///     let err = Client::new().request(req).await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::UnsupportedScheme);
    /// });
    /// ```
    pub async fn request(&self, req: Request<B>) -> Result<Response<Incoming>, Error> {
        self.try_request(req)
            .await
            .map_err(TryRequestError::into_error)
    }

    /// [`request`](Self::request), but a failure hands the request back when it was never
    /// sent (a bad URI, a refused or timed-out connect, a pooled connection that closed
    /// first), with its URI and headers as they were, so it can be retried or reported.
    ///
    /// ```
    /// use corio_compat::hyper::client::{Client, ErrorKind};
    /// corio_runtime::run(async {
    ///     let req = hyper::Request::get("http://127.0.0.1:1/x").body(Default::default()).unwrap();
    ///     let mut failed = Client::new().try_request(req).await.unwrap_err();
    ///     assert_eq!(failed.error().kind(), ErrorKind::Connect);
    ///     let back = failed.take_request().expect("never sent");
    ///     assert_eq!(back.uri(), "http://127.0.0.1:1/x");
    /// });
    /// ```
    pub async fn try_request(
        &self,
        req: Request<B>,
    ) -> Result<Response<Incoming>, TryRequestError<B>> {
        match self.shared.config.request_timeout {
            None => self.send(req).await,
            // The request is inside the dropped future: it may have gone out, so it is lost.
            Some(limit) => match timeout(limit, self.send(req)).await {
                Ok(result) => result,
                Err(_) => Err(TryRequestError::sent(Error::new(
                    ErrorKind::RequestTimeout,
                    format!("no response within the request timeout of {limit:?}"),
                ))),
            },
        }
    }

    async fn send(&self, req: Request<B>) -> Result<Response<Incoming>, TryRequestError<B>> {
        let key = match key_of(req.uri()) {
            Ok(key) => key,
            Err(e) => return Err(TryRequestError::unsent(e, req)),
        };
        let mut req = OriginForm::apply(req)?;
        let pool = &self.shared.pool;
        if let Some(mut conn) = pool.checkout(&key) {
            match conn.try_send_request(req.request).await {
                Ok(resp) => {
                    pool.put(key, conn);
                    return Ok(resp);
                }
                // The connection closed before the request was written (a server's idle
                // timeout, say): the request came back unsent, so a new connection may take it.
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req.request = unsent,
                    None => return Err(TryRequestError::sent(http_error(e.into_error()))),
                },
            }
        }
        let mut conn = match self.connect(&key).await {
            Ok(conn) => conn,
            Err(e) => return Err(req.unsent(e)),
        };
        match conn.try_send_request(req.request).await {
            Ok(resp) => {
                pool.put(key, conn);
                Ok(resp)
            }
            Err(mut e) => match e.take_message() {
                Some(unsent) => {
                    req.request = unsent;
                    Err(req.unsent(http_error(e.into_error())))
                }
                None => Err(TryRequestError::sent(http_error(e.into_error()))),
            },
        }
    }

    async fn connect(&self, key: &Key) -> Result<SendRequest<B>, Error> {
        let config = &self.shared.config;
        // `Uri::host` keeps an IPv6 literal's brackets; the resolver wants the bare address.
        let host = key.host.trim_start_matches('[').trim_end_matches(']');
        let connecting = TcpStream::connect((host, key.port));
        let connected = match config.connect_timeout {
            None => connecting.await,
            Some(limit) => timeout(limit, connecting).await.map_err(|_| {
                Error::new(
                    ErrorKind::ConnectTimeout,
                    format!("connecting to {key} took longer than {limit:?}"),
                )
            })?,
        };
        let stream = connected.map_err(|e| {
            Error::new(ErrorKind::Connect, format!("could not connect to {key}")).with_source(e)
        })?;
        self.shared.opened.set(self.shared.opened.get() + 1);
        // Best effort: a socket that refuses the option still works, only slower.
        let _ = stream.set_nodelay(config.nodelay);
        let (sender, conn) = http1::handshake(HyperIo::new(stream))
            .await
            .map_err(http_error)?;
        // The connection's own task: it reads responses and ends when the last `SendRequest`
        // is gone (dropped by the pool) and the connection is idle, or on a network error,
        // which the request in flight (if any) reports.
        drop(corio_runtime::spawn(async move {
            let _ = conn.await;
        }));
        Ok(sender)
    }
}

fn http_error(e: hyper::Error) -> Error {
    Error::new(ErrorKind::Http, "the HTTP exchange failed").with_source(e)
}

/// The pool key of an absolute `http://` URI.
fn key_of(uri: &Uri) -> Result<Key, Error> {
    let scheme = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") => "http",
        Some(other) => {
            return Err(Error::new(
                ErrorKind::UnsupportedScheme,
                format!("scheme {other:?} of {uri} is not supported: this client speaks plain http (for https, wrap a TLS stream in HyperIo and use hyper's client::conn)"),
            ))
        }
        None => {
            return Err(Error::new(
                ErrorKind::InvalidUri,
                format!("{uri} is not absolute: the client needs http://host[:port]/path"),
            ))
        }
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::new(ErrorKind::InvalidUri, format!("{uri} has no host")))?;
    Ok(Key {
        scheme,
        host: host.to_ascii_lowercase(),
        port: uri.port_u16().unwrap_or(80),
    })
}

/// A request rewritten for the wire, with what it was before, to hand back unsent.
struct OriginForm<B> {
    request: Request<B>,
    original_uri: Uri,
    added_host: bool,
}

impl<B> OriginForm<B> {
    /// Add `Host` (from the URI's authority, without user info) when missing, and turn the
    /// URI into the origin form an HTTP/1.1 server expects (`/path?query`).
    // The error carries the request back whole, as hyper's own `try_send_request` does.
    #[allow(clippy::result_large_err)]
    fn apply(mut req: Request<B>) -> Result<OriginForm<B>, TryRequestError<B>> {
        let original_uri = req.uri().clone();
        let added_host = !req.headers().contains_key(HOST);
        if added_host {
            let authority = original_uri.authority().map(|a| a.as_str()).unwrap_or("");
            // User info ("user:pass@") is not part of the Host header.
            let host = authority.rsplit('@').next().unwrap_or(authority);
            match HeaderValue::from_str(host) {
                Ok(value) => drop(req.headers_mut().insert(HOST, value)),
                Err(e) => {
                    let error = Error::new(
                        ErrorKind::InvalidUri,
                        "the URI's host is not a valid header value",
                    );
                    return Err(TryRequestError::unsent(error.with_source(e), req));
                }
            }
        }
        let path = original_uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        let mut form = OriginForm {
            request: req,
            original_uri: original_uri.clone(),
            added_host,
        };
        match Uri::try_from(path) {
            Ok(origin) => *form.request.uri_mut() = origin,
            Err(e) => {
                let error = Error::new(ErrorKind::InvalidUri, "the URI's path does not parse");
                return Err(form.unsent(error.with_source(e)));
            }
        }
        Ok(form)
    }

    /// The failure, with the request restored to what the caller passed in.
    fn unsent(mut self, error: Error) -> TryRequestError<B> {
        *self.request.uri_mut() = self.original_uri;
        if self.added_host {
            self.request.headers_mut().remove(HOST);
        }
        TryRequestError::unsent(error, self.request)
    }
}
