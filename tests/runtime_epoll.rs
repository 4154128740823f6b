//! Which wait the reactor uses: `epoll_pwait2`, with a nanosecond timeout,
//! where the kernel has it (Linux 5.11+), and otherwise `epoll_wait`, with the
//! timeout rounded up to whole milliseconds so that no timer fires early.
//! Its own test binary: the fallback, once taken, holds for the process.

mod util;

use std::time::{Duration, Instant};

use kiwi_runtime::sys::epoll::{disable_pwait2, pwait2_disabled, Epoll, Event};
use util::rt::with_deadline;

/// `(major, minor)` of the running kernel, from `uname -r`'s text.
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release.trim().split(['.', '-']);
    let major = parts.next().unwrap().parse().unwrap();
    let minor = parts.next().unwrap().parse().unwrap();
    (major, minor)
}

fn wait_empty(ep: &Epoll, timeout: Duration) -> Duration {
    let mut events = [Event { events: 0, u64: 0 }; 4];
    let t0 = Instant::now();
    assert_eq!(ep.wait(&mut events, Some(timeout)).unwrap(), 0);
    t0.elapsed()
}

#[test]
fn pwait2_where_the_kernel_has_it_and_a_millisecond_fallback() {
    with_deadline(30, || {
        let ep = Epoll::new().unwrap();
        // 1. A timed wait, and timers, with the kernel's choice.
        assert!(wait_empty(&ep, Duration::from_micros(100)) >= Duration::from_micros(100));
        let has_pwait2 = kernel_version() >= (5, 11);
        assert_eq!(
            pwait2_disabled(),
            !has_pwait2,
            "kernel {:?}: epoll_pwait2 refused or used unexpectedly",
            kernel_version()
        );
        kiwi::block_on(async {
            let t0 = Instant::now();
            kiwi::time::sleep(Duration::from_micros(1500)).await;
            assert!(t0.elapsed() >= Duration::from_micros(1500));
        });

        // 2. Forced fallback: a 100 µs wait now lasts at least a whole
        // millisecond (rounded up, never down to a busy zero-timeout loop),
        // and timers are still never early.
        disable_pwait2();
        assert!(pwait2_disabled());
        for _ in 0..5 {
            let waited = wait_empty(&ep, Duration::from_micros(100));
            assert!(
                waited >= Duration::from_millis(1),
                "waited {waited:?}: not rounded up"
            );
        }
        kiwi::block_on(async {
            for us in [300, 1500, 2500] {
                let t0 = Instant::now();
                kiwi::time::sleep(Duration::from_micros(us)).await;
                assert!(
                    t0.elapsed() >= Duration::from_micros(us),
                    "early by the fallback"
                );
            }
        });
    });
}
