//! Issue 2's micro benchmarks: spawn + join, `yield_now`, memory per pending
//! task.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::{median_of, now, ns_per};
use crate::alloc;
use crate::harness::{report, Better};
use crate::rt::Rt;

const SPAWN_N: usize = 100_000;
const BATCH: usize = 1_000;
const YIELDS: usize = 1_000_000;
const PENDING_N: usize = 100_000;

/// Runs the group for runtime `R`.
pub fn run<R: Rt>() {
    let ns = median_of(1, 5, spawn_join::<R>);
    report("spawn+join, one at a time", "ns/op", Better::Lower, ns);
    let ns = median_of(1, 5, spawn_batch_join::<R>);
    report("spawn 1k then join 1k", "ns/task", Better::Lower, ns);
    let ns = median_of(1, 5, yield_round_trip::<R>);
    report("yield_now round trip", "ns/op", Better::Lower, ns);
    // Last: it leaves 100k tasks behind until its block_on returns.
    let (bytes, allocs) = pending_task_memory::<R>();
    report("memory per pending task", "B/task", Better::Lower, bytes);
    report(
        "allocations per pending task",
        "allocs/task",
        Better::Lower,
        allocs,
    );
}

/// Spawns an empty task and awaits it, `SPAWN_N` times: ns per spawn + join.
fn spawn_join<R: Rt>() -> f64 {
    R::block_on(async {
        let t = now();
        for _ in 0..SPAWN_N {
            R::spawn(async {}).await;
        }
        ns_per(t.elapsed(), SPAWN_N)
    })
}

/// Spawns 1000 empty tasks, then awaits them in order: ns per task.
fn spawn_batch_join<R: Rt>() -> f64 {
    R::block_on(async {
        let mut handles = Vec::with_capacity(BATCH);
        let t = now();
        for _ in 0..SPAWN_N / BATCH {
            handles.extend((0..BATCH).map(|_| R::spawn(async {})));
            for h in handles.drain(..) {
                h.await;
            }
        }
        ns_per(t.elapsed(), SPAWN_N)
    })
}

/// One spawned task yields `YIELDS` times: ns per yield (the task is woken,
/// queued, and polled again each time).
fn yield_round_trip<R: Rt>() -> f64 {
    R::block_on(async {
        R::spawn(async {
            let t = now();
            for _ in 0..YIELDS {
                R::yield_now().await;
            }
            ns_per(t.elapsed(), YIELDS)
        })
        .await
    })
}

static POLLED: AtomicUsize = AtomicUsize::new(0);

/// Live heap bytes (and allocations) per task after spawning `PENDING_N`
/// detached tasks that each were polled once and now wait on `pending()`.
/// Counted: the task allocation, the runtime's per-task bookkeeping (registry,
/// executor slab, queue growth); not counted: the JoinHandles (dropped).
fn pending_task_memory<R: Rt>() -> (f64, f64) {
    R::block_on(async {
        // Warm the runtime so its one-time allocations are not counted.
        R::spawn(async {}).await;
        POLLED.store(0, Relaxed);
        alloc::start();
        for _ in 0..PENDING_N {
            R::detach(R::spawn(async {
                POLLED.fetch_add(1, Relaxed);
                std::future::pending::<()>().await;
            }));
        }
        while POLLED.load(Relaxed) < PENDING_N {
            R::yield_now().await;
        }
        let (bytes, allocs) = alloc::live();
        (
            bytes as f64 / PENDING_N as f64,
            allocs as f64 / PENDING_N as f64,
        )
    })
}
