//! Cross-thread wakes: a plain thread (pinned to the other CPU) wakes a task on
//! the single worker through `async-channel`, which knows no runtime.
//!
//! - B6 "singly": the thread sends 1M messages one `send` at a time, as fast
//!   as it can, into an unbounded channel; the task receives them.
//! - B6 "bursts of 64": the thread sends 64 messages, waits (spinning) until
//!   the task has received them all, and sends the next 64.
//! - issue 2 "busy worker": a busy task keeps the worker running (about 0.5 µs
//!   of work between yields) while the thread sends 20k messages one by one,
//!   each after the previous was received, so every message is a separate wake
//!   of an idle task on a busy worker. The eventfd need not be written.
//!
//! For kiwi the worker's `eventfd_writes()` counter is divided by the messages;
//! tokio and smol don't expose theirs.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::now;
use crate::harness::{report, Better};
use crate::procfs::pin_current_thread;
use crate::rt::Rt;

const MESSAGES: usize = 1_000_000;
const BURST: usize = 64;
const BUSY_WAKES: usize = 20_000;

/// Runs the group for runtime `R`.
pub fn run<R: Rt>() {
    let (rate, writes) = stream::<R>(1);
    report("1M messages singly", "msg/s", Better::Higher, rate);
    if let Some(w) = writes {
        report(
            "1M messages singly: eventfd writes",
            "writes/msg",
            Better::Lower,
            w,
        );
    }
    let (rate, writes) = stream::<R>(BURST);
    report("1M messages in bursts of 64", "msg/s", Better::Higher, rate);
    if let Some(w) = writes {
        report(
            "bursts of 64: eventfd writes",
            "writes/msg",
            Better::Lower,
            w,
        );
    }
    let (ns, writes) = busy_worker::<R>();
    report(
        "wake of an idle task on a busy worker",
        "ns/wake",
        Better::Lower,
        ns,
    );
    if let Some(w) = writes {
        report(
            "busy worker: eventfd writes",
            "writes/wake",
            Better::Lower,
            w,
        );
    }
}

/// Eventfd writes made so far on this worker (kiwi only).
fn eventfd_writes<R: Rt>() -> Option<u64> {
    R::counters().map(|(writes, _, _)| writes)
}

/// The receive counter, alone on its cache line(s).
///
/// The receiving task bumps it once per message. Unpadded, it sat wherever
/// the allocator put it, sometimes on a line the channel's sender writes, and
/// that false sharing, not the runtime, decided B6 "singly" (kiwi measured
/// 9–16M msg/s unpadded and 17–24M padded in the same loop; see
/// docs/BENCHMARKS.md). 128 bytes covers the adjacent-line prefetcher.
#[derive(Default)]
#[repr(align(128))]
struct Padded(AtomicUsize);

impl std::ops::Deref for Padded {
    type Target = AtomicUsize;
    fn deref(&self) -> &AtomicUsize {
        &self.0
    }
}

/// Spins until `counter` reaches `target`.
fn spin_until(counter: &AtomicUsize, target: usize) {
    while counter.load(Ordering::Acquire) < target {
        std::hint::spin_loop();
    }
}

/// Sends `MESSAGES` from a plain thread in groups of `burst`, waiting for each
/// group to be received before the next when `burst > 1`. Returns messages/s
/// and, for kiwi, eventfd writes per message.
fn stream<R: Rt>(burst: usize) -> (f64, Option<f64>) {
    R::block_on(async move {
        let (tx, rx) = async_channel::unbounded::<usize>();
        let received = Arc::new(Padded::default());
        let seen = received.clone();
        let receiver = R::spawn(async move {
            let t = now();
            for _ in 0..MESSAGES {
                black_box(rx.recv().await.unwrap());
                seen.fetch_add(1, Ordering::Release);
            }
            t.elapsed()
        });
        let before = eventfd_writes::<R>();
        let sender = std::thread::spawn(move || {
            let _ = pin_current_thread(1);
            for i in 0..MESSAGES {
                tx.send_blocking(i).unwrap();
                if burst > 1 && (i + 1) % burst == 0 {
                    spin_until(&received, i + 1);
                }
            }
        });
        let elapsed = receiver.await;
        sender.join().unwrap();
        let writes = eventfd_writes::<R>()
            .zip(before)
            .map(|(a, b)| (a - b) as f64 / MESSAGES as f64);
        (MESSAGES as f64 / elapsed.as_secs_f64(), writes)
    })
}

/// A busy task plus a receiving task; the thread sends one message at a time
/// and waits for it to be received. Returns ns per wake (send to receipt
/// acknowledged) and, for kiwi, eventfd writes per wake.
fn busy_worker<R: Rt>() -> (f64, Option<f64>) {
    R::block_on(async {
        let (tx, rx) = async_channel::unbounded::<usize>();
        let received = Arc::new(Padded::default());
        let done = Arc::new(AtomicBool::new(false));
        let (seen, stop) = (received.clone(), done.clone());
        let busy = R::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for i in 0..100u32 {
                    black_box(i);
                }
                R::yield_now().await;
            }
        });
        let receiver = R::spawn(async move {
            for _ in 0..BUSY_WAKES {
                black_box(rx.recv().await.unwrap());
                seen.fetch_add(1, Ordering::Release);
            }
        });
        // Let the busy task get going before the first wake.
        R::yield_now().await;
        let before = eventfd_writes::<R>();
        let sender = std::thread::spawn(move || {
            let _ = pin_current_thread(1);
            let t = now();
            for i in 0..BUSY_WAKES {
                tx.send_blocking(i).unwrap();
                spin_until(&received, i + 1);
            }
            t.elapsed()
        });
        receiver.await;
        let writes = eventfd_writes::<R>()
            .zip(before)
            .map(|(a, b)| (a - b) as f64 / BUSY_WAKES as f64);
        done.store(true, Ordering::Relaxed);
        busy.await;
        let elapsed: Duration = sender.join().unwrap();
        (elapsed.as_nanos() as f64 / BUSY_WAKES as f64, writes)
    })
}
