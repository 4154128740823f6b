//! The benchmark groups. Each runs inside a child process for one runtime and
//! prints its figures with [`crate::harness::report`].

pub mod micro;
pub mod mt;
pub mod sched;
pub mod timers;
pub mod wake;

use std::time::{Duration, Instant};

use crate::harness::median;

/// Calls `f` `warmup` times unmeasured, then `reps` times, and returns the
/// median of what `f` measured.
pub fn median_of(warmup: usize, reps: usize, mut f: impl FnMut() -> f64) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let v: Vec<f64> = (0..reps).map(|_| f()).collect();
    median(&v).unwrap_or(f64::NAN)
}

/// Nanoseconds per operation for `n` operations that took `d`.
pub fn ns_per(d: Duration, n: usize) -> f64 {
    d.as_nanos() as f64 / n as f64
}

/// A timer for the measured sections.
pub fn now() -> Instant {
    Instant::now()
}
