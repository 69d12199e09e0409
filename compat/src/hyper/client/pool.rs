//! The idle pool: hyper `SendRequest`s per authority, for one loop.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use hyper::client::conn::http1::SendRequest;

/// Where a connection goes: scheme, lower-cased host and port (`http://Example.com` and
/// `http://example.com:80` share connections).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub(super) scheme: &'static str,
    pub(super) host: String,
    pub(super) port: u16,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Connections that are not carrying a request right now, per authority.
///
/// A connection comes back here as soon as its response head has arrived, while its body may
/// still be streaming: hyper's `SendRequest::is_ready` turns true only once the body is done
/// (read to the end), so checkout skips it until then. A body dropped half-read makes hyper
/// close the connection, and checkout throws it away (`is_closed`).
pub(super) struct Pool<B> {
    idle: RefCell<HashMap<Key, Vec<SendRequest<B>>>>,
    max_per_key: usize,
}

impl<B> Pool<B> {
    pub(super) fn new(max_per_key: usize) -> Pool<B> {
        Pool {
            idle: RefCell::new(HashMap::new()),
            max_per_key,
        }
    }

    /// A connection to `key` ready for a request, if one is; closed ones are dropped on the way.
    /// The most recently returned connection is preferred (its socket is the warmest, and the
    /// older ones are the first a server times out).
    pub(super) fn checkout(&self, key: &Key) -> Option<SendRequest<B>> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(key)?;
        list.retain(|conn| !conn.is_closed());
        let ready = list.iter().rposition(|conn| conn.is_ready());
        let found = ready.map(|i| list.remove(i));
        if list.is_empty() {
            idle.remove(key);
        }
        found
    }

    /// Give a connection back. Past `max_per_key` the oldest one is dropped (hyper then closes
    /// it once its response, if any, is done).
    pub(super) fn put(&self, key: Key, conn: SendRequest<B>) {
        if self.max_per_key == 0 || conn.is_closed() {
            return;
        }
        let mut idle = self.idle.borrow_mut();
        let list = idle.entry(key).or_default();
        if list.len() >= self.max_per_key {
            list.remove(0);
        }
        list.push(conn);
    }

    /// How many connections sit in the pool (ready or still finishing a body).
    pub(super) fn len(&self) -> usize {
        self.idle.borrow().values().map(Vec::len).sum()
    }
}
