//! Accepting connections, safely when descriptors run out (Kiwi's `Acceptor`).
//!
//! `accept4` can fail with `EMFILE` (this process has no descriptor left) or
//! `ENFILE` (the system has none). The connection then stays in the listen
//! backlog. Kiwi called `std::terminate`; the classic workaround (keep a spare
//! descriptor, close it, accept, close the connection) throws the client away.
//! kiwi does neither: the accept stays `Pending` and retries on a timer, backing
//! off from 1 ms, doubling, to 100 ms. Each back-off is counted in the worker's
//! metrics (`emfile_backoffs`).
//!
//! Why a timer and not readiness? The listener is edge-triggered: the edge for
//! the queued connections has already been delivered, and no new one comes until
//! another client arrives. Freeing a descriptor makes no edge either. Only a
//! retry on a timer drains the backlog. Because the accept future never returns
//! the error, even `loop { let _ = listener.accept().await; }` neither spins nor
//! loses a connection.
//!
//! Errors that `accept(2)` passes up from a connection that died in the queue
//! (`ECONNABORTED`, `EPROTO`, ...) are retried at once: the next connection in
//! the backlog is fine.

use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use kiwi_runtime::io::{Direction, Io, WaiterKey};
use kiwi_runtime::sys::socket::{self as sys, SockAddr};
use kiwi_time::Sleep;

use crate::registered::RegisteredSocket;

/// First back-off after `EMFILE`/`ENFILE`.
pub const BACKOFF_MIN: Duration = Duration::from_millis(1);
/// Longest back-off.
pub const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// The state of one waiting accept: its waiter-list place and its back-off.
#[derive(Debug, Default)]
pub(crate) struct AcceptState {
    key: WaiterKey,
    backoff: Option<(Sleep, Duration)>,
}

impl AcceptState {
    /// Accepts one connection; see the module docs for what is retried.
    pub(crate) fn poll_accept(
        &mut self,
        sock: &RegisteredSocket,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(OwnedFd, SockAddr)>> {
        loop {
            if let Some((sleep, _)) = &mut self.backoff {
                if Pin::new(sleep).poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            let fd = sock.fd();
            let res = sock.poll_op(cx, Direction::Read, &mut self.key, || loop {
                match sys::accept(fd) {
                    Err(e) if sys::is_transient_accept_error(&e) => continue,
                    r => return r.map(Io::Done),
                }
            });
            match res {
                Poll::Ready(Err(e)) if sys::is_out_of_resources(&e) => {
                    kiwi_runtime::record_emfile_backoff();
                    let next = match &self.backoff {
                        None => BACKOFF_MIN,
                        Some((_, d)) => (*d * 2).min(BACKOFF_MAX),
                    };
                    self.backoff = Some((kiwi_time::sleep(next), next));
                    // Loop: poll the new timer so that it registers our waker.
                }
                Poll::Ready(r) => {
                    self.backoff = None;
                    return Poll::Ready(r);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Gives back the waiter-list place (call from the owner's `Drop`).
    pub(crate) fn release(&mut self, sock: &RegisteredSocket) {
        sock.remove_waiter(Direction::Read, &mut self.key);
    }
}
