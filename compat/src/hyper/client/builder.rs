//! `ClientBuilder`: timeouts and pool size of a [`Client`].

use std::marker::PhantomData;
use std::time::Duration;

use super::Client;

/// The settings a [`Client`] is built with.
#[derive(Clone, Debug)]
pub(super) struct Config {
    pub(super) connect_timeout: Option<Duration>,
    pub(super) request_timeout: Option<Duration>,
    pub(super) max_idle_per_host: usize,
    pub(super) nodelay: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            connect_timeout: None,
            request_timeout: None,
            max_idle_per_host: 32,
            nodelay: true,
        }
    }
}

/// Builds a [`Client`]: `Client::builder().connect_timeout(..).request_timeout(..).build()`.
///
/// ```
/// use corio_compat::hyper::client::Client;
/// use std::time::Duration;
/// corio_runtime::run(async {
///     let client: Client = Client::builder()
///         .connect_timeout(Duration::from_secs(2))
///         .request_timeout(Duration::from_secs(10))
///         .max_idle_per_host(8)
///         .build();
///     assert_eq!(client.connections_opened(), 0);
/// });
/// ```
#[derive(Debug)]
pub struct ClientBuilder<B> {
    config: Config,
    _body: PhantomData<fn(B)>,
}

impl<B> ClientBuilder<B> {
    pub(super) fn new() -> ClientBuilder<B> {
        ClientBuilder {
            config: Config::default(),
            _body: PhantomData,
        }
    }

    /// Give up on a connect (resolving the name and the TCP handshake) after `timeout`
    /// (default: no limit but the OS's). The request fails with
    /// [`ErrorKind::ConnectTimeout`](super::ErrorKind::ConnectTimeout).
    ///
    /// ```
    /// # use corio_compat::hyper::client::Client;
    /// let builder = Client::<http_body_util::Full<bytes::Bytes>>::builder()
    ///     .connect_timeout(std::time::Duration::from_millis(500));
    /// # drop(builder);
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder<B> {
        self.config.connect_timeout = Some(timeout);
        self
    }

    /// Give up on a request when its response head has not arrived `timeout` after the call
    /// (connecting included; default: no limit). The body is read by the caller and is not
    /// covered: bound it with `corio::time::timeout` if you need to. The request fails with
    /// [`ErrorKind::RequestTimeout`](super::ErrorKind::RequestTimeout) and its connection is
    /// closed (it may still carry the late response).
    ///
    /// ```
    /// # use corio_compat::hyper::client::Client;
    /// let builder = Client::<http_body_util::Full<bytes::Bytes>>::builder()
    ///     .request_timeout(std::time::Duration::from_secs(30));
    /// # drop(builder);
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> ClientBuilder<B> {
        self.config.request_timeout = Some(timeout);
        self
    }

    /// Keep at most `max` connections per authority in the pool (default 32; 0 turns pooling
    /// off: one connection per request).
    ///
    /// ```
    /// # use corio_compat::hyper::client::Client;
    /// let builder = Client::<http_body_util::Full<bytes::Bytes>>::builder().max_idle_per_host(0);
    /// # drop(builder);
    /// ```
    pub fn max_idle_per_host(mut self, max: usize) -> ClientBuilder<B> {
        self.config.max_idle_per_host = max;
        self
    }

    /// Set `TCP_NODELAY` on new connections (default `true`: a request is one write, and
    /// Nagle would only delay it).
    ///
    /// ```
    /// # use corio_compat::hyper::client::Client;
    /// let builder = Client::<http_body_util::Full<bytes::Bytes>>::builder().nodelay(false);
    /// # drop(builder);
    /// ```
    pub fn nodelay(mut self, nodelay: bool) -> ClientBuilder<B> {
        self.config.nodelay = nodelay;
        self
    }

    /// The client. It belongs to the loop it is used on (its connections are corio tasks).
    ///
    /// ```
    /// # use corio_compat::hyper::client::Client;
    /// let client: Client = Client::builder().build();
    /// # drop(client);
    /// ```
    pub fn build(self) -> Client<B> {
        Client::from_config(self.config)
    }
}
