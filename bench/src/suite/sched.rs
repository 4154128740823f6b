//! B4: the scheduler on one thread, with the parameters of tokio's own
//! `benches/rt_multi_threaded.rs` (spawn_many 10k, yield_many 200 × 1000,
//! ping_pong 1000, chained_spawn depth 1000), run on one worker. Where tokio's
//! benchmark blocks the caller on a `std::sync::mpsc` channel, which would
//! deadlock a single thread, the root future awaits a `futures_channel`
//! oneshot instead; the per-ping oneshots are `futures_channel` ones too, the
//! same for every runtime.
//!
//! The `mt` group ([`super::mt`]) runs these four workloads on two workers.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use futures_channel::oneshot;

use super::now;
use crate::harness::{median, report, Better};
use crate::rt::Rt;

const SPAWN_MANY: usize = 10_000;
const YIELD_TASKS: usize = 200;
const YIELDS: usize = 1_000;
const PINGS: usize = 1_000;
const CHAIN: usize = 1_000;

/// Runs the group for runtime `R`.
pub fn run<R: Rt>() {
    R::block_on(async {
        let v = median_us(spawn_many::<R>).await;
        report("spawn_many 10k", "µs/iter", Better::Lower, v);
        let v = median_us(yield_many::<R>).await;
        report("yield_many 200×1000", "µs/iter", Better::Lower, v);
        let v = median_us(ping_pong::<R>).await;
        report("ping_pong 1000", "µs/iter", Better::Lower, v);
        let v = median_us(chained_spawn::<R>).await;
        report("chained_spawn 1000", "µs/iter", Better::Lower, v);
    });
}

/// Runs `iter` 3 times unmeasured, then 15 times: the median in µs.
async fn median_us<F: Future<Output = ()>>(mut iter: impl FnMut() -> F) -> f64 {
    for _ in 0..3 {
        iter().await;
    }
    let mut v = Vec::with_capacity(15);
    for _ in 0..15 {
        let t = now();
        iter().await;
        v.push(t.elapsed().as_secs_f64() * 1e6);
    }
    median(&v).unwrap_or(f64::NAN)
}

type Countdown = (AtomicUsize, Mutex<Option<oneshot::Sender<()>>>);

/// A counter that fires a oneshot when it reaches zero.
fn countdown(n: usize) -> (Arc<Countdown>, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    (Arc::new((AtomicUsize::new(n), Mutex::new(Some(tx)))), rx)
}

/// Counts one down; the last one fires the oneshot.
fn count_down(c: &Countdown) {
    if c.0.fetch_sub(1, Relaxed) == 1 {
        if let Some(tx) = c.1.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }
}

pub(super) async fn spawn_many<R: Rt>() {
    let (c, done) = countdown(SPAWN_MANY);
    for _ in 0..SPAWN_MANY {
        let c = c.clone();
        R::detach(R::spawn(async move { count_down(&c) }));
    }
    done.await.unwrap();
}

pub(super) async fn yield_many<R: Rt>() {
    let (c, done) = countdown(YIELD_TASKS);
    for _ in 0..YIELD_TASKS {
        let c = c.clone();
        R::detach(R::spawn(async move {
            for _ in 0..YIELDS {
                R::yield_now().await;
            }
            count_down(&c);
        }));
    }
    done.await.unwrap();
}

pub(super) async fn ping_pong<R: Rt>() {
    let (c, done) = countdown(PINGS);
    R::detach(R::spawn(async move {
        for _ in 0..PINGS {
            let c = c.clone();
            R::detach(R::spawn(async move {
                let (tx1, rx1) = oneshot::channel::<()>();
                let (tx2, rx2) = oneshot::channel::<()>();
                R::detach(R::spawn(async move {
                    rx1.await.unwrap();
                    tx2.send(()).unwrap();
                }));
                tx1.send(()).unwrap();
                rx2.await.unwrap();
                count_down(&c);
            }));
        }
    }));
    done.await.unwrap();
}

fn chain<R: Rt>(done: oneshot::Sender<()>, n: usize) {
    if n == 0 {
        let _ = done.send(());
    } else {
        R::detach(R::spawn(async move { chain::<R>(done, n - 1) }));
    }
}

pub(super) async fn chained_spawn<R: Rt>() {
    let (tx, rx) = oneshot::channel();
    R::detach(R::spawn(async move { chain::<R>(tx, CHAIN) }));
    rx.await.unwrap();
}
