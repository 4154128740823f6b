//! Cross-thread wakes: none lost, and the eventfd written only when needed.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use util::rt::with_deadline;

#[test]
fn ten_thousand_wakes_from_plain_threads_none_lost() {
    with_deadline(60, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        const TASKS: usize = 100;
        const PER: usize = 100;
        let received = Arc::new(AtomicUsize::new(0));
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..TASKS {
            let (tx, rx) = async_channel::bounded::<u32>(1);
            let r = received.clone();
            handles.push(rt.spawn(async move {
                while rx.recv().await.is_ok() {
                    r.fetch_add(1, Ordering::Relaxed);
                }
            }));
            senders.push(tx);
        }
        let threads: Vec<_> = senders
            .chunks(TASKS / 4)
            .map(|chunk| {
                let chunk = chunk.to_vec();
                std::thread::spawn(move || {
                    for i in 0..PER {
                        for tx in &chunk {
                            tx.send_blocking(i as u32).unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(senders);
        rt.block_on(async {
            for h in handles {
                h.await.unwrap();
            }
        });
        assert_eq!(received.load(Ordering::SeqCst), TASKS * PER);
    });
}

#[test]
fn eventfd_written_only_when_the_worker_is_parked() {
    with_deadline(30, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        let (tx, rx) = async_channel::unbounded::<u32>();
        // A busy worker: one task spins on yields while the other receives.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let busy = rt.spawn(async move {
            while !s.load(Ordering::Relaxed) {
                kiwi::yield_now().await;
            }
        });
        let recv = rt.spawn(async move {
            let mut n = 0;
            while rx.recv().await.is_ok() {
                n += 1;
            }
            n
        });
        std::thread::sleep(Duration::from_millis(20));
        const N: u32 = 20_000;
        for i in 0..N {
            tx.send_blocking(i).unwrap();
        }
        drop(tx);
        let n = rt.block_on(recv).unwrap();
        stop.store(true, Ordering::Relaxed);
        rt.block_on(busy).unwrap();
        assert_eq!(n, N);
        let writes = rt.handle().metrics().worker(0).eventfd_writes();
        assert!(
            (writes as f64) < 0.05 * N as f64,
            "a busy worker should almost never need the doorbell: {writes} writes for {N} wakes"
        );
    });
}
