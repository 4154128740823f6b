//! Paused time on a lone worker (`kiwi::time::pause`): instead of sleeping
//! until its next timer, the worker moves its clock there, once nothing else
//! can happen first. This is what lets a test run an hour of timers in
//! milliseconds.

use std::sync::atomic::{AtomicBool, Ordering};

use super::Worker;
use crate::metrics::bump;

impl Worker {
    /// Paused time, on a lone worker: instead of sleeping until the next
    /// timer, move the clock to it, once nothing is runnable, nothing is
    /// ready in the reactor (a socket's answer already there wins against a
    /// timer), and no blocking-pool job is in flight (tokio#4614: a
    /// `timeout` around file I/O must not elapse at once). True if the
    /// caller must look around again instead of parking.
    pub(super) fn auto_advance(&self, root_woken: &AtomicBool) -> bool {
        self.turn_reactor(Some(std::time::Duration::ZERO));
        if self.drain_remote() || self.has_runnable() || root_woken.load(Ordering::Acquire) {
            return true;
        }
        if self.handle.inner.blocking.busy() > 0 {
            return false;
        }
        let Some(deadline) = self.timers.next_deadline() else {
            return false; // nothing to wait for but I/O and wakes
        };
        let skip = deadline.saturating_duration_since(self.timers.clock().now());
        let turn = self.timers.advance(skip);
        bump(&self.shared.metrics.timers_fired, turn.fired as u64);
        true
    }

    /// Pauses this worker's clock; false if it cannot pause (not a lone
    /// worker).
    pub(crate) fn pause_clock(&self) -> bool {
        self.timers.pause()
    }
}
