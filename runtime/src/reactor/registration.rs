//! `Registration`: the readiness adapter every kiwi socket is built on.
//!
//! It owns an `Arc` of a [`Source`] (the descriptor itself and its
//! [`ScheduledIo`], plus whatever the socket type wants the reactor to hold,
//! such as a TCP stream's output buffer),
//! registers it lazily with the polling thread's reactor, and offers the one
//! operation path of kiwi: [`Registration::poll_io`] — wait for readiness, try the
//! syscall, and on `WouldBlock` clear readiness and wait again.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::scheduled_io::{Direction, Location, ReadyEvent, ScheduledIo, WaiterKey};

/// How long a socket stays with the reactor that registered it before the
/// task that registered it, polling it from another worker, takes it along.
/// Sooner, and steals would drag sockets back and forth between epolls (two
/// `epoll_ctl` each; under two workers' HTTP load that cost 10-20 % of the
/// CPU per request); never, and a connection accepted on a busy worker would
/// stay there for life, its work rebalanced only by a steal per event.
pub(crate) const FOLLOW_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
use crate::{context, coop};

/// What the reactor holds for a registered descriptor.
///
/// The source owns the descriptor: the reactor reaches it through
/// [`Source::fd`] for as long as it holds the source, so the descriptor can
/// never be closed (or its number recycled) under a registration. That is
/// why no code outside `sys` needs an `unsafe` `BorrowedFd::borrow_raw`.
pub trait Source: Send + Sync + 'static {
    /// The readiness and wakers of the descriptor.
    fn scheduled_io(&self) -> &ScheduledIo;

    /// The descriptor.
    fn fd(&self) -> BorrowedFd<'_>;

    /// Called after an edge was recorded and its wakers woken, on the thread
    /// that dispatched it: the reactor's worker, or a sibling rescuing a stuck
    /// one (`worker/rescue.rs`). A TCP stream flushes its output buffer here.
    /// The default does nothing.
    fn on_ready(&self, events: u32) {
        let _ = events;
    }
}

/// The plain source: a descriptor and its readiness, for sockets that need
/// nothing more from the reactor (listeners, datagram sockets, an eventfd).
#[derive(Debug)]
pub struct FdSource {
    io: ScheduledIo,
    fd: OwnedFd,
}

impl FdSource {
    /// Takes ownership of `fd` (which should be nonblocking).
    pub fn new(fd: OwnedFd) -> FdSource {
        FdSource {
            io: ScheduledIo::new(),
            fd,
        }
    }

    /// Gives the descriptor back.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

impl Source for FdSource {
    fn scheduled_io(&self) -> &ScheduledIo {
        &self.io
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The outcome of one attempt in [`Registration::poll_io`].
#[derive(Debug)]
pub enum Io<R> {
    /// Success; readiness stays as it is.
    Done(R),
    /// Success, and the attempt proved the kernel buffer empty (a short stream
    /// read or write): clear readiness now instead of paying for an `EAGAIN`.
    /// Never for `peek`, datagrams, EOF, hang-ups or errors.
    Drained(R),
}

/// A descriptor's registration with the reactors of kiwi.
///
/// Not registered until first polled. Call [`Registration::deregister`] before the
/// descriptor is closed (the owner's `Drop` does it).
#[derive(Debug)]
pub struct Registration<S: Source = FdSource> {
    source: Arc<S>,
}

impl<S: Source> Registration<S> {
    /// Wraps `source`; nothing is registered yet.
    pub fn new(source: S) -> Registration<S> {
        Registration {
            source: Arc::new(source),
        }
    }

    /// The shared source (the reactor holds another reference while registered).
    pub fn source(&self) -> &Arc<S> {
        &self.source
    }

    fn io(&self) -> &ScheduledIo {
        self.source.scheduled_io()
    }

    /// Registers with the current thread's reactor, or moves there when the old
    /// reactor is gone or belongs to a `block_on` thread, or when the task
    /// that registered it polls it here and has been registered there for
    /// [`FOLLOW_AFTER`] (see the module docs of `reactor`).
    ///
    /// # Panics
    ///
    /// If the descriptor is not registered anywhere alive and this thread runs no
    /// kiwi reactor.
    fn ensure_registered(&self) -> io::Result<()> {
        let io = self.io();
        let here = context::reactor_id();
        if here != 0 && io.reactor_id.load(Ordering::Relaxed) == here {
            return Ok(()); // the common case: registered right here
        }
        context::with_reactor(|current| {
            let current_id = current.map_or(0, |r| r.id);
            let task = crate::task::try_id().map_or(0, |id| id.as_u64());
            let mut loc = io.location.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(old) = loc.as_ref() {
                if let Some(reactor) = old.reactor.upgrade() {
                    // A worker's reactor keeps its sockets, whoever polls them
                    // (a stolen task, the other half of a split stream): its
                    // edges wake those tasks onto that worker, and a sibling
                    // rescues them if it stops turning. Only the task that
                    // registered it, polling it elsewhere after FOLLOW_AFTER,
                    // takes it along (module docs).
                    let follows_its_task =
                        old.task != 0 && old.task == task && old.since.elapsed() >= FOLLOW_AFTER;
                    let stays = reactor.id == current_id
                        || current.is_none()
                        || !(reactor.is_block_on || follows_its_task);
                    if stays {
                        return Ok(());
                    }
                    let _ = reactor.deregister(old.token, self.source.fd());
                    if let Some(current) = current {
                        current
                            .metrics
                            .registration_moves
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
                *loc = None;
                io.reactor_id.store(0, Ordering::Relaxed);
            }
            let Some(current) = current else {
                panic!(
                    "kiwi: an I/O object was polled outside a kiwi runtime; \
                     poll it inside kiwi::block_on, Runtime::block_on or a spawned task"
                )
            };
            let token = current.register(self.source.clone())?;
            *loc = Some(Location {
                reactor: Arc::downgrade(current),
                token,
                task,
                since: std::time::Instant::now(),
            });
            io.reactor_id.store(current.id, Ordering::Relaxed);
            Ok(())
        })
    }

    /// Waits until `dir` is ready, for a `&mut` operation (one waker slot).
    pub fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<ReadyEvent>> {
        self.ensure_registered()?;
        self.io().poll_ready(cx, dir).map(Ok)
    }

    /// Waits until `dir` is ready, for a `&self` operation that several tasks may
    /// await at once; see [`ScheduledIo::poll_ready_keyed`].
    pub fn poll_ready_keyed(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        key: &mut WaiterKey,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.ensure_registered()?;
        self.io().poll_ready_keyed(cx, dir, key).map(Ok)
    }

    /// Forgets readiness seen in `ev` (after `WouldBlock`), unless newer.
    pub fn clear_readiness(&self, ev: ReadyEvent) {
        self.io().clear_readiness(ev);
    }

    /// The single operation path: spend cooperative budget, wait for readiness,
    /// run `op`; on `WouldBlock`, clear readiness and wait again.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        op: impl FnMut() -> io::Result<Io<R>>,
    ) -> Poll<io::Result<R>> {
        self.drive(cx, dir, None, op)
    }

    /// [`Registration::poll_io`] for `&self` operations (waiter list; see
    /// [`Registration::poll_ready_keyed`]). Removes the waiter when it completes.
    pub fn poll_io_shared<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        key: &mut WaiterKey,
        op: impl FnMut() -> io::Result<Io<R>>,
    ) -> Poll<io::Result<R>> {
        let res = self.drive(cx, dir, Some(&mut *key), op);
        if res.is_ready() {
            self.io().remove_waiter(dir, key);
        }
        res
    }

    fn drive<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut key: Option<&mut WaiterKey>,
        mut op: impl FnMut() -> io::Result<Io<R>>,
    ) -> Poll<io::Result<R>> {
        ready!(coop::poll_proceed(cx));
        loop {
            let ev = match key.as_deref_mut() {
                Some(k) => ready!(self.poll_ready_keyed(cx, dir, k))?,
                None => ready!(self.poll_ready(cx, dir))?,
            };
            match op() {
                Ok(Io::Done(r)) => {
                    coop::spend();
                    return Poll::Ready(Ok(r));
                }
                Ok(Io::Drained(r)) => {
                    self.clear_readiness(ev);
                    coop::spend();
                    return Poll::Ready(Ok(r));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    coop::spend();
                    return Poll::Ready(Err(e));
                }
            }
        }
    }

    /// Removes the descriptor from its reactor. Idempotent; call it before the
    /// descriptor is closed.
    pub fn deregister(&self) -> io::Result<()> {
        let io = self.io();
        let old = io.location.lock().unwrap_or_else(|e| e.into_inner()).take();
        io.reactor_id.store(0, Ordering::Relaxed);
        let Some(old) = old else { return Ok(()) };
        let Some(reactor) = old.reactor.upgrade() else {
            return Ok(());
        };
        match reactor.deregister(old.token, self.source.fd()) {
            // Already gone from epoll (e.g. the fd was dup'ed and closed): fine.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            other => other,
        }
    }

    /// Deregisters and gives the source back (to take its descriptor out).
    ///
    /// Deregistering drops the reactor's reference, but a reactor turn that
    /// looked the source up just before may still hold a clone while it
    /// records that edge (`Reactor::dispatch`): that lasts one dispatch, so
    /// this yields until it is over rather than failing.
    pub fn into_source(self) -> S {
        let _ = self.deregister();
        let mut source = self.source;
        loop {
            match Arc::try_unwrap(source) {
                Ok(s) => return s,
                Err(shared) => {
                    source = shared;
                    std::thread::yield_now();
                }
            }
        }
    }
}
