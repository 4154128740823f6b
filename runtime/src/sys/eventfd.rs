//! The eventfd doorbell that wakes a parked worker (Kiwi's wakeup channel).
//!
//! A worker parks inside `epoll_wait`. Another thread that hands it work rings this
//! doorbell: writing to the eventfd makes it readable, epoll reports the edge, and
//! the worker returns. Each write produces a new edge even while the counter is
//! non-zero (the kernel calls the epoll callback on every write), so the worker never
//! needs to read the counter back. It only would if the counter were about to
//! overflow, which 2^64 - 2 writes of 1 make impossible in practice; on that
//! `WouldBlock` we drain it and write again anyway.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::syscall;

/// A nonblocking, close-on-exec eventfd.
#[derive(Debug)]
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    /// Creates the eventfd with a zero counter.
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes no pointers.
        let raw = syscall!(eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK))?;
        // SAFETY: `raw` was just returned by eventfd and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(EventFd { fd })
    }

    /// Adds one to the counter, which wakes an `epoll_wait` watching it.
    pub fn notify(&self) -> io::Result<()> {
        let one: u64 = 1;
        loop {
            // SAFETY: writes 8 bytes from a live u64 to a descriptor we own.
            let res = syscall!(write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8));
            match res {
                Ok(_) => return Ok(()),
                // The counter is saturated: empty it and try again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drain()?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the counter back to zero (used by the signal doorbell, which must
    /// know how many times it rang, and on saturation).
    pub fn drain(&self) -> io::Result<u64> {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from a descriptor we own.
        match syscall!(read(
            self.fd.as_raw_fd(),
            (&mut count as *mut u64).cast(),
            8
        )) {
            Ok(_) => Ok(count),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
