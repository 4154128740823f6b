//! The scheduler with two workers: kiwi `Builder::workers(2)`, tokio's
//! `multi_thread` runtime with `worker_threads(2)`, smol's `Executor` run by two
//! threads (see [`MtRt`]). The root future runs in `block_on` on the main
//! thread, which is none of the workers.
//!
//! Unlike the other in-process groups, the child is pinned to CPUs 0 and 1
//! (`taskset -c 0,1`, the whole of a 2-CPU machine), not to CPU 0 alone: two
//! workers sharing one CPU would measure time slicing, not scheduling.
//!
//! - Speed rows: B4's workloads (`suite::sched`, tokio's
//!   `benches/rt_multi_threaded.rs` parameters), the same code on two workers.
//!   Tasks are spawned from inside a task unless the row says "from the root";
//!   chained_spawn's first link is spawned from the root, as in tokio's bench,
//!   and every later one from the task before it.
//! - Balance rows: makespan / ideal, where ideal is the row's CPU work divided
//!   by 2 workers; 1.0 is perfect, 2.0 is all the work on one worker. The work
//!   is a spin on the monotonic clock until a deadline, so "3 ms" is 3 ms of
//!   wall time on a core, and a spinning worker that the OS preempts still
//!   finishes on time: the ratio measures where tasks were placed, not CPU
//!   contention. The makespan runs from the first spawn to the last join.
//!
//! Every row: 3 warm-up iterations, then the median of 15.
//!
//! Rows made of wakes from one worker to the other can be bimodal from one
//! child process to the next: the cost of such a wake depends on whether the
//! kernel happens to run both workers on one CPU or one on each (an idle
//! virtual CPU is slow to wake). Read them with the noise column.

use std::future::Future;
use std::time::{Duration, Instant};

use super::now;
use super::sched::{chained_spawn, ping_pong, spawn_many, yield_many};
use crate::harness::{median, report, Better};
use crate::rt::MtRt;

/// Tasks in `spawn_many` (B4's figure).
const SPAWN_MANY: f64 = 10_000.0;
/// The CPU work of an even task in the first two balance rows.
const EVEN_COST: Duration = Duration::from_millis(3);
/// What a heavy long-lived task spins before each of its yields.
const HEAVY_SLICE: Duration = Duration::from_micros(200);
/// Yields of each long-lived task.
const LONG_YIELDS: usize = 100;
/// Seed of the random costs, the same for every runtime and iteration.
const SEED: u64 = 0x6b69_7769;

/// Runs the group for runtime `R`.
pub fn run<R: MtRt>() {
    R::block_on_mt(async {
        let v = median15(|| timed(chained_spawn::<R>())).await;
        report("chained_spawn 1000", "µs/iter", Better::Lower, v);

        let v = median15(|| timed(in_task::<R, _>(spawn_many::<R>()))).await;
        let v = v * 1e3 / SPAWN_MANY;
        report("spawn_many 10k from a task", "ns/task", Better::Lower, v);
        let v = median15(|| timed(spawn_many::<R>())).await;
        let v = v * 1e3 / SPAWN_MANY;
        report("spawn_many 10k from the root", "ns/task", Better::Lower, v);

        let v = median15(|| timed(in_task::<R, _>(yield_many::<R>()))).await;
        report("yield_many 200×1000", "µs/iter", Better::Lower, v);
        // ping_pong spawns its pings from a task already.
        let v = median15(|| timed(ping_pong::<R>())).await;
        report("ping_pong 1000", "µs/iter", Better::Lower, v);

        let costs = even_odd_costs();
        let v = median15(|| balance(&costs, spin_all::<R>(costs.clone()))).await;
        report(
            "balance: 32 tasks from the root, even ones 3 ms, odd none",
            "× ideal",
            Better::Lower,
            v,
        );
        let v = median15(|| balance(&costs, in_task::<R, _>(spin_all::<R>(costs.clone())))).await;
        report(
            "balance: the same 32 fanned out from a task",
            "× ideal",
            Better::Lower,
            v,
        );

        let heavy = vec![HEAVY_SLICE * LONG_YIELDS as u32; 4];
        let v = median15(|| balance(&heavy, in_task::<R, _>(heavy_light::<R>()))).await;
        report(
            "balance: 8 long-lived, alternately 100×(200 µs + yield) and 100 yields",
            "× ideal",
            Better::Lower,
            v,
        );

        let costs = random_costs();
        let v = median15(|| balance(&costs, in_task::<R, _>(spin_all::<R>(costs.clone())))).await;
        report(
            "balance: 64 tasks of random 0–2 ms (seeded), from a task",
            "× ideal",
            Better::Lower,
            v,
        );
    });
}

/// Awaits `iter()` 3 times unmeasured, then 15 times: the median of the
/// figures it returned.
async fn median15<F: Future<Output = f64>>(mut iter: impl FnMut() -> F) -> f64 {
    for _ in 0..3 {
        iter().await;
    }
    let mut v = Vec::with_capacity(15);
    for _ in 0..15 {
        v.push(iter().await);
    }
    median(&v).unwrap_or(f64::NAN)
}

/// Microseconds `f` took.
async fn timed(f: impl Future<Output = ()>) -> f64 {
    let t = now();
    f.await;
    t.elapsed().as_secs_f64() * 1e6
}

/// Runs `f` as a task and waits for it, so that what it spawns is spawned
/// from a worker rather than from the root.
async fn in_task<R: MtRt, F>(f: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    R::spawn(f).await;
}

/// Makespan of `work` over the ideal for CPU work `costs` on 2 workers.
async fn balance(costs: &[Duration], work: impl Future<Output = ()>) -> f64 {
    let ideal = costs.iter().sum::<Duration>().as_secs_f64() / 2.0;
    let t = now();
    work.await;
    t.elapsed().as_secs_f64() / ideal
}

/// Busy-waits `d` of wall time on this thread.
fn spin(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

/// Spawns one task per cost, in order, each spinning that long; joins them.
async fn spin_all<R: MtRt>(costs: Vec<Duration>) {
    let tasks: Vec<_> = costs
        .into_iter()
        .map(|c| R::spawn(async move { spin(c) }))
        .collect();
    for t in tasks {
        t.await;
    }
}

/// 8 long-lived tasks: even ones spin 200 µs before each of their 100 yields,
/// odd ones only yield.
async fn heavy_light<R: MtRt>() {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            R::spawn(async move {
                for _ in 0..LONG_YIELDS {
                    if i % 2 == 0 {
                        spin(HEAVY_SLICE);
                    }
                    R::yield_now().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await;
    }
}

/// 32 costs: 3 ms for the even tasks, none for the odd ones.
fn even_odd_costs() -> Vec<Duration> {
    (0..32)
        .map(|i| {
            if i % 2 == 0 {
                EVEN_COST
            } else {
                Duration::ZERO
            }
        })
        .collect()
}

/// 64 costs uniform in 0..=2 ms (µs steps) from splitmix64 seeded with [`SEED`].
fn random_costs() -> Vec<Duration> {
    let mut x = SEED;
    (0..64)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            Duration::from_micros(z % 2001)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_fixed_and_in_range() {
        let even: Duration = even_odd_costs().iter().sum();
        assert_eq!(even, Duration::from_millis(48));
        let r = random_costs();
        assert_eq!(r, random_costs());
        assert_eq!(r.len(), 64);
        assert!(r.iter().all(|&c| c <= Duration::from_millis(2)));
    }
}
