//! One test per bug found, named after the bug.

mod util;

use util::rt::with_deadline;

/// Bug: a stop request's notification could be consumed by a drain that found
/// the remote queue empty; the worker then parked without checking `stop`, and
/// dropping the runtime hung in `join`. Found under load (parallel doctests).
#[test]
fn stop_request_lost_after_its_notification_was_consumed() {
    with_deadline(120, || {
        let load: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(|| {
                    let t0 = std::time::Instant::now();
                    while t0.elapsed() < std::time::Duration::from_secs(2) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        for _ in 0..300 {
            let rt = kiwi::Runtime::new().unwrap();
            let h = rt.spawn(async { 7 });
            assert_eq!(rt.block_on(h).unwrap(), 7);
            drop(rt);
        }
        for l in load {
            l.join().unwrap();
        }
    });
}

/// Bug: a worker thread (no root future) started with its "root woken" flag
/// set, so it spun forever without parking or reading its remote queue.
#[test]
fn worker_without_root_future_spun_instead_of_running_remote_tasks() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        for _ in 0..10 {
            assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
        }
    });
}

/// Bug: a task's future was moved out of its (pinned) cell before being dropped.
/// A future that borrows its own state across an `.await` — here, a listener
/// it owns and an `accept` future borrowing it — ran its destructor through
/// dangling internal pointers at cancellation. Found by kiwi-net's tests as a
/// segfault at runtime shutdown.
#[test]
fn pinned_future_moved_before_drop() {
    with_deadline(20, || {
        for _ in 0..50 {
            let rt = kiwi::Builder::new().workers(2).build().unwrap();
            let mut handles = Vec::new();
            for _ in 0..4 {
                handles.push(rt.spawn(async {
                    // Owned by the task, borrowed across the await: self-referential.
                    let listener = kiwi::net::AsyncTcpListener::bind("127.0.0.1:0")
                        .await
                        .unwrap();
                    let data = [7u8; 64];
                    let r = &data;
                    let _ = listener.accept().await;
                    r[0]
                }));
            }
            rt.block_on(kiwi::time::sleep(std::time::Duration::from_millis(5)));
            handles[0].abort();
            drop(rt); // cancels the rest while they are suspended in accept
        }
    });
}

/// Bug: a panic in a `block_on` root future skipped the
/// worker's shutdown, so a `spawn_local` task whose waker lived on another
/// thread was later freed there by the last waker, dropping its `!Send` future
/// on the wrong thread (and its JoinHandle never resolved).
#[test]
fn block_on_root_panic_skipped_local_task_shutdown() {
    with_deadline(10, || {
        let log = util::rt::DropLog::default();
        let l = log.clone();
        let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
        let res = std::thread::Builder::new()
            .name("owner".into())
            .spawn(move || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                    kiwi::block_on(async move {
                        let g = l.guard();
                        let not_send = std::rc::Rc::new(());
                        kiwi::spawn_local(async move {
                            let _g = g;
                            let _rc = not_send;
                            std::future::poll_fn(|cx| {
                                let _ = tx.send(cx.waker().clone());
                                std::task::Poll::<()>::Pending
                            })
                            .await
                        });
                        kiwi::yield_now().await;
                        panic!("root future panics");
                    })
                }))
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(res.is_err(), "the root panic propagates");
        let waker = rx.recv().unwrap();
        assert_eq!(
            log.count(),
            1,
            "the local task was dropped when block_on unwound"
        );
        assert_eq!(log.thread_names(), vec![Some("owner".to_string())]);
        std::thread::Builder::new()
            .name("other".into())
            .spawn(move || drop(waker))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(log.count(), 1);
    });
}
