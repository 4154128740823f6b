//! Socket addresses across the boundary: [`SockAddr`] (a `sockaddr_storage`
//! and its length), converted to and from `std::net::SocketAddr` and Unix paths.

use std::ffi::OsStr;
use std::io::{self};
use std::mem::{self, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `AF_INET`.
    V4,
    /// `AF_INET6`.
    V6,
    /// `AF_UNIX`.
    Unix,
}

/// A socket type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Datagram,
}

impl Family {
    pub(super) fn raw(self) -> libc::c_int {
        match self {
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
            Family::Unix => libc::AF_UNIX,
        }
    }
}

impl Kind {
    pub(super) fn raw(self) -> libc::c_int {
        match self {
            Kind::Stream => libc::SOCK_STREAM,
            Kind::Datagram => libc::SOCK_DGRAM,
        }
    }
}

/// A socket address as the kernel sees it: storage large enough for any family,
/// and the length actually used.
#[derive(Clone, Copy)]
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    pub(super) len: libc::socklen_t,
}

impl std::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.as_inet() {
            Some(a) => write!(f, "SockAddr({a})"),
            None => f
                .debug_struct("SockAddr")
                .field("family", &self.storage.ss_family)
                .field("len", &self.len)
                .finish(),
        }
    }
}

impl SockAddr {
    pub(super) fn zeroed() -> SockAddr {
        // SAFETY: sockaddr_storage is plain data; all-zero is a valid (AF_UNSPEC) value.
        let storage = unsafe { MaybeUninit::<libc::sockaddr_storage>::zeroed().assume_init() };
        SockAddr {
            storage,
            len: mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    pub(super) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    pub(super) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&mut self.storage as *mut libc::sockaddr_storage).cast()
    }

    /// The address of an IPv4 or IPv6 socket.
    pub fn from_inet(addr: &SocketAddr) -> SockAddr {
        let mut out = SockAddr::zeroed();
        match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in>().write(sin) };
                out.len = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in6>().write(sin6) };
                out.len = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        out
    }

    /// The address of a Unix socket bound to `path`. A path starting with a NUL
    /// byte names an abstract socket (Linux).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path does not fit `sun_path` (107 bytes and a NUL).
    pub fn from_path(path: &Path) -> io::Result<SockAddr> {
        Self::from_unix_bytes(path.as_os_str().as_bytes())
    }

    fn from_unix_bytes(bytes: &[u8]) -> io::Result<SockAddr> {
        let mut out = SockAddr::zeroed();
        // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_un;
        // the zeroed storage is a valid sockaddr_un.
        let sun = unsafe { &mut *out.as_mut_ptr().cast::<libc::sockaddr_un>() };
        let abstract_name = bytes.first() == Some(&0);
        if bytes.len() >= sun.sun_path.len() || (!abstract_name && bytes.contains(&0)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "kiwi: a Unix socket path must be shorter than 108 bytes and contain no NUL byte",
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let offset = mem::size_of::<libc::sa_family_t>();
        // Pathnames count their terminating NUL; abstract names do not.
        let nul = usize::from(!abstract_name && !bytes.is_empty());
        out.len = (offset + bytes.len() + nul) as libc::socklen_t;
        Ok(out)
    }

    /// The family stored in the address (`None` for families kiwi does not use).
    pub fn family(&self) -> Option<Family> {
        match libc::c_int::from(self.storage.ss_family) {
            libc::AF_INET => Some(Family::V4),
            libc::AF_INET6 => Some(Family::V6),
            libc::AF_UNIX => Some(Family::Unix),
            _ => None,
        }
    }

    /// The IP address, if this is an IPv4 or IPv6 address.
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self.family()? {
            Family::V4 => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { &*self.as_ptr().cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            Family::V6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { &*self.as_ptr().cast::<libc::sockaddr_in6>() };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                let port = u16::from_be(sin6.sin6_port);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    port,
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            Family::Unix => None,
        }
    }

    /// The IP address, or `InvalidInput` for other families.
    pub fn to_inet(&self) -> io::Result<SocketAddr> {
        self.as_inet().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "kiwi: not an IPv4 or IPv6 address",
            )
        })
    }

    /// The bytes of a Unix address's path (empty when unnamed; starting with NUL
    /// when abstract), or `None` for other families.
    pub fn unix_path_bytes(&self) -> Option<Vec<u8>> {
        if self.family()? != Family::Unix {
            return None;
        }
        // SAFETY: the family says the storage holds a sockaddr_un.
        let sun = unsafe { &*self.as_ptr().cast::<libc::sockaddr_un>() };
        let offset = mem::size_of::<libc::sa_family_t>();
        let n = (self.len as usize)
            .saturating_sub(offset)
            .min(sun.sun_path.len());
        let mut bytes: Vec<u8> = sun.sun_path[..n].iter().map(|&c| c as u8).collect();
        // A pathname may carry its terminating NUL (and padding) in the length.
        if bytes.first() != Some(&0) {
            if let Some(end) = bytes.iter().position(|&b| b == 0) {
                bytes.truncate(end);
            }
        }
        Some(bytes)
    }

    /// Converts a Unix address into std's type (pathname, abstract or unnamed).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for other families.
    pub fn to_unix(&self) -> io::Result<std::os::unix::net::SocketAddr> {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::SocketAddr as UnixAddr;
        // An unnamed sender (an unbound datagram socket) comes back from
        // `recvfrom` with no address at all.
        if (self.len as usize) <= mem::size_of::<libc::sa_family_t>() {
            return unnamed_unix_addr();
        }
        let bytes = self.unix_path_bytes().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "kiwi: not a Unix address")
        })?;
        match bytes.first() {
            Some(0) => UnixAddr::from_abstract_name(&bytes[1..]),
            Some(_) => UnixAddr::from_pathname(Path::new(OsStr::from_bytes(&bytes))),
            None => unnamed_unix_addr(),
        }
    }
}

/// std has no constructor for an unnamed Unix address; an unbound socket's local
/// address is one, so ask the kernel once and keep it.
fn unnamed_unix_addr() -> io::Result<std::os::unix::net::SocketAddr> {
    use std::sync::OnceLock;
    static UNNAMED: OnceLock<std::os::unix::net::SocketAddr> = OnceLock::new();
    if let Some(a) = UNNAMED.get() {
        return Ok(a.clone());
    }
    let a = std::os::unix::net::UnixDatagram::unbound()?.local_addr()?;
    Ok(UNNAMED.get_or_init(|| a).clone())
}
