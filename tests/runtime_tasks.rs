//! Tasks and JoinHandles: output, panics, abort in every state, detach, JoinSet,
//! spawn_local, yield_now, placement across workers.

mod util;

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use util::rt::{with_deadline, DropLog};

#[test]
fn output_comes_back_through_join_handle() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let v = rt.block_on(async { kiwi::spawn(async { vec![1, 2, 3] }).await.unwrap() });
        assert_eq!(v, vec![1, 2, 3]);
    });
}

#[test]
fn panic_in_poll_is_reported_and_worker_keeps_running() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        rt.block_on(async {
            let err = kiwi::spawn(async { panic!("boom {}", 7) })
                .await
                .unwrap_err();
            assert!(err.is_panic() && !err.is_cancelled());
            assert!(err.to_string().contains("boom 7"), "{err}");
            // The same (only) worker still runs tasks.
            assert_eq!(kiwi::spawn(async { 5 }).await.unwrap(), 5);
            let payload = kiwi::spawn(async { std::panic::panic_any(42u32) })
                .await
                .unwrap_err()
                .into_panic();
            assert_eq!(*payload.downcast::<u32>().unwrap(), 42);
        });
    });
}

#[test]
fn abort_while_idle() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let log = DropLog::default();
            let g = log.guard();
            let h = kiwi::spawn(async move {
                let _g = g;
                std::future::pending::<()>().await
            });
            kiwi::yield_now().await; // let it run once and park
            assert_eq!(log.count(), 0);
            h.abort();
            let err = h.await.unwrap_err();
            assert!(err.is_cancelled());
            assert_eq!(log.count(), 1);
        });
    });
}

#[test]
fn abort_while_scheduled_before_first_poll() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let polled = Arc::new(AtomicBool::new(false));
            let p = polled.clone();
            let h = kiwi::spawn(async move { p.store(true, Ordering::SeqCst) });
            h.abort();
            assert!(h.await.unwrap_err().is_cancelled());
            assert!(
                !polled.load(Ordering::SeqCst),
                "an aborted task must not be polled"
            );
        });
    });
}

#[test]
fn abort_while_running_from_inside() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let (tx, rx) = async_channel::bounded::<kiwi::AbortHandle>(1);
            let h = kiwi::spawn(async move {
                let me = rx.recv().await.unwrap();
                me.abort(); // aborts itself while running
                kiwi::yield_now().await;
                unreachable!("the task was aborted while running");
            });
            tx.send(h.abort_handle()).await.unwrap();
            assert!(h.await.unwrap_err().is_cancelled());
        });
    });
}

#[test]
fn abort_after_completion_still_yields_output() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let h = kiwi::spawn(async { "done" });
            while !h.is_finished() {
                kiwi::yield_now().await;
            }
            h.abort();
            assert_eq!(h.await.unwrap(), "done");
        });
    });
}

#[test]
fn dropping_join_handle_detaches() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let (tx, rx) = async_channel::bounded::<u32>(1);
            drop(kiwi::spawn(async move {
                kiwi::time::sleep(Duration::from_millis(5)).await;
                tx.send(9).await.unwrap();
            }));
            assert_eq!(rx.recv().await.unwrap(), 9);
        });
    });
}

#[test]
fn abort_from_another_thread_drops_local_future_on_owner() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let log = DropLog::default();
            let g = log.guard();
            let not_send = Rc::new(());
            let h = kiwi::spawn_local(async move {
                let _rc = not_send;
                let _g = g;
                std::future::pending::<()>().await
            });
            kiwi::yield_now().await;
            let abort = h.abort_handle();
            std::thread::Builder::new()
                .name("aborter".into())
                .spawn(move || abort.abort())
                .unwrap()
                .join()
                .unwrap();
            assert!(h.await.unwrap_err().is_cancelled());
            assert_eq!(log.count(), 1);
            assert_ne!(
                log.thread_names()[0].as_deref(),
                Some("aborter"),
                "dropped off its owner"
            );
        });
    });
}

#[test]
fn spawn_local_runs_rc_futures_on_this_thread() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        rt.block_on(async {
            let here = std::thread::current().id();
            let counter = Rc::new(std::cell::Cell::new(0));
            let mut handles = Vec::new();
            for _ in 0..10 {
                let c = counter.clone();
                handles.push(kiwi::spawn_local(async move {
                    c.set(c.get() + 1);
                    std::thread::current().id()
                }));
            }
            for h in handles {
                assert_eq!(h.await.unwrap(), here);
            }
            assert_eq!(counter.get(), 10);
        });
    });
}

#[test]
fn yield_now_lets_others_run() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let flag = Rc::new(std::cell::Cell::new(false));
            let f = flag.clone();
            kiwi::spawn_local(async move { f.set(true) });
            assert!(!flag.get());
            kiwi::yield_now().await;
            assert!(flag.get(), "the other task ran during the yield");
        });
    });
}

#[test]
fn spawn_lands_on_more_than_one_worker() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new()
            .workers(2)
            .thread_name("placement")
            .build()
            .unwrap();
        let names = rt.block_on(async {
            let mut set = kiwi::JoinSet::new();
            for _ in 0..16 {
                set.spawn(async { std::thread::current().name().unwrap().to_string() });
            }
            let mut names = std::collections::BTreeSet::new();
            while let Some(n) = set.join_next().await {
                names.insert(n.unwrap());
            }
            names
        });
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("placement-")));
    });
}

#[test]
fn join_set_returns_all_and_aborts_on_drop() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let mut set = kiwi::JoinSet::new();
            for i in 0..100u32 {
                set.spawn(async move {
                    kiwi::time::sleep(Duration::from_millis((i % 7) as u64)).await;
                    i
                });
            }
            assert_eq!(set.len(), 100);
            let mut total = 0;
            while let Some(r) = set.join_next().await {
                total += r.unwrap();
            }
            assert_eq!(total, 4950);
            assert!(set.join_next().await.is_none());

            let log = DropLog::default();
            let mut set = kiwi::JoinSet::new();
            for _ in 0..10 {
                let g = log.guard();
                set.spawn(async move {
                    let _g = g;
                    std::future::pending::<()>().await
                });
            }
            kiwi::yield_now().await;
            set.abort_all();
            let mut cancelled = 0;
            while let Some(r) = set.join_next().await {
                assert!(r.unwrap_err().is_cancelled());
                cancelled += 1;
            }
            assert_eq!(cancelled, 10);
            assert_eq!(log.count(), 10);

            let log = DropLog::default();
            let mut set = kiwi::JoinSet::new();
            let g = log.guard();
            set.spawn(async move {
                let _g = g;
                std::future::pending::<()>().await
            });
            kiwi::yield_now().await;
            drop(set);
            kiwi::time::sleep(Duration::from_millis(5)).await;
            assert_eq!(log.count(), 1, "dropping the set aborts its tasks");
        });
    });
}

#[test]
fn join_error_traits() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<kiwi::JoinError>();
    with_deadline(10, || {
        kiwi::block_on(async {
            let h = kiwi::spawn(std::future::pending::<()>());
            h.abort();
            let e = h.await.unwrap_err();
            assert_eq!(e.to_string(), "task was cancelled");
            let io: std::io::Error = e.into();
            assert_eq!(io.kind(), std::io::ErrorKind::Other);
        });
    });
}

#[test]
fn spawn_blocking_does_not_block_workers() {
    with_deadline(20, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        rt.block_on(async {
            let started = Arc::new(AtomicUsize::new(0));
            let mut blocking = Vec::new();
            for _ in 0..4 {
                let s = started.clone();
                blocking.push(kiwi::spawn_blocking(move || {
                    s.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(300));
                }));
            }
            // While four blocking jobs sleep, the single worker keeps running tasks.
            let t0 = std::time::Instant::now();
            let mut n = 0;
            while t0.elapsed() < Duration::from_millis(100) {
                n += kiwi::spawn(async { 1 }).await.unwrap();
            }
            assert!(
                n > 10,
                "the worker ran only {n} tasks while blocking jobs slept"
            );
            for b in blocking {
                b.await.unwrap();
            }
            assert_eq!(started.load(Ordering::SeqCst), 4);
        });
    });
}

#[test]
fn metrics_count_polls_and_spawns() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        rt.block_on(async {
            for _ in 0..20 {
                kiwi::spawn(async { kiwi::yield_now().await })
                    .await
                    .unwrap();
            }
        });
        let m = rt.handle().metrics();
        let spawned: u64 = (0..2).map(|i| m.worker(i).spawned()).sum();
        let polls: u64 = (0..2).map(|i| m.worker(i).polls()).sum();
        assert_eq!(spawned, 20);
        assert!(polls >= 40, "each task was polled twice: {polls}");
    });
}

/// `busy_time` counts time spent running tasks and leaves out time asleep in
/// `epoll_wait`: a worker that computes for 60 ms and then sleeps on a timer
/// for 400 ms reports at least the 60 ms, and well under the 460 ms total.
#[test]
fn busy_time_counts_work_and_not_sleep() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        let m = rt.handle().metrics();
        let before = m.worker(0).busy_time();
        rt.block_on(async {
            kiwi::spawn(async {
                let start = std::time::Instant::now();
                while start.elapsed() < Duration::from_millis(60) {
                    std::hint::spin_loop(); // work: the worker cannot park
                }
                kiwi::time::sleep(Duration::from_millis(400)).await; // parked
                kiwi::yield_now().await;
            })
            .await
            .unwrap();
        });
        // The sleep ended with a wake-up; the busy stretch after it is added
        // at the worker's next park, which an idle worker reaches promptly.
        std::thread::sleep(Duration::from_millis(50));
        let busy = m.worker(0).busy_time() - before;
        assert!(busy >= Duration::from_millis(60), "busy {busy:?}");
        assert!(busy < Duration::from_millis(300), "sleep counted: {busy:?}");
    });
}
