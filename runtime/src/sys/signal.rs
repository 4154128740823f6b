//! SIGINT as an eventfd edge.
//!
//! The handler does only async-signal-safe things: an atomic increment and a
//! `write(2)` to a process-wide eventfd created before the handler is installed.
//! Each `ctrl_c` future watches a `dup` of that eventfd in its own reactor; the
//! counter tells a future whether a signal arrived after it was created.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::OnceLock;

use super::eventfd::EventFd;
use super::syscall;

static DOORBELL_FD: AtomicI32 = AtomicI32::new(-1);
static COUNT: AtomicU64 = AtomicU64::new(0);
static INSTALLED: OnceLock<Result<EventFd, i32>> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    COUNT.fetch_add(1, Ordering::SeqCst);
    let fd = DOORBELL_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: write(2) is async-signal-safe; `one` lives across the call. The
        // result is ignored: there is nothing a handler could do about it.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

/// Installs the SIGINT handler once per process and returns the doorbell's fd.
/// From then on SIGINT no longer terminates the process: the program decides.
pub fn install_sigint() -> io::Result<RawFd> {
    let res = INSTALLED.get_or_init(|| {
        let doorbell = EventFd::new().map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        DOORBELL_FD.store(doorbell.as_fd().as_raw_fd(), Ordering::SeqCst);
        // SAFETY: a zeroed sigaction is a valid starting point; we set the handler,
        // an empty mask and SA_RESTART so interrupted syscalls resume.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_sigint as *const () as usize;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: `act.sa_mask` is a valid sigset_t to initialise.
        unsafe { libc::sigemptyset(&mut act.sa_mask) };
        // SAFETY: `act` is fully initialised; the old action is not needed.
        syscall!(sigaction(libc::SIGINT, &act, std::ptr::null_mut()))
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        Ok(doorbell)
    });
    match res {
        Ok(fd) => Ok(fd.as_fd().as_raw_fd()),
        Err(code) => Err(io::Error::from_raw_os_error(*code)),
    }
}

/// SIGINTs received since the handler was installed.
pub fn sigint_count() -> u64 {
    COUNT.load(Ordering::SeqCst)
}

/// `dup(fd)` with close-on-exec.
pub fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument.
    let raw = syscall!(fcntl(fd, libc::F_DUPFD_CLOEXEC, 0))?;
    // SAFETY: `raw` was just returned by fcntl and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}
