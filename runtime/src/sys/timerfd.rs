//! A one-shot timer as a descriptor: the runtime's watch alarm
//! (`worker/alarm.rs`).
//!
//! A timerfd becomes readable when it expires, and epoll reports that like
//! any other readiness. Each expiry notifies epoll anew, so an
//! edge-triggered registration sees every expiry without the count ever
//! being read back (registered `EPOLLEXCLUSIVE` in several epolls, an
//! expiry reaches only as many of them as the kernel walks: see
//! `Reactor::add_alarm`).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::syscall;

/// A nonblocking, close-on-exec `CLOCK_MONOTONIC` timerfd.
#[derive(Debug)]
pub struct TimerFd {
    fd: OwnedFd,
}

impl TimerFd {
    /// Creates the timer, disarmed.
    pub fn new() -> io::Result<TimerFd> {
        // SAFETY: timerfd_create takes no pointers.
        let raw = syscall!(timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_CLOEXEC | libc::TFD_NONBLOCK
        ))?;
        // SAFETY: `raw` was just returned by timerfd_create and is owned by
        // nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(TimerFd { fd })
    }

    /// Arms the timer to expire once, `after` from now (a zero `after` would
    /// disarm it, so it is raised to a nanosecond). Rearming replaces the
    /// previous expiry.
    pub fn arm_once(&self, after: Duration) -> io::Result<()> {
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `spec` is a live itimerspec; a null old-value pointer is
        // allowed.
        syscall!(timerfd_settime(
            self.fd.as_raw_fd(),
            0,
            &spec,
            std::ptr::null_mut()
        ))?;
        Ok(())
    }
}

impl AsFd for TimerFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::epoll::Epoll;

    #[test]
    fn an_armed_timer_wakes_an_edge_triggered_epoll_once_per_expiry() {
        let timer = TimerFd::new().unwrap();
        let epoll = Epoll::new().unwrap();
        let events = (libc::EPOLLIN | libc::EPOLLET) as u32;
        epoll.add_with(timer.as_fd(), 7, events).unwrap();
        let mut buf = [libc::epoll_event { events: 0, u64: 0 }; 4];
        let mut wait = |ms| {
            let n = epoll
                .wait(&mut buf, Some(Duration::from_millis(ms)))
                .unwrap();
            (n, buf[0].u64)
        };
        assert_eq!(wait(0).0, 0, "a disarmed timer is silent");
        for _ in 0..2 {
            // Never read back: each expiry is a new edge all the same.
            timer.arm_once(Duration::from_millis(1)).unwrap();
            assert_eq!(wait(1_000), (1, 7));
            assert_eq!(wait(5).0, 0, "one edge per expiry");
        }
    }
}
