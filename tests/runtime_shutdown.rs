//! Shutdown: every task's future is dropped, on its own worker; nothing hangs.

mod util;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use util::rt::{with_deadline, DropLog};

#[test]
fn runtime_dropped_with_pending_tasks_drops_them_on_their_workers() {
    with_deadline(10, || {
        let log = DropLog::default();
        let rt = kiwi::Builder::new()
            .workers(2)
            .thread_name("owner")
            .build()
            .unwrap();
        let mut handles = Vec::new();
        for _ in 0..50 {
            let g = log.guard();
            handles.push(rt.spawn(async move {
                let _g = g;
                std::future::pending::<()>().await
            }));
        }
        // Let every task be polled once (so that only the registry knows them).
        rt.block_on(kiwi::time::sleep(Duration::from_millis(20)));
        drop(rt);
        assert_eq!(log.count(), 50);
        assert!(log
            .thread_names()
            .iter()
            .all(|n| n.as_deref().is_some_and(|n| n.starts_with("owner-"))));
        for h in handles {
            assert!(kiwi::block_on(h).unwrap_err().is_cancelled());
        }
    });
}

#[test]
fn block_on_drops_its_local_tasks_before_returning() {
    with_deadline(10, || {
        let log = DropLog::default();
        let l2 = log.clone();
        kiwi::block_on(async move {
            for _ in 0..5 {
                let g = l2.guard();
                kiwi::spawn_local(async move {
                    let _g = g;
                    std::future::pending::<()>().await
                });
            }
            kiwi::yield_now().await;
        });
        assert_eq!(log.count(), 5, "dropped before block_on returned");
        assert!(log
            .thread_names()
            .iter()
            .all(|n| n.as_deref() == std::thread::current().name()));
    });
}

#[test]
fn tasks_whose_wakers_live_in_a_channel_are_found_at_shutdown() {
    with_deadline(10, || {
        let log = DropLog::default();
        let (tx, rx) = async_channel::bounded::<()>(1);
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        let g = log.guard();
        drop(rt.spawn(async move {
            let _g = g;
            let _ = rx.recv().await;
        }));
        rt.block_on(kiwi::time::sleep(Duration::from_millis(10)));
        drop(rt);
        assert_eq!(log.count(), 1);
        drop(tx);
    });
}

#[test]
fn shutdown_timeout_detaches_stuck_blocking_threads() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        rt.spawn_blocking(|| std::thread::sleep(Duration::from_secs(3)));
        std::thread::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_secs(2),
            "{took:?}"
        );
    });
}

#[test]
fn dropping_runtime_waits_about_a_second_for_blocking_threads() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        rt.spawn_blocking(|| std::thread::sleep(Duration::from_secs(4)));
        std::thread::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        drop(rt);
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{took:?}"
        );
    });
}

#[test]
fn shutdown_background_returns_at_once() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        rt.spawn_blocking(|| std::thread::sleep(Duration::from_secs(2)));
        rt.spawn(std::future::pending::<()>());
        let t0 = Instant::now();
        rt.shutdown_background();
        assert!(t0.elapsed() < Duration::from_millis(500));
    });
}

#[test]
fn waker_kept_past_the_runtime_is_harmless() {
    with_deadline(10, || {
        let (tx, rx) = std::sync::mpsc::channel();
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        rt.spawn(std::future::poll_fn(move |cx| {
            let _ = tx.send(cx.waker().clone());
            std::task::Poll::<()>::Pending
        }));
        let waker = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        drop(rt);
        waker.wake_by_ref();
        waker.wake();
    });
}

/// Regression: a spawn from outside the pool that the target worker refuses
/// (it is shutting down: here, `kiwi::block_on`'s worker, whose remote queue
/// is closed while it drops its tasks) was counted as spawned but never as
/// completed, so `num_alive_tasks` stayed at 1 forever.
#[test]
fn alive_count_returns_to_zero_after_an_outside_spawn_is_refused() {
    with_deadline(10, || {
        static REFUSED: AtomicBool = AtomicBool::new(false);
        struct SpawnFromAnotherThread(kiwi::Handle);
        impl Drop for SpawnFromAnotherThread {
            fn drop(&mut self) {
                let h = self.0.clone();
                let refused = std::thread::spawn(move || kiwi::block_on(h.spawn(async {})))
                    .join()
                    .unwrap();
                REFUSED.store(refused.is_err_and(|e| e.is_cancelled()), Ordering::SeqCst);
            }
        }
        let handle = kiwi::block_on(async {
            let h = kiwi::Handle::current();
            let guard = SpawnFromAnotherThread(h.clone());
            kiwi::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            });
            kiwi::yield_now().await; // the task reaches its `Pending`
            h
        });
        assert!(REFUSED.load(Ordering::SeqCst), "the spawn was not refused");
        assert_eq!(handle.metrics().num_alive_tasks(), 0);
    });
}
