//! Unix domain sockets: the same machinery as TCP and UDP, addressed by paths.
//!
//! [`AsyncUnixStream`] reuses the TCP stream's buffers, reactor flush and
//! graceful close unchanged (a byte stream is a byte stream); only connecting
//! and addresses differ. [`AsyncUnixListener`] shares the accept loop (with its
//! `EMFILE` back-off), and [`AsyncUnixDatagram`] the `&self` operation future of
//! UDP. Addresses are `std::os::unix::net::SocketAddr`: a path, an abstract name
//! (Linux), or unnamed.

//!
//! The halves of a split [`AsyncUnixStream`] live here, as tokio's do
//! (`kiwi::net::unix::OwnedReadHalf`); TCP's are at the crate root.

mod datagram;
mod listener;
mod split;
mod stream;

pub use datagram::AsyncUnixDatagram;
pub use listener::{AsyncUnixListener, UnixAccept};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::AsyncUnixStream;
