//! Signals: [`ctrl_c`], and every catchable Unix signal in [`unix`].
//!
//! # Why not signalfd
//!
//! The design notes asked for a `signalfd` in the reactor. A signalfd only sees
//! a signal that is *blocked* in every thread of the process; a library cannot
//! arrange that once threads exist (the blocking pool, the user's own threads),
//! and any thread that leaves the signal unblocked takes the default action
//! (for SIGINT and SIGTERM: the process dies), so the future would never see
//! it. kiwi therefore installs a handler that rings an eventfd (the self-pipe
//! pattern, with an eventfd as the pipe); the reactor watches that eventfd
//! like any socket. The edge reaches the reactor the same way, and no thread's
//! mask matters.
//!
//! One eventfd serves every signal: the handler also bumps a counter per
//! signal, and each waiting future compares the counter of its own signal
//! with the value it saw last. A delivery of another signal wakes it for
//! nothing, which costs one poll.

pub mod unix;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::io::{Direction, FdSource, Registration};
use crate::sys::signal as sys;

/// Completes when the process receives SIGINT (Ctrl-C) after this call.
///
/// The first call installs kiwi's SIGINT handler for the whole process: from then
/// on Ctrl-C no longer terminates the program by itself; the program decides what
/// to do (typically: stop accepting, finish in-flight work, exit).
///
/// # Errors
///
/// If the handler or its eventfd cannot be set up.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let ctrl_c = kiwi_runtime::signal::ctrl_c();
///     // Send ourselves a SIGINT, as a terminal would on Ctrl-C.
///     let pid = std::process::id().to_string();
///     std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
///     ctrl_c.await.unwrap();
/// });
/// ```
///
/// # Cancel safety
///
/// Cancel safe; a new call only sees signals that arrive after it.
pub fn ctrl_c() -> CtrlC {
    CtrlC {
        watch: Some(Watch::new(libc::SIGINT)),
    }
}

/// The future of [`ctrl_c`].
#[must_use = "futures do nothing unless you .await or poll them"]
#[derive(Debug)]
pub struct CtrlC {
    watch: Option<io::Result<Watch>>,
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let res = match self.watch.as_mut() {
            Some(Ok(watch)) => ready!(watch.poll(cx)),
            Some(Err(_)) => match self.watch.take() {
                Some(Err(e)) => Err(e),
                _ => unreachable!("the error was just seen"),
            },
            None => panic!("CtrlC polled after completion"),
        };
        self.watch = None;
        Poll::Ready(res)
    }
}

/// Waits for deliveries of one signal: a registration of a `dup` of the
/// signals' eventfd, and the signal's count when it last looked.
#[derive(Debug)]
pub(crate) struct Watch {
    signum: i32,
    seen: u64,
    reg: Registration,
}

impl Watch {
    /// Installs the handler for `signum` and starts counting from now: only
    /// deliveries after this call are reported.
    pub(crate) fn new(signum: i32) -> io::Result<Watch> {
        let doorbell = sys::install(signum)?;
        let seen = sys::count(signum);
        let fd = sys::dup_cloexec(doorbell)?;
        Ok(Watch {
            signum,
            seen,
            reg: Registration::new(FdSource::new(fd)),
        })
    }

    /// Ready once `signum` was delivered since the last `Ready` (or since
    /// `new`); deliveries in between coalesce into one.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.take() {
                return Poll::Ready(Ok(()));
            }
            // The eventfd is never read, so it stays readable: an edge already
            // judged stale is cleared, and the next delivery makes a new one
            // (every write to an eventfd is an edge).
            let ev = ready!(self.reg.poll_ready(cx, Direction::Read))?;
            if self.take() {
                return Poll::Ready(Ok(()));
            }
            self.reg.clear_readiness(ev);
        }
    }

    /// True (and caught up) if the count moved since the last look.
    fn take(&mut self) -> bool {
        let now = sys::count(self.signum);
        if now == self.seen {
            return false;
        }
        self.seen = now;
        true
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.reg.deregister();
    }
}
