//! The pooled client's error type.

use std::error::Error as StdError;
use std::fmt;

type BoxError = Box<dyn StdError + Send + Sync>;

/// What went wrong with a [`Client`](super::Client) request.
///
/// ```
/// use corio_compat::hyper::client::{Client, ErrorKind};
/// corio_runtime::run(async {
///     let err = Client::new().get("https://example.com/").await.unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::UnsupportedScheme);
///     assert!(err.to_string().contains("https"));
/// });
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
    source: Option<BoxError>,
}

/// The kinds of [`Error`].
///
/// ```
/// use corio_compat::hyper::client::ErrorKind;
/// assert_ne!(ErrorKind::ConnectTimeout, ErrorKind::RequestTimeout);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The URI could not be parsed, or has no host (the client needs `http://host[:port]/...`).
    InvalidUri,
    /// The URI's scheme is not `http` (this client speaks plain HTTP/1.1; wrap a TLS stream in
    /// [`HyperIo`](crate::hyper::HyperIo) and use hyper's `client::conn` for HTTPS).
    UnsupportedScheme,
    /// Connecting failed (refused, unreachable, name not resolved); the source is the
    /// `io::Error`.
    Connect,
    /// Connecting took longer than the builder's `connect_timeout`.
    ConnectTimeout,
    /// No response head came within the builder's `request_timeout`.
    RequestTimeout,
    /// hyper reported an HTTP-level failure (a malformed response, the connection closed
    /// mid-response, ...); the source is the `hyper::Error`.
    Http,
}

impl Error {
    pub(super) fn new(kind: ErrorKind, detail: impl Into<String>) -> Error {
        Error {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    pub(super) fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this was.
    ///
    /// ```
    /// use corio_compat::hyper::client::{Client, ErrorKind};
    /// corio_runtime::run(async {
    ///     let err = Client::new().get("/no-host").await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::InvalidUri);
    /// });
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Was it one of the two timeouts?
    ///
    /// ```
    /// use corio_compat::hyper::client::Client;
    /// corio_runtime::run(async {
    ///     assert!(!Client::new().get("/x").await.unwrap_err().is_timeout());
    /// });
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::ConnectTimeout | ErrorKind::RequestTimeout
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// A failed [`Client::try_request`](super::Client::try_request): the error, and the request
/// itself when it was never sent.
///
/// ```
/// use corio_compat::hyper::client::{Client, ErrorKind};
/// corio_runtime::run(async {
///     let req = hyper::Request::get("https://127.0.0.1/").body(Default::default()).unwrap();
///     let failed = Client::new().try_request(req).await.unwrap_err();
///     let (error, request) = failed.into_parts();
///     assert_eq!(error.kind(), ErrorKind::UnsupportedScheme);
///     assert!(request.is_some());
/// });
/// ```
pub struct TryRequestError<B> {
    error: Error,
    request: Option<hyper::Request<B>>,
}

impl<B> TryRequestError<B> {
    pub(super) fn unsent(error: Error, request: hyper::Request<B>) -> TryRequestError<B> {
        TryRequestError {
            error,
            request: Some(request),
        }
    }

    pub(super) fn sent(error: Error) -> TryRequestError<B> {
        TryRequestError {
            error,
            request: None,
        }
    }

    /// What went wrong.
    ///
    /// ```
    /// # use corio_compat::hyper::client::{Client, ErrorKind};
    /// # corio_runtime::run(async {
    /// let req = hyper::Request::get("/relative").body(Default::default()).unwrap();
    /// let failed = Client::new().try_request(req).await.unwrap_err();
    /// assert_eq!(failed.error().kind(), ErrorKind::InvalidUri);
    /// # });
    /// ```
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Take the request back, if it was never sent (`None` once taken, or when it may have
    /// gone out: a request timeout, a connection that failed mid-request).
    ///
    /// ```
    /// # use corio_compat::hyper::client::Client;
    /// # corio_runtime::run(async {
    /// let req = hyper::Request::get("/relative").body(Default::default()).unwrap();
    /// let mut failed = Client::new().try_request(req).await.unwrap_err();
    /// assert!(failed.take_request().is_some());
    /// assert!(failed.take_request().is_none());
    /// # });
    /// ```
    pub fn take_request(&mut self) -> Option<hyper::Request<B>> {
        self.request.take()
    }

    /// Just the error.
    ///
    /// ```
    /// # use corio_compat::hyper::client::Client;
    /// # corio_runtime::run(async {
    /// let req = hyper::Request::get("/relative").body(Default::default()).unwrap();
    /// let error = Client::new().try_request(req).await.unwrap_err().into_error();
    /// assert!(!error.is_timeout());
    /// # });
    /// ```
    pub fn into_error(self) -> Error {
        self.error
    }

    /// The error and the request (if it was never sent).
    ///
    /// ```
    /// # use corio_compat::hyper::client::Client;
    /// # corio_runtime::run(async {
    /// let req = hyper::Request::get("/relative").body(Default::default()).unwrap();
    /// let (_error, request) = Client::new().try_request(req).await.unwrap_err().into_parts();
    /// assert_eq!(request.unwrap().uri(), "/relative");
    /// # });
    /// ```
    pub fn into_parts(self) -> (Error, Option<hyper::Request<B>>) {
        (self.error, self.request)
    }
}

impl<B> fmt::Debug for TryRequestError<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryRequestError")
            .field("error", &self.error)
            .field("request_returned", &self.request.is_some())
            .finish()
    }
}

impl<B> fmt::Display for TryRequestError<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<B> StdError for TryRequestError<B> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.error.source()
    }
}
