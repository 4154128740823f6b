//! Signals: [`ctrl_c`].
//!
//! # Why not signalfd
//!
//! The design notes asked for a `signalfd` in the reactor. A signalfd only sees
//! a signal that is *blocked* in every thread of the process; a library cannot
//! arrange that once threads exist (the blocking pool, the user's own threads),
//! and any thread that leaves SIGINT unblocked takes the default action and kills
//! the process, so the future would never see it. kiwi therefore installs a
//! handler that rings an eventfd (the self-pipe pattern, with an eventfd as the
//! pipe); the reactor watches that eventfd like any socket. The edge reaches the
//! reactor the same way, and no thread's mask matters.

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
    let start = sys::sigint_count();
    let watch = sys::install_sigint()
        .and_then(sys::dup_cloexec)
        .map(|fd| Registration::new(FdSource::new(fd)));
    CtrlC {
        start,
        watch: Some(watch),
    }
}

/// The future of [`ctrl_c`].
#[must_use = "futures do nothing unless you .await or poll them"]
#[derive(Debug)]
pub struct CtrlC {
    start: u64,
    watch: Option<io::Result<Registration>>,
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let start = self.start;
        let reg = match self.watch.as_mut() {
            Some(Ok(w)) => w,
            Some(Err(_)) => {
                let Some(Err(e)) = self.watch.take() else {
                    unreachable!()
                };
                return Poll::Ready(Err(e));
            }
            None => panic!("CtrlC polled after completion"),
        };
        loop {
            if sys::sigint_count() > start {
                return Poll::Ready(Ok(()));
            }
            // The eventfd is never read, so it stays readable after the first
            // signal: an edge we already judged stale is cleared and waited past.
            let ev = ready!(reg.poll_ready(cx, Direction::Read))?;
            if sys::sigint_count() > start {
                return Poll::Ready(Ok(()));
            }
            reg.clear_readiness(ev);
        }
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        if let Some(Ok(reg)) = &self.watch {
            let _ = reg.deregister();
        }
    }
}
