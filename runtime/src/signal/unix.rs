//! Any catchable Unix signal as a stream of deliveries, in tokio's shape:
//! [`signal`]`(`[`SignalKind`]`)` gives a [`Signal`] whose [`Signal::recv`]
//! completes once per delivery (or per burst of them).
//!
//! Containers and systemd stop a service with SIGTERM and ask it to reload
//! with SIGHUP; a server that only handles Ctrl-C is killed mid-request.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::Watch;

/// A signal number, with constructors for the common ones.
///
/// # Examples
///
/// ```
/// use kiwi_runtime::signal::unix::SignalKind;
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// Any signal, by number. [`signal`] refuses the ones that cannot be
    /// awaited.
    pub const fn from_raw(signum: i32) -> SignalKind {
        SignalKind(signum)
    }
    /// The number.
    pub const fn as_raw_value(&self) -> i32 {
        self.0
    }
    /// SIGINT: Ctrl-C in a terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }
    /// SIGTERM: the polite "stop" of `kill`, systemd and container runtimes.
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }
    /// SIGHUP: the terminal went away; by convention, "reload your configuration".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }
    /// SIGQUIT: Ctrl-\ in a terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }
    /// SIGUSR1.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }
    /// SIGUSR2.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }
    /// SIGCHLD: a child process stopped or exited.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }
    /// SIGALRM: a timer set with `alarm(2)` expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }
    /// SIGWINCH: the terminal was resized.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
    /// SIGPIPE: a write to a pipe or socket whose reader is gone. (kiwi's own
    /// sockets never raise it: they send with `MSG_NOSIGNAL`.)
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignalKind({})", self.0)
    }
}

/// Starts listening for `kind`. Every [`Signal`] sees every delivery that
/// comes after it was created, however many listen to the same signal.
///
/// The first listener of a signal installs kiwi's handler for it, for the
/// whole process and for good: from then on the signal's default action (for
/// most: terminating the process) no longer happens, even after every
/// `Signal` is dropped. The program decides what to do.
///
/// # Errors
///
/// `InvalidInput`, with the reason, for SIGKILL and SIGSTOP (they cannot be
/// caught), SIGSEGV, SIGBUS, SIGILL and SIGFPE (they report faults in the
/// running code), the C library's reserved real-time signals, and numbers that
/// are not signals. Otherwise the error of creating the eventfd, installing
/// the handler, or duplicating the eventfd.
///
/// # Examples
///
/// ```
/// use kiwi_runtime::signal::unix::{signal, SignalKind};
///
/// kiwi_runtime::block_on(async {
///     let mut hangups = signal(SignalKind::hangup())?;
///     let pid = std::process::id().to_string();
///     std::process::Command::new("kill").args(["-HUP", &pid]).status()?;
///     hangups.recv().await;
///     assert!(signal(SignalKind::from_raw(libc::SIGKILL)).is_err());
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    Ok(Signal {
        kind,
        watch: Watch::new(kind.0)?,
    })
}

/// Deliveries of one signal; see [`signal`].
///
/// Deliveries that arrive between two `recv`s coalesce into one, as in
/// tokio: the kernel itself merges pending instances of a classic signal,
/// and a listener only learns that *some* delivery happened since it last
/// looked.
pub struct Signal {
    kind: SignalKind,
    watch: Watch,
}

impl Signal {
    /// Waits for the next delivery. `Some(())` per delivery (or burst of
    /// them); `None` only if the reactor failed, after which no delivery
    /// will be seen.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_runtime::signal::unix::{signal, SignalKind};
    ///
    /// kiwi_runtime::block_on(async {
    ///     let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
    ///     let pid = std::process::id().to_string();
    ///     std::process::Command::new("kill").args(["-USR1", &pid]).status().unwrap();
    ///     assert_eq!(usr1.recv().await, Some(()));
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a delivery that arrives while the future is dropped is
    /// reported by the next `recv`.
    pub fn recv(&mut self) -> Recv<'_> {
        Recv { signal: self }
    }

    /// Polls for the next delivery; see [`Signal::recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_runtime::signal::unix::{signal, SignalKind};
    ///
    /// kiwi_runtime::block_on(async {
    ///     let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
    ///     let pid = std::process::id().to_string();
    ///     std::process::Command::new("kill").args(["-USR2", &pid]).status().unwrap();
    ///     std::future::poll_fn(|cx| usr2.poll_recv(cx)).await.unwrap();
    /// });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.watch.poll(cx).map(|r| r.ok())
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}

/// The future of [`Signal::recv`].
#[must_use = "futures do nothing unless you .await or poll them"]
#[derive(Debug)]
pub struct Recv<'a> {
    signal: &'a mut Signal,
}

impl Future for Recv<'_> {
    type Output = Option<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.signal.poll_recv(cx)
    }
}
