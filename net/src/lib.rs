//! kiwi-net: kiwi's sockets — TCP, UDP and Unix — built on the runtime's
//! readiness adapter.
//!
//! # The layer in one page
//!
//! Kiwi (the C++ library kiwi descends from) had four networking classes:
//! an `Acceptor` that accepts on a listening socket, a `TcpConnection` with an
//! input and an output `Buffer`, a `Connector` that dials out, and the `Buffer`
//! itself. kiwi keeps all four ideas and turns the callbacks into futures:
//!
//! | Kiwi | here |
//! |---|---|
//! | `Acceptor::handleRead` | [`AsyncTcpListener::accept`] (a `&self` future many tasks may await) |
//! | `TcpConnection` + input `Buffer` | [`AsyncTcpStream`]'s read side: `AsyncRead`/`AsyncBufRead` over a [`Buffer`] |
//! | `TcpConnection::send` + `handleWrite` | [`AsyncTcpStream`]'s write side: direct write, else queue; the reactor flushes |
//! | `Connector` | [`AsyncTcpStream::connect`]: nonblocking connect, every address in turn |
//! | `Buffer` | [`Buffer`]: read/write indices, compaction, `readv` with a stack spill |
//!
//! Every socket here is a nonblocking descriptor registered (lazily, on first
//! use) with the reactor of the thread that polls it. Every operation follows the
//! one path of `kiwi_runtime::io::Registration::poll_io`: wait until the
//! direction is ready, try the syscall, and on `WouldBlock` clear readiness and
//! wait again. All `unsafe` and every libc call live in the runtime's
//! `sys::socket` module; this crate forbids `unsafe`.
//!
//! # What is not copied from Kiwi
//!
//! - **Blocking connect on the loop thread.** `connect` here returns
//!   `EINPROGRESS` at once and waits for writability as a future; host names are
//!   resolved on the blocking pool, literals inline.
//! - **`std::terminate` on `EMFILE`.** `accept` waits and retries on a timer
//!   (1 ms doubling to 100 ms) and never drops a queued connection. See
//!   [`AsyncTcpListener::accept`].
//! - **A fresh 64 KiB allocation per read.** The read buffer is allocated once,
//!   lazily, and `readv` spills into a 64 KiB array on the stack.
//! - **Sends only through the loop queue.** `poll_write` writes straight to the
//!   socket when nothing is queued; only what the kernel refuses is buffered.
//!
//! # The write path
//!
//! Bytes accepted by `poll_write` are the reactor's responsibility: when the
//! socket turns writable, the reactor itself (in `Source::on_ready`, on its own
//! thread) sends the queued bytes and wakes a writer waiting below the low-water
//! mark. So `write_all(..).await` followed by a read of the reply never deadlocks
//! with the request stuck in user space, and the queue is bounded by a
//! high-water mark ([`DEFAULT_HIGH_WATER`], settable per stream) beyond which
//! `poll_write` returns `Pending`.
//!
//! # Closing
//!
//! Dropping a stream never throws away bytes it accepted: with a runtime
//! running, queued bytes are handed to a small drop-flush task, which waits for
//! the reactor to send them (giving up after [`DEFAULT_LINGER_FLUSH`] without
//! progress), shuts down the write side, and reads until the peer's EOF (at most
//! 2 s) before closing, so that the close sends a FIN, not an RST that would
//! destroy data in flight. `set_linger(Some(Duration::ZERO))` asks for the RST.
//!
//! # Example: an echo server
//!
//! ```
//! use futures_util::io::{AsyncReadExt, AsyncWriteExt};
//! use kiwi_net::{AsyncTcpListener, AsyncTcpStream};
//!
//! kiwi_runtime::block_on(async {
//!     let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     kiwi_runtime::spawn(async move {
//!         while let Ok((mut conn, _)) = listener.accept().await {
//!             kiwi_runtime::spawn(async move {
//!                 let mut buf = vec![0u8; 4096];
//!                 loop {
//!                     match conn.read(&mut buf).await {
//!                         Ok(0) | Err(_) => break,
//!                         Ok(n) => {
//!                             if conn.write_all(&buf[..n]).await.is_err() {
//!                                 break;
//!                             }
//!                         }
//!                     }
//!                 }
//!             });
//!         }
//!     });
//!     let mut client = AsyncTcpStream::connect(addr).await?;
//!     client.write_all(b"echo me").await?;
//!     let mut back = [0u8; 7];
//!     client.read_exact(&mut back).await?;
//!     assert_eq!(&back, b"echo me");
//!     Ok::<(), std::io::Error>(())
//! }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accept;
mod addr;
mod buffer;
mod copy;
mod registered;
mod splice;
mod stream;
mod tcp;
mod udp;
pub mod unix;

pub use accept::{BACKOFF_MAX, BACKOFF_MIN};
#[doc(hidden)]
pub use addr::Target;
pub use addr::ToSocketAddrs;
pub use buffer::Buffer;
pub use copy::copy_bidirectional;
pub use splice::{splice_bidirectional, BULK as SPLICE_BULK};
pub use stream::{BYPASS, DEFAULT_HIGH_WATER, DEFAULT_LINGER_FLUSH};
pub use tcp::{
    Accept, AsyncTcpListener, AsyncTcpStream, Incoming, OwnedReadHalf, OwnedWriteHalf, ReadHalf,
    ReuniteError, TcpSocket, WriteHalf, DEFAULT_BACKLOG,
};
pub use udp::AsyncUdpSocket;
pub use unix::{AsyncUnixDatagram, AsyncUnixListener, AsyncUnixStream, UnixAccept};

/// The close path's bound on waiting for the peer's EOF.
pub use stream::DRAIN_BOUND;

#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<AsyncTcpStream>();
    send::<AsyncTcpListener>();
    sync::<AsyncTcpListener>();
    send::<AsyncUdpSocket>();
    sync::<AsyncUdpSocket>();
    send::<OwnedReadHalf>();
    send::<OwnedWriteHalf>();
    send::<AsyncUnixStream>();
    send::<AsyncUnixListener>();
    sync::<AsyncUnixDatagram>();
    send::<Incoming<'static>>();
    send::<Accept<'static>>();
}
