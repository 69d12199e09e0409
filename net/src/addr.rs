//! Address resolution that never blocks the loop: literals are parsed in place, host names
//! go to the blocking pool (`getaddrinfo` is a blocking call).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Anything that names one or more socket addresses: the async twin of
/// [`std::net::ToSocketAddrs`], with the same implementations (`SocketAddr`, `(IpAddr, u16)`,
/// `(&str, u16)`, `"host:port"` strings, slices of addresses, references to those).
///
/// Literal addresses (`"127.0.0.1:80"`, `"[::1]:80"`, `(ip, port)`) are parsed on the loop
/// without a system call; anything else is a host name, resolved by `getaddrinfo` on the
/// blocking pool so the loop keeps running. This trait is sealed.
///
/// ```
/// use corio_net::lookup_host;
/// corio_runtime::run(async {
///     let addrs: Vec<_> = lookup_host("127.0.0.1:8080").await.unwrap().collect();
///     assert_eq!(addrs, ["127.0.0.1:8080".parse().unwrap()]);
/// });
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use std::io;
    use std::net::SocketAddr;

    /// How to get the addresses.
    #[derive(Debug)]
    pub enum Plan {
        /// Already an address (the fast path: no allocation, no thread).
        One(SocketAddr),
        /// Several literal addresses.
        Many(Vec<SocketAddr>),
        /// A host name for `getaddrinfo`.
        Lookup(String, u16),
    }

    /// The hidden half of `ToSocketAddrs`.
    pub trait ToSocketAddrsPriv {
        /// Parse what can be parsed without asking the OS.
        fn plan(&self) -> io::Result<Plan>;
    }
}

use sealed::{Plan, ToSocketAddrsPriv};

macro_rules! literal_impls {
    ($($t:ty => |$s:ident| $e:expr_2021;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl ToSocketAddrsPriv for $t {
            fn plan(&self) -> io::Result<Plan> {
                let $s = self;
                Ok(Plan::One($e))
            }
        }
    )*};
}

literal_impls! {
    SocketAddr => |s| *s;
    SocketAddrV4 => |s| SocketAddr::V4(*s);
    SocketAddrV6 => |s| SocketAddr::V6(*s);
    (IpAddr, u16) => |s| SocketAddr::new(s.0, s.1);
    (Ipv4Addr, u16) => |s| SocketAddr::new(IpAddr::V4(s.0), s.1);
    (Ipv6Addr, u16) => |s| SocketAddr::new(IpAddr::V6(s.0), s.1);
}

fn host_port(host: &str, port: u16) -> Plan {
    match host.parse::<IpAddr>() {
        Ok(ip) => Plan::One(SocketAddr::new(ip, port)),
        Err(_) => Plan::Lookup(host.to_owned(), port),
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn plan(&self) -> io::Result<Plan> {
        Ok(host_port(self.0, self.1))
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn plan(&self) -> io::Result<Plan> {
        Ok(host_port(&self.0, self.1))
    }
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn plan(&self) -> io::Result<Plan> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(Plan::One(addr));
        }
        let invalid = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid socket address {self:?}: expected \"host:port\""),
            )
        };
        let (host, port) = self.rsplit_once(':').ok_or_else(invalid)?;
        let port = port.parse::<u16>().map_err(|_| invalid())?;
        Ok(host_port(host, port))
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn plan(&self) -> io::Result<Plan> {
        self.as_str().plan()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl ToSocketAddrsPriv for [SocketAddr] {
    fn plan(&self) -> io::Result<Plan> {
        Ok(Plan::Many(self.to_vec()))
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> ToSocketAddrsPriv for [SocketAddr; N] {
    fn plan(&self) -> io::Result<Plan> {
        Ok(Plan::Many(self.to_vec()))
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl ToSocketAddrsPriv for Vec<SocketAddr> {
    fn plan(&self) -> io::Result<Plan> {
        Ok(Plan::Many(self.clone()))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn plan(&self) -> io::Result<Plan> {
        (**self).plan()
    }
}

/// Resolve `addr` to socket addresses, like [`std::net::ToSocketAddrs::to_socket_addrs`] but
/// without blocking the loop: host names are looked up on the blocking pool.
///
/// ```
/// use corio_net::lookup_host;
/// corio_runtime::run(async {
///     for addr in lookup_host(("127.0.0.1", 0)).await.unwrap() {
///         assert!(addr.ip().is_loopback());
///     }
/// });
/// ```
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    Ok(resolve(&addr).await?.into_iter())
}

/// All the addresses of `addr` (at least one, or an error).
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.plan()? {
        Plan::One(a) => vec![a],
        Plan::Many(v) => v,
        Plan::Lookup(host, port) => lookup(host, port).await?,
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no socket address to use: the list was empty or the name resolved to nothing",
        ));
    }
    Ok(addrs)
}

/// The first address of `addr` (for `send_to`: no allocation for literals).
pub(crate) async fn resolve_one<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<SocketAddr> {
    match addr.plan()? {
        Plan::One(a) => Ok(a),
        _ => Ok(resolve(addr).await?[0]),
    }
}

async fn lookup(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    let task = corio_runtime::spawn_blocking(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(|addrs| addrs.collect::<Vec<_>>())
            .map_err(|e| io::Error::new(e.kind(), format!("resolve {host:?}: {e}")))
    });
    task.await
        .map_err(|e| io::Error::other(format!("name resolution task failed: {e}")))?
}

/// Re-wrap `err` with what we were doing, keeping its kind.
pub(crate) fn with_context(err: io::Error, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(err.kind(), format!("{what}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(a: &(impl ToSocketAddrs + ?Sized)) -> Plan {
        a.plan().unwrap()
    }

    #[test]
    fn literals_do_not_need_a_lookup() {
        let want: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert!(matches!(plan("127.0.0.1:80"), Plan::One(a) if a == want));
        assert!(matches!(plan(&("127.0.0.1", 80)), Plan::One(a) if a == want));
        assert!(matches!(plan(&(Ipv4Addr::LOCALHOST, 80)), Plan::One(a) if a == want));
        assert!(matches!(plan("[::1]:80"), Plan::One(a) if a.is_ipv6()));
        assert!(matches!(plan("localhost:80"), Plan::Lookup(h, 80) if h == "localhost"));
    }

    #[test]
    fn malformed_addresses_are_invalid_input() {
        for bad in ["nonsense", "host:99999", "host:"] {
            let err = bad.plan().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
    }
}
