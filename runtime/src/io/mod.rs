//! Readiness-based I/O: the adapter every kiwi socket uses, public as [`AsyncFd`].

mod async_fd;

pub use crate::reactor::{
    Direction, FdSource, Io, ReadyEvent, Registration, ScheduledIo, Source, WaiterKey,
};
pub use async_fd::{AsyncFd, AsyncFdReadyGuard, Readable, TryIoError, Writable};
