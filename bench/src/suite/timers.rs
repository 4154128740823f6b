//! B5 timers: register + cancel, 100k concurrent sleeps, `sleep(1.5 ms)`
//! lateness.

use std::pin::pin;
use std::time::Duration;

use futures_lite::future::poll_once;

use super::{median_of, now, ns_per};
use crate::harness::{percentile, report, Better};
use crate::rt::Rt;

const TIMEOUTS: usize = 1_000_000;
const SLEEPERS: usize = 100_000;
const SHORT_SLEEPS: usize = 300;
const SHORT: Duration = Duration::from_micros(1_500);

/// Runs the group for runtime `R`.
pub fn run<R: Rt>() {
    let ns = median_of(1, 3, register_cancel::<R>);
    report(
        "timeout polled once + cancelled",
        "ns/timer",
        Better::Lower,
        ns,
    );

    let (wall, p50, p99) = concurrent_sleeps::<R>();
    report("100k sleeps 1–100 ms: wall time", "ms", Better::Lower, wall);
    report("100k sleeps: lateness p50", "ms", Better::Lower, p50);
    report("100k sleeps: lateness p99", "ms", Better::Lower, p99);

    let (mean, p99, max) = short_sleep_lateness::<R>();
    report("sleep(1.5 ms) mean lateness", "ms", Better::Lower, mean);
    report("sleep(1.5 ms) p99 lateness", "ms", Better::Lower, p99);
    report("sleep(1.5 ms) max lateness", "ms", Better::Lower, max);
}

/// `timeout(d, pending())` created, polled once (which registers the timer)
/// and dropped (which cancels it), `TIMEOUTS` times with deadlines spread
/// over 100..1100 ms: ns per timer.
fn register_cancel<R: Rt>() -> f64 {
    R::block_on(async {
        let t = now();
        for i in 0..TIMEOUTS {
            let d = Duration::from_millis(100 + (i as u64 * 7) % 1000);
            let timer = pin!(R::timeout_pending(d));
            let _ = poll_once(timer).await;
        }
        ns_per(t.elapsed(), TIMEOUTS)
    })
}

/// `SLEEPERS` tasks each sleep 1–100 ms (spread evenly); each measures its
/// own lateness against the moment it created its sleep. Returns the wall
/// time from the first spawn to the last join, and lateness p50 and p99, in ms.
fn concurrent_sleeps<R: Rt>() -> (f64, f64, f64) {
    R::block_on(async {
        let t = now();
        let handles: Vec<_> = (0..SLEEPERS)
            .map(|i| {
                let d = Duration::from_millis(1 + (i as u64 * 37) % 100);
                R::spawn(async move {
                    let start = now();
                    R::sleep(d).await;
                    (start.elapsed().saturating_sub(d)).as_secs_f64() * 1e3
                })
            })
            .collect();
        let mut late = Vec::with_capacity(SLEEPERS);
        for h in handles {
            late.push(h.await);
        }
        let wall = t.elapsed().as_secs_f64() * 1e3;
        late.sort_by(|a, b| a.total_cmp(b));
        (wall, percentile(&late, 50.0), percentile(&late, 99.0))
    })
}

/// `SHORT_SLEEPS` sequential `sleep(1.5 ms)` on an otherwise idle runtime:
/// mean, p99 and max lateness in ms.
fn short_sleep_lateness<R: Rt>() -> (f64, f64, f64) {
    R::block_on(async {
        // One unmeasured sleep first: lazy set-up of the timer machinery is
        // not lateness (the max below still shows any outlier).
        R::sleep(SHORT).await;
        let mut late = Vec::with_capacity(SHORT_SLEEPS);
        for _ in 0..SHORT_SLEEPS {
            let t = now();
            R::sleep(SHORT).await;
            late.push(t.elapsed().saturating_sub(SHORT).as_secs_f64() * 1e3);
        }
        let mean = late.iter().sum::<f64>() / late.len() as f64;
        late.sort_by(|a, b| a.total_cmp(b));
        (mean, percentile(&late, 99.0), late[late.len() - 1])
    })
}
