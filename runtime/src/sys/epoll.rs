//! epoll: the synchronous event demultiplexer of the Reactor pattern.
//!
//! kiwi registers each descriptor once, edge-triggered, for both directions
//! (`EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`), and never re-arms it. The 64-bit
//! user data carries a slab token (index and generation), never the raw fd.
//!
//! Waiting: `epoll_pwait2` takes a `timespec`, so the last stretch before a timer
//! deadline is waited to the nanosecond. Linux added it in 5.11; older kernels, and
//! valgrind, answer `ENOSYS` (some seccomp filters answer `EPERM`). The first such
//! answer flips a process-wide flag and every later wait uses `epoll_wait`, whose
//! millisecond timeout is rounded *up* so that a timer is never woken early.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::syscall;

/// The readiness bits kiwi asks for on every descriptor.
pub const INTEREST: u32 =
    (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

/// The kernel's event record. Use libc's definition: it is packed on x86_64 only.
pub type Event = libc::epoll_event;

/// An epoll instance.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

/// Set once `epoll_pwait2` has been refused; read on every wait.
static NO_PWAIT2: AtomicBool = AtomicBool::new(false);

impl Epoll {
    /// Creates an epoll instance with `EPOLL_CLOEXEC`.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers.
        let raw = syscall!(epoll_create1(libc::EPOLL_CLOEXEC))?;
        // SAFETY: `raw` was just returned by epoll_create1 and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Epoll { fd })
    }

    /// Registers `fd` with [`INTEREST`] and `token` as its user data.
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        self.add_with(fd, token, INTEREST)
    }

    /// Registers `fd` for `events` only (the doorbell needs just `EPOLLIN`:
    /// an eventfd is always writable, and that edge would be a spurious wake).
    pub fn add_with(&self, fd: BorrowedFd<'_>, token: u64, events: u32) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a live epoll_event; both descriptors are open.
        syscall!(epoll_ctl(
            self.fd.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            &mut ev
        ))?;
        Ok(())
    }

    /// Removes `fd`. The kernel also removes it by itself when the last descriptor
    /// of the open file is closed, but kiwi deregisters first, explicitly.
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        // SAFETY: a null event pointer is allowed for EPOLL_CTL_DEL since Linux 2.6.9.
        syscall!(epoll_ctl(
            self.fd.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            fd.as_raw_fd(),
            std::ptr::null_mut()
        ))?;
        Ok(())
    }

    /// Waits for events, for at most `timeout` (`None` waits forever), and returns
    /// how many entries of `events` were filled. `EINTR` counts as zero events.
    pub fn wait(&self, events: &mut [Event], timeout: Option<Duration>) -> io::Result<usize> {
        let max = events.len().min(i32::MAX as usize) as i32;
        let res = match timeout {
            Some(t) if !NO_PWAIT2.load(Ordering::Relaxed) => {
                let ts = libc::timespec {
                    // Saturate: a far-future deadline must not wrap to a negative time.
                    tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
                    tv_nsec: t.subsec_nanos() as libc::c_long,
                };
                // SAFETY: `events` is valid for `max` entries, `ts` is a live
                // timespec and a null sigmask means "leave the mask alone".
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_epoll_pwait2,
                        self.fd.as_raw_fd(),
                        events.as_mut_ptr(),
                        max,
                        &ts as *const libc::timespec,
                        std::ptr::null::<libc::sigset_t>(),
                        0usize,
                    )
                };
                if r == -1 {
                    let err = io::Error::last_os_error();
                    match err.raw_os_error() {
                        Some(libc::ENOSYS) | Some(libc::EPERM) => {
                            NO_PWAIT2.store(true, Ordering::Relaxed);
                            return self.wait(events, timeout);
                        }
                        _ => Err(err),
                    }
                } else {
                    Ok(r as usize)
                }
            }
            _ => {
                let ms = timeout.map_or(-1, millis_rounded_up);
                // SAFETY: `events` is valid for `max` entries.
                syscall!(epoll_wait(
                    self.fd.as_raw_fd(),
                    events.as_mut_ptr(),
                    max,
                    ms
                ))
                .map(|n| n as usize)
            }
        };
        match res {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            other => other,
        }
    }
}

/// `as_millis` truncates, and a truncated timeout would wake a timer early: round up.
fn millis_rounded_up(t: Duration) -> i32 {
    let ms = t.as_nanos().div_ceil(1_000_000);
    ms.min(i32::MAX as u128) as i32
}

/// Reports whether waits have fallen back to millisecond `epoll_wait`: false
/// on a kernel with `epoll_pwait2` (5.11+) unless [`disable_pwait2`] was called.
///
/// # Examples
///
/// ```
/// use kiwi_runtime::sys::epoll::{pwait2_disabled, Epoll};
/// let ep = Epoll::new()?;
/// let mut events = [libc::epoll_event { events: 0, u64: 0 }; 1];
/// ep.wait(&mut events, Some(std::time::Duration::from_micros(10)))?;
/// println!("nanosecond waits: {}", !pwait2_disabled());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pwait2_disabled() -> bool {
    NO_PWAIT2.load(Ordering::Relaxed)
}

/// Makes every later wait, process-wide, use `epoll_wait` with its timeout
/// rounded up to whole milliseconds, as if the kernel had refused
/// `epoll_pwait2`: for tests of the fallback, and for sandboxes that break
/// `epoll_pwait2` in a way kiwi cannot see.
///
/// # Examples
///
/// ```
/// use kiwi_runtime::sys::epoll::{disable_pwait2, pwait2_disabled};
/// disable_pwait2();
/// assert!(pwait2_disabled());
/// ```
pub fn disable_pwait2() {
    NO_PWAIT2.store(true, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_up_never_early() {
        assert_eq!(millis_rounded_up(Duration::ZERO), 0);
        assert_eq!(millis_rounded_up(Duration::from_nanos(1)), 1);
        assert_eq!(millis_rounded_up(Duration::from_micros(1500)), 2);
        assert_eq!(millis_rounded_up(Duration::from_millis(3)), 3);
        assert_eq!(millis_rounded_up(Duration::MAX), i32::MAX);
    }
}
