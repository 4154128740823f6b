//! Addresses: what `bind`, `connect` and `send_to` accept, and how names resolve.
//!
//! The forms are those of `std::net::ToSocketAddrs`: a `SocketAddr`, a string
//! such as `"127.0.0.1:8080"` or `"localhost:8080"`, a `(host, port)` pair, or a
//! slice of addresses. A *literal* (an IP address written out) is parsed right
//! here, with no allocation and no thread hop. Only a *name* is resolved, and
//! since `getaddrinfo` blocks, that happens on the blocking pool
//! ([`kiwi_runtime::spawn_blocking`]) so that no worker stalls on DNS.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Something that names one or more socket addresses.
///
/// Implemented for the forms kiwi's `bind`, `connect` and `send_to` accept:
/// `SocketAddr`, `&str`, `String`, `(&str, u16)`, `(String, u16)`,
/// `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)` and `&[SocketAddr]`
/// (and references to them). The trait is sealed; its method is an
/// implementation detail.
///
/// # Examples
///
/// ```
/// # kiwi_runtime::block_on(async {
/// use kiwi_net::AsyncUdpSocket;
/// // All of these are literals: none touches the blocking pool.
/// let a = AsyncUdpSocket::bind("127.0.0.1:0").await?;
/// let b = AsyncUdpSocket::bind(("127.0.0.1", 0)).await?;
/// let c = AsyncUdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
/// # let _ = (a, b, c);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub trait ToSocketAddrs: sealed::Sealed {
    #[doc(hidden)]
    fn to_target(&self) -> io::Result<Target>;
}

mod sealed {
    pub trait Sealed {}
}

/// What an address argument turned into: addresses already known, or a name to
/// resolve on the blocking pool.
#[doc(hidden)]
#[derive(Debug)]
pub enum Target {
    /// Literal addresses, ready to use.
    Addrs(Vec<SocketAddr>),
    /// One literal address (the common case, kept allocation-free).
    One(SocketAddr),
    /// A host name and port for `getaddrinfo`.
    Name(String, u16),
}

/// Resolves a target to a list of socket addresses (names on the blocking pool).
async fn resolve_target(target: Target) -> io::Result<Vec<SocketAddr>> {
    match target {
        Target::One(a) => Ok(vec![a]),
        Target::Addrs(v) => Ok(v),
        Target::Name(host, port) => {
            let job = kiwi_runtime::spawn_blocking(move || {
                std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                    .map(Iterator::collect)
            });
            job.await
                .map_err(|e| io::Error::other(format!("kiwi: DNS lookup task failed: {e}")))?
        }
    }
}

/// Calls `f` with each address in turn until one succeeds; reports the last
/// error (or `InvalidInput` if there were no addresses).
pub(crate) async fn each_addr<A, T, F, Fut>(addr: &A, mut f: F) -> io::Result<T>
where
    A: ToSocketAddrs + ?Sized,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let target = addr.to_target()?;
    if let Target::One(a) = target {
        return f(a).await; // the literal fast path: no Vec
    }
    let addrs = match target {
        Target::Addrs(v) => v,
        other => resolve_target(other).await?,
    };
    let mut last = None;
    for a in addrs {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "kiwi: the address resolved to no socket addresses",
        )
    }))
}

/// Parses `"host:port"`: a literal becomes an address, anything else a name.
fn parse_str(s: &str) -> io::Result<Target> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(Target::One(a));
    }
    let invalid = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("kiwi: invalid socket address {s:?}"),
        )
    };
    let (host, port) = s.rsplit_once(':').ok_or_else(invalid)?;
    let port: u16 = port.parse().map_err(|_| invalid())?;
    Ok(host_port(host, port))
}

fn host_port(host: &str, port: u16) -> Target {
    match host.parse::<IpAddr>() {
        Ok(ip) => Target::One(SocketAddr::new(ip, port)),
        Err(_) => Target::Name(host.to_string(), port),
    }
}

macro_rules! impl_addr {
    ($($t:ty => |$s:ident| $body:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl ToSocketAddrs for $t {
            fn to_target(&self) -> io::Result<Target> {
                let $s = self;
                $body
            }
        }
    )*};
}

impl_addr! {
    SocketAddr => |s| Ok(Target::One(*s));
    str => |s| parse_str(s);
    String => |s| parse_str(s);
    (&str, u16) => |s| Ok(host_port(s.0, s.1));
    (String, u16) => |s| Ok(host_port(&s.0, s.1));
    (IpAddr, u16) => |s| Ok(Target::One(SocketAddr::new(s.0, s.1)));
    (Ipv4Addr, u16) => |s| Ok(Target::One(SocketAddr::new(IpAddr::V4(s.0), s.1)));
    (Ipv6Addr, u16) => |s| Ok(Target::One(SocketAddr::new(IpAddr::V6(s.0), s.1)));
    [SocketAddr] => |s| Ok(Target::Addrs(s.to_vec()));
    std::net::SocketAddrV4 => |s| Ok(Target::One(SocketAddr::V4(*s)));
    std::net::SocketAddrV6 => |s| Ok(Target::One(SocketAddr::V6(*s)));
}

impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_target(&self) -> io::Result<Target> {
        (**self).to_target()
    }
}

impl<const N: usize> sealed::Sealed for [SocketAddr; N] {}
impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::Addrs(self.to_vec()))
    }
}

impl sealed::Sealed for Vec<SocketAddr> {}
impl ToSocketAddrs for Vec<SocketAddr> {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::Addrs(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_parsed_inline() {
        assert!(matches!(
            "127.0.0.1:80".to_target().unwrap(),
            Target::One(_)
        ));
        assert!(matches!("[::1]:80".to_target().unwrap(), Target::One(_)));
        assert!(matches!(("::1", 80).to_target().unwrap(), Target::One(_)));
        assert!(matches!(
            ("127.0.0.1".to_string(), 80).to_target().unwrap(),
            Target::One(_)
        ));
        assert!(
            matches!("localhost:80".to_target().unwrap(), Target::Name(ref h, 80) if h == "localhost")
        );
        assert!("nonsense".to_target().is_err());
        assert!("host:notaport".to_target().is_err());
    }
}
