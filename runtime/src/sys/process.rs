//! What child processes need from the kernel: a pidfd, and plain reads and
//! writes on nonblocking pipes.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use super::syscall;

/// `pidfd_open(2)` (Linux 5.3): a descriptor that turns readable when the
/// process `pid` exits. Created close-on-exec, as every pidfd is.
///
/// # Errors
///
/// `ENOSYS` on older kernels, `EPERM` under some sandboxes (the caller falls
/// back to SIGCHLD), `ESRCH` if there is no such process.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    if pidfd_disabled() {
        // A test knob: behave like a kernel without pidfd_open.
        return Err(io::Error::from_raw_os_error(libc::ENOSYS));
    }
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open takes a pid and flags (0); no memory is passed.
    let fd = syscall!(syscall(libc::SYS_pidfd_open, pid, 0))?;
    // SAFETY: the kernel just returned this descriptor, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Whether `KIWI_NO_PIDFD` is set (to anything): a test knob that makes
/// [`pidfd_open`] fail as on a kernel without it, so that the SIGCHLD
/// fallback can be exercised on any machine.
///
/// The environment is read once, at the first spawn, and remembered: reading
/// it takes the process-wide environment lock and walks every variable, which
/// a program spawning thousands of children should not pay each time (and a
/// program that changes the variable mid-run gets one consistent answer).
fn pidfd_disabled() -> bool {
    static DISABLED: OnceLock<bool> = OnceLock::new();
    *DISABLED.get_or_init(|| std::env::var_os("KIWI_NO_PIDFD").is_some())
}

/// Sets `O_NONBLOCK` on `fd` (a pipe end of our own: nobody else shares its
/// open file description).
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_GETFL takes no argument.
    let flags = syscall!(fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
    // SAFETY: F_SETFL takes an int of flags.
    syscall!(fcntl(
        fd.as_raw_fd(),
        libc::F_SETFL,
        flags | libc::O_NONBLOCK
    ))
    .map(drop)
}

/// `read(2)` into `buf`.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length.
    syscall!(read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())).map(|n| n as usize)
}

/// `write(2)` from `buf`. A pipe whose reader is gone gives `EPIPE`
/// (`BrokenPipe`): Rust programs ignore SIGPIPE from their start.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length.
    syscall!(write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len())).map(|n| n as usize)
}
