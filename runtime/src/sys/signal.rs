//! Signals as eventfd edges.
//!
//! A handler may only do async-signal-safe things, so kiwi's does three: it
//! saves `errno`, bumps the signal's counter (an atomic add), and writes to
//! one process-wide eventfd created before any handler is installed; then it
//! restores `errno`, which the `write` may have changed under the code the
//! signal interrupted. Every `Signal` future watches a `dup` of that eventfd
//! in its own reactor; the counters tell a future whether *its* signal
//! arrived since it last looked, so one eventfd serves every signal.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::eventfd::EventFd;
use super::syscall;

/// Signal numbers go up to `SIGRTMAX` (64 on Linux).
const SIGNALS: usize = 65;

static DOORBELL_FD: AtomicI32 = AtomicI32::new(-1);
static COUNTS: [AtomicU64; SIGNALS] = [const { AtomicU64::new(0) }; SIGNALS];
static DOORBELL: OnceLock<Result<EventFd, i32>> = OnceLock::new();
/// Which signals have kiwi's handler; the lock makes "check, then install"
/// one step.
static INSTALLED: Mutex<[bool; SIGNALS]> = Mutex::new([false; SIGNALS]);

extern "C" fn on_signal(signum: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno slot, valid for the
    // thread's life; reading and writing it is async-signal-safe.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: as above.
    let saved = unsafe { *errno };
    if let Some(count) = COUNTS.get(signum as usize) {
        count.fetch_add(1, Ordering::SeqCst);
    }
    let fd = DOORBELL_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: write(2) is async-signal-safe; `one` lives across the call. The
        // result is ignored: there is nothing a handler could do about it.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
    // SAFETY: as above.
    unsafe { *errno = saved };
}

/// Why `signum` cannot be awaited, if it cannot.
pub fn forbidden(signum: i32) -> Option<&'static str> {
    match signum {
        libc::SIGKILL | libc::SIGSTOP => Some("it cannot be caught"),
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE => Some(
            "it reports a fault in the running code, which must not continue as if nothing \
             happened",
        ),
        n if n <= 0 || n as usize >= SIGNALS || n > libc::SIGRTMAX() => {
            Some("it is not a signal number")
        }
        // Between the classic signals and SIGRTMIN: glibc keeps these for its
        // threads implementation.
        n if n > 31 && n < libc::SIGRTMIN() => Some("the C library keeps it for itself"),
        _ => None,
    }
}

/// Installs kiwi's handler for `signum` (once per process) and returns the
/// doorbell's fd. From then on the signal's default action (often: terminate)
/// no longer happens: the program decides what to do.
///
/// # Errors
///
/// `InvalidInput` for a signal in [`forbidden`]; otherwise the error of
/// creating the eventfd or of `sigaction`.
pub fn install(signum: i32) -> io::Result<RawFd> {
    if let Some(why) = forbidden(signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("kiwi: signal {signum} cannot be awaited: {why}"),
        ));
    }
    let doorbell = DOORBELL.get_or_init(|| {
        let doorbell = EventFd::new().map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        DOORBELL_FD.store(doorbell.as_fd().as_raw_fd(), Ordering::SeqCst);
        Ok(doorbell)
    });
    let fd = match doorbell {
        Ok(fd) => fd.as_fd().as_raw_fd(),
        Err(code) => return Err(io::Error::from_raw_os_error(*code)),
    };
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if !installed[signum as usize] {
        // SAFETY: a zeroed sigaction is a valid starting point; we set the
        // handler, an empty mask and SA_RESTART so interrupted syscalls resume.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_signal as *const () as usize;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: `act.sa_mask` is a valid sigset_t to initialise.
        unsafe { libc::sigemptyset(&mut act.sa_mask) };
        // SAFETY: `act` is fully initialised; the old action is not needed.
        syscall!(sigaction(signum, &act, std::ptr::null_mut()))?;
        installed[signum as usize] = true;
    }
    Ok(fd)
}

/// Deliveries of `signum` since its handler was installed.
pub fn count(signum: i32) -> u64 {
    COUNTS
        .get(signum as usize)
        .map_or(0, |c| c.load(Ordering::SeqCst))
}

/// `dup(fd)` with close-on-exec.
pub fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument.
    let raw = syscall!(fcntl(fd, libc::F_DUPFD_CLOEXEC, 0))?;
    // SAFETY: `raw` was just returned by fcntl and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}
