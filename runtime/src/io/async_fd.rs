//! `AsyncFd`: drive any nonblocking file descriptor with kiwi's reactor.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::coop;
use crate::reactor::{Direction, FdSource, ReadyEvent, Registration, Source, WaiterKey};

/// A nonblocking file descriptor (anything `AsFd`) driven by kiwi's reactor.
///
/// Wait for readiness with [`readable`](AsyncFd::readable) or
/// [`writable`](AsyncFd::writable), then try the operation inside
/// [`AsyncFdReadyGuard::try_io`]: a `WouldBlock` clears the readiness and tells
/// you to wait again. Several tasks may wait on one `AsyncFd` at once; each is
/// woken by an edge. The descriptor must already be in nonblocking mode, and is
/// registered with the reactor of the thread that first waits on it.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use kiwi_runtime::io::AsyncFd;
///
/// kiwi_runtime::block_on(async {
///     let (a, mut b) = UnixStream::pair()?;
///     a.set_nonblocking(true)?;
///     let a = AsyncFd::new(a)?;
///     b.write_all(b"ping")?;
///     let mut buf = [0u8; 4];
///     loop {
///         let mut guard = a.readable().await?;
///         match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
///             Ok(n) => { assert_eq!(n?, 4); break; }
///             Err(_would_block) => continue,
///         }
///     }
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct AsyncFd<T: AsFd> {
    registration: Registration,
    inner: Option<T>,
}

impl<T: AsFd> AsyncFd<T> {
    /// Wraps `inner`. Nothing is registered until the first wait.
    ///
    /// The reactor watches a duplicate of `inner`'s descriptor
    /// (`F_DUPFD_CLOEXEC`), which this `AsyncFd` owns: so the registration
    /// can never outlive the descriptor it names, whatever `inner` does with
    /// its own. Both refer to the same open file, whose readiness is what
    /// epoll reports.
    ///
    /// # Errors
    ///
    /// The error of duplicating the descriptor (`EMFILE` when the process is
    /// out of descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let fd = kiwi_runtime::io::AsyncFd::new(a).unwrap();
    /// assert!(fd.get_ref().peer_addr().is_ok());
    /// ```
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        let watched = inner.as_fd().try_clone_to_owned()?;
        Ok(AsyncFd {
            registration: Registration::new(FdSource::new(watched)),
            inner: Some(inner),
        })
    }

    /// The wrapped value.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let fd = kiwi_runtime::io::AsyncFd::new(a).unwrap();
    /// let _: &std::os::unix::net::UnixStream = fd.get_ref();
    /// ```
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("present until into_inner")
    }

    /// The wrapped value, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut fd = kiwi_runtime::io::AsyncFd::new(a).unwrap();
    /// fd.get_mut().set_nonblocking(true).unwrap();
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("present until into_inner")
    }

    /// Deregisters and returns the wrapped value.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let fd = kiwi_runtime::io::AsyncFd::new(a).unwrap();
    /// let a = fd.into_inner();
    /// ```
    pub fn into_inner(mut self) -> T {
        let _ = self.registration.deregister();
        self.inner.take().expect("present until into_inner")
    }

    /// Waits until the descriptor is readable.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only removes its place in the waiter list.
    ///
    /// # Examples
    ///
    /// See [`AsyncFd`].
    pub fn readable(&self) -> Readable<'_, T> {
        Readable(Ready {
            fd: self,
            dir: Direction::Read,
            key: WaiterKey::default(),
        })
    }

    /// Waits until the descriptor is writable.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`AsyncFd::readable`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// kiwi_runtime::block_on(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let fd = kiwi_runtime::io::AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.writable().await.unwrap();
    ///     let n = guard.try_io(|fd| fd.get_ref().write(b"x")).unwrap().unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// ```
    pub fn writable(&self) -> Writable<'_, T> {
        Writable(Ready {
            fd: self,
            dir: Direction::Write,
            key: WaiterKey::default(),
        })
    }

    /// Polls for read readiness (one waker slot: for a single reader).
    pub fn poll_read_ready(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        let ev = ready!(self.registration.poll_ready(cx, Direction::Read))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            fd: self,
            event: Some(ev),
        }))
    }

    /// Polls for write readiness (one waker slot: for a single writer).
    pub fn poll_write_ready(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        let ev = ready!(self.registration.poll_ready(cx, Direction::Write))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            fd: self,
            event: Some(ev),
        }))
    }
}

impl<T: AsFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        // Deregister before `inner` closes the descriptor.
        let _ = self.registration.deregister();
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

struct Ready<'a, T: AsFd> {
    fd: &'a AsyncFd<T>,
    dir: Direction,
    key: WaiterKey,
}

impl<'a, T: AsFd> Ready<'a, T> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        ready!(coop::poll_proceed(cx));
        let ev = ready!(self
            .fd
            .registration
            .poll_ready_keyed(cx, self.dir, &mut self.key))?;
        self.fd
            .registration
            .source()
            .scheduled_io()
            .remove_waiter(self.dir, &mut self.key);
        coop::spend();
        Poll::Ready(Ok(AsyncFdReadyGuard {
            fd: self.fd,
            event: Some(ev),
        }))
    }
}

impl<T: AsFd> Drop for Ready<'_, T> {
    fn drop(&mut self) {
        self.fd
            .registration
            .source()
            .scheduled_io()
            .remove_waiter(self.dir, &mut self.key);
    }
}

/// The future of [`AsyncFd::readable`].
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Readable<'a, T: AsFd>(Ready<'a, T>);

/// The future of [`AsyncFd::writable`].
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Writable<'a, T: AsFd>(Ready<'a, T>);

impl<'a, T: AsFd> Future for Readable<'a, T> {
    type Output = io::Result<AsyncFdReadyGuard<'a, T>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll(cx)
    }
}

impl<'a, T: AsFd> Future for Writable<'a, T> {
    type Output = io::Result<AsyncFdReadyGuard<'a, T>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll(cx)
    }
}

impl<T: AsFd> fmt::Debug for Readable<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Readable")
    }
}

impl<T: AsFd> fmt::Debug for Writable<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Writable")
    }
}

/// Proof that the descriptor was ready when the wait finished.
pub struct AsyncFdReadyGuard<'a, T: AsFd> {
    fd: &'a AsyncFd<T>,
    event: Option<ReadyEvent>,
}

/// Returned by [`AsyncFdReadyGuard::try_io`] when the operation would block; the
/// readiness has been cleared: wait again.
#[derive(Debug)]
pub struct TryIoError(());

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block; wait for readiness again")
    }
}

impl std::error::Error for TryIoError {}

impl<'a, T: AsFd> AsyncFdReadyGuard<'a, T> {
    /// Forgets the readiness (call it after the descriptor returned `WouldBlock`).
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let fd = kiwi_runtime::io::AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.writable().await.unwrap();
    ///     guard.clear_ready();
    /// });
    /// ```
    pub fn clear_ready(&mut self) {
        if let Some(ev) = self.event.take() {
            self.fd.registration.clear_readiness(ev);
        }
    }

    /// Runs `f`; if it returns `WouldBlock`, clears the readiness and returns
    /// `Err(TryIoError)`, otherwise returns `Ok` with its result.
    ///
    /// # Examples
    ///
    /// See [`AsyncFd`].
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            other => Ok(other),
        }
    }

    /// The `AsyncFd` this guard is about.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The wrapped value.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }

    /// True if the peer hung up (reads return EOF or an error).
    pub fn is_closed(&self) -> bool {
        self.event.is_some_and(|e| e.is_closed())
    }
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("event", &self.event)
            .finish()
    }
}
