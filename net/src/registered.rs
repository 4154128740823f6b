//! [`RegisteredSocket`]: a descriptor plus its registration, for the sockets whose operations
//! take `&self` (listeners, UDP and Unix datagram sockets).
//!
//! Several tasks may await one such socket at once (eight tasks accepting on one
//! listener; a UDP socket shared by readers). Each waiting operation therefore
//! keeps its own place in the direction's waiter list (a [`WaiterKey`]), and an
//! edge wakes every waiter: no task's waker overwrites another's. [`SocketOp`] is
//! the future behind every such operation; its `Drop` gives the place back, which
//! is what makes these operations cancel safe.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use kiwi_runtime::io::{Direction, FdSource, Io, Registration, Source, WaiterKey};

/// A socket whose operations take `&self`. Its descriptor lives in the
/// registration's source, so it closes only after the reactor let go of it.
pub(crate) struct RegisteredSocket {
    reg: DeregisterOnDrop,
}

impl fmt::Debug for RegisteredSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredSocket")
            .field("fd", &self.fd().as_raw_fd())
            .finish()
    }
}

impl RegisteredSocket {
    pub(crate) fn new(fd: OwnedFd) -> RegisteredSocket {
        RegisteredSocket {
            reg: DeregisterOnDrop(Some(Registration::new(FdSource::new(fd)))),
        }
    }

    fn reg(&self) -> &Registration {
        self.reg
            .0
            .as_ref()
            .expect("kiwi: the registration is present until into_fd")
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.reg().source().fd()
    }

    /// One attempt of a `&self` operation, for callers that keep their own key.
    pub(crate) fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        key: &mut WaiterKey,
        op: impl FnMut() -> io::Result<Io<R>>,
    ) -> Poll<io::Result<R>> {
        self.reg().poll_io_shared(cx, dir, key, op)
    }

    /// Gives back a waiter-list place (from a future's `Drop`).
    pub(crate) fn remove_waiter(&self, dir: Direction, key: &mut WaiterKey) {
        self.reg().source().scheduled_io().remove_waiter(dir, key);
    }

    /// A future running `op` until it does not block.
    pub(crate) fn op<R, F>(&self, dir: Direction, op: F) -> SocketOp<'_, F>
    where
        F: FnMut(BorrowedFd<'_>) -> io::Result<R> + Unpin,
    {
        SocketOp {
            sock: self,
            dir,
            key: WaiterKey::default(),
            op,
        }
    }

    /// Takes the descriptor out (deregistered).
    pub(crate) fn into_fd(mut self) -> OwnedFd {
        let reg = self
            .reg
            .0
            .take()
            .expect("kiwi: the registration is present until into_fd");
        reg.into_source().into_fd()
    }
}

/// A registration that deregisters when dropped, before its source (and the
/// descriptor in it) can close.
struct DeregisterOnDrop(Option<Registration>);

impl Drop for DeregisterOnDrop {
    fn drop(&mut self) {
        if let Some(reg) = &self.0 {
            let _ = reg.deregister();
        }
    }
}

/// The future of one `&self` operation; see the module docs.
#[must_use = "futures do nothing unless you .await or poll them"]
pub(crate) struct SocketOp<'a, F> {
    sock: &'a RegisteredSocket,
    dir: Direction,
    key: WaiterKey,
    op: F,
}

impl<R, F> Future for SocketOp<'_, F>
where
    F: FnMut(BorrowedFd<'_>) -> io::Result<R> + Unpin,
{
    type Output = io::Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let this = self.get_mut();
        let fd = this.sock.fd();
        let op = &mut this.op;
        // Datagram and accept operations are never `Drained`: one result says
        // nothing about what is queued behind it.
        this.sock
            .reg()
            .poll_io_shared(cx, this.dir, &mut this.key, || op(fd).map(Io::Done))
    }
}

impl<F> Drop for SocketOp<'_, F> {
    fn drop(&mut self) {
        self.sock.remove_waiter(self.dir, &mut self.key);
    }
}
