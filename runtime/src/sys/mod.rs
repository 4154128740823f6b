//! The operating-system boundary: the only code in kiwi that calls `libc`.
//!
//! What this layer offers the rest of the runtime (and kiwi-net):
//!
//! - [`syscall!`], the one helper that turns a `-1` return into
//!   `io::Error::last_os_error()`;
//! - [`epoll`]: an epoll instance created with `EPOLL_CLOEXEC`, `ctl`, and a wait
//!   with a nanosecond timeout (`epoll_pwait2`) that falls back at run time to the
//!   millisecond `epoll_wait` on kernels or tools (valgrind) that answer `ENOSYS`;
//! - [`eventfd`]: the cross-thread doorbell, `EFD_CLOEXEC | EFD_NONBLOCK`;
//! - [`socket`]: nonblocking, close-on-exec sockets from birth and the calls kiwi-net
//!   needs (connect, accept4, readv, sendmsg with `MSG_NOSIGNAL`, options);
//! - [`signal`]: signal handlers that ring an eventfd (`kiwi::signal`);
//! - [`process`]: `pidfd_open`, and reads and writes on nonblocking pipes;
//! - [`splice`]: a nonblocking pipe pair and `splice(2)`, for moving bytes
//!   between sockets without copying them to user space;
//! - [`timerfd`]: a one-shot monotonic timer as a descriptor, the alarm that
//!   wakes a parked worker to watch its siblings.
//!
//! Rules every function here keeps:
//! - a new descriptor becomes an [`OwnedFd`](std::os::fd::OwnedFd) on the line that
//!   creates it, so no error path can leak it;
//! - every descriptor is created with `CLOEXEC` (and sockets with `NONBLOCK`);
//! - nothing here panics on a syscall result: errors are returned.

pub mod epoll;
pub mod eventfd;
pub mod process;
pub mod signal;
pub mod socket;
pub mod splice;
pub mod timerfd;

/// Calls a libc function and turns the C convention (`-1` and `errno`) into
/// `io::Result`.
///
/// The expansion contains an `unsafe` block: the caller's `// SAFETY:` comment,
/// written just above the macro call, must say why the arguments are valid.
#[macro_export]
#[doc(hidden)]
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: the caller's `// SAFETY:` comment, above the macro call,
        // says why the arguments are valid for this call.
        #[allow(clippy::undocumented_unsafe_blocks)]
        let res = unsafe { ::libc::$fn($($arg),*) };
        if res == -1 {
            Err(::std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}
pub use crate::syscall;
