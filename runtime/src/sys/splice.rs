//! `splice(2)` through a pipe: moving bytes from one socket to another
//! without their ever entering user space (the kernel passes page
//! references from the receive queue to the pipe, then to the send queue).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::syscall;

/// A pipe's default capacity on Linux: what one splice into an empty pipe
/// can always hold, so kiwi never waits for the pipe itself.
pub const PIPE_CAPACITY: usize = 64 * 1024;

/// A pipe, both ends nonblocking and close-on-exec: `(read end, write end)`.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    syscall!(pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC))?;
    // SAFETY: the kernel just returned these two descriptors, owned by nobody
    // else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Moves up to `len` bytes from `from` to `to`, one of which must be a pipe,
/// without blocking on either (`SPLICE_F_NONBLOCK`), moving pages rather than
/// copying where the kernel can (`SPLICE_F_MOVE`). Returns 0 at end of input.
///
/// # Errors
///
/// `WouldBlock` when the socket side is not ready; `EINVAL` where a
/// descriptor does not support splicing (the caller falls back to copying).
pub fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    // SAFETY: null offsets mean "the files' own positions"; no memory is
    // passed.
    syscall!(splice(
        from.as_raw_fd(),
        std::ptr::null_mut(),
        to.as_raw_fd(),
        std::ptr::null_mut(),
        len,
        libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE
    ))
    .map(|n| n as usize)
}

/// True for the errors that mean "these descriptors cannot be spliced" (as
/// opposed to a failing connection): the caller copies instead.
pub fn is_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}
