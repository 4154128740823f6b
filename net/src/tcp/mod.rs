//! TCP: a listener (Kiwi's `Acceptor`), a stream (Kiwi's `TcpConnection`), its
//! halves, and a socket builder for options that must be set before `bind` or
//! `connect`.

mod listener;
mod socket;
mod split;
mod stream;

pub use listener::{Accept, AsyncTcpListener, Incoming, DEFAULT_BACKLOG};
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::AsyncTcpStream;
