//! Reliability, memory after a burst: a runtime that queued 200,000 tasks at
//! once gives the queues' capacity back once it has run them.
//!
//! Bug class guarded against: a queue that grows to a burst's size and keeps
//! that capacity for the rest of the process, 8 bytes per task of the
//! largest burst ever seen, per queue. The lone worker's deque and the
//! queues of local tasks already shed it (`runtime/src/worker/queue.rs`);
//! this test covers what a pool of two adds: the remote queues that spawns
//! from outside the pool land in (and the spare vectors they are swapped
//! with), and the shared overflow queue that a full ring spills into.
//!
//! Both workers are blocked while the burst is queued, so every task waits
//! in a remote queue, and each worker then moves 100,000 tasks through its
//! 256-slot ring, which overflows. Live heap bytes (a counting global
//! allocator, as in `reliability_leaks.rs`) must come back to within 256 KiB
//! of where they were before the burst. Its own binary: the count is
//! process-wide.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use util::rel::{live_bytes, wait_until, with_deadline};

#[global_allocator]
static ALLOC: util::rel::Counting = util::rel::Counting;

const BURST: usize = 200_000;

/// What may stay allocated after the burst: far below the burst's own
/// queue capacity (at least 8 bytes × 200,000 = 1.6 MB, counted twice by a
/// remote queue and its spare), far above what the queues keep when dry.
const SLACK: isize = 256 * 1024;

#[test]
fn a_burst_of_spawns_from_outside_gives_its_queue_memory_back() {
    with_deadline(60, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let handle = rt.handle();
        let ran = Arc::new(AtomicUsize::new(0));
        let burst = |n: usize| {
            for _ in 0..n {
                let ran = ran.clone();
                drop(handle.spawn(async move {
                    ran.fetch_add(1, Ordering::Relaxed);
                }));
            }
        };
        // Warm up: whatever a runtime allocates once, it allocates now.
        burst(1_000);
        wait_until(Duration::from_secs(10), "the warm-up runs", || {
            ran.load(Ordering::Relaxed) == 1_000
        });

        // Block both workers: then every task of the burst waits in a remote
        // queue, which only its owner drains. Spawns from outside alternate
        // between the workers, but a blocker may be stolen by the worker the
        // next one was sent to, so one more is sent until two have started
        // (each that starts blocks a worker; extras return on release).
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let blocked = Arc::new(AtomicUsize::new(0));
        let mut last_sent = Instant::now() - Duration::from_secs(1);
        let mut sent = 0;
        while blocked.load(Ordering::SeqCst) < 2 {
            if sent < 2 || last_sent.elapsed() > Duration::from_millis(500) {
                let (rx, blocked) = (release_rx.clone(), blocked.clone());
                drop(handle.spawn(async move {
                    blocked.fetch_add(1, Ordering::SeqCst);
                    // Blocks this worker's thread until the burst is queued.
                    let _ = rx.lock().unwrap().recv();
                }));
                sent += 1;
                last_sent = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        let before = live_bytes();

        burst(BURST);
        let queued = live_bytes() - before;
        drop(release_tx); // both blockers return
        wait_until(Duration::from_secs(30), "the burst runs", || {
            ran.load(Ordering::Relaxed) == 1_000 + BURST
        });
        // The last tasks free themselves just after they count: give the
        // workers up to 5 s to go dry (a kept capacity never comes back).
        let settle = Instant::now();
        let mut after = live_bytes() - before;
        while after >= SLACK && settle.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
            after = live_bytes() - before;
        }
        eprintln!("bursts: {BURST} tasks queued {queued} bytes; {after} bytes left after they ran");
        assert!(
            after < SLACK,
            "{after} bytes still allocated after a burst of {BURST} tasks ran \
             (bound {SLACK}; the burst itself took {queued})"
        );
        drop(rt);
    });
}
