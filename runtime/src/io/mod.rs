//! Readiness-based I/O: the adapter every kiwi socket uses, public as [`AsyncFd`].

mod async_fd;
pub(crate) mod blocking;
mod stdio;

pub use crate::reactor::{
    Direction, FdSource, Io, ReadyEvent, Registration, ScheduledIo, Source, WaiterKey,
};
pub use async_fd::{AsyncFd, AsyncFdReadyGuard, Readable, TryIoError, Writable};
pub use stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
