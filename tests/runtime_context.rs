//! Handles, contexts and the misuse panics.

mod util;

use std::time::Duration;

use util::rt::with_deadline;

#[test]
fn spawn_from_a_plain_thread_via_handle() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let handle = rt.handle().clone();
        let jh = std::thread::spawn(move || handle.spawn(async { 21 * 2 }))
            .join()
            .unwrap();
        assert_eq!(rt.block_on(jh).unwrap(), 42);
    });
}

#[test]
fn handle_current_and_try_current() {
    assert!(kiwi::Handle::try_current().is_none());
    with_deadline(10, || {
        let rt = kiwi::Runtime::new().unwrap();
        {
            let _g = rt.enter();
            assert!(kiwi::Handle::try_current().is_some());
            let h = kiwi::spawn(async { 1 });
            assert_eq!(rt.block_on(h).unwrap(), 1);
        }
        assert!(kiwi::Handle::try_current().is_none());
        rt.block_on(async {
            let inside = kiwi::spawn_blocking(|| kiwi::Handle::try_current().is_some())
                .await
                .unwrap();
            assert!(inside, "blocking-pool threads see their runtime");
        });
    });
}

#[test]
fn spawn_through_a_handle_whose_runtime_is_gone_is_cancelled() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        let handle = rt.handle().clone();
        drop(rt);
        let h = handle.spawn(async { 1 });
        assert!(kiwi::block_on(h).unwrap_err().is_cancelled());
        let b = handle.spawn_blocking(|| 1);
        assert!(kiwi::block_on(b).unwrap_err().is_cancelled());
    });
}

#[test]
fn handle_current_outside_panics_with_message() {
    let err = std::panic::catch_unwind(kiwi::Handle::current).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or(err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("outside a kiwi runtime"), "{msg}");
}

#[test]
fn spawn_outside_runtime_panics_with_message() {
    let err = std::panic::catch_unwind(|| kiwi::spawn(async {})).unwrap_err();
    let msg = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or(err.downcast_ref::<String>().cloned())
        .unwrap();
    assert!(msg.contains("outside a kiwi runtime"), "{msg}");
}

#[test]
fn block_on_inside_a_worker_panics_instead_of_deadlocking() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        let handle = rt.handle().clone();
        let res =
            rt.block_on(
                async move { kiwi::spawn(async move { handle.block_on(async { 1 }) }).await },
            );
        let err = res.unwrap_err();
        assert!(err.is_panic());
        assert!(
            err.to_string().contains("already runs a kiwi worker"),
            "{err}"
        );
    });
}

#[test]
fn dropping_runtime_inside_its_worker_panics_instead_of_deadlocking() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        let inner = kiwi::Builder::new().workers(1).build().unwrap();
        let h = inner.handle().clone();
        let (tx, rx) = std::sync::mpsc::channel();
        // Move `inner` into one of its own tasks and drop it there.
        let jh = h.spawn(async move {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(inner)));
            let _ = tx.send(r.is_err());
            std::future::pending::<()>().await;
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            "drop inside own worker must panic"
        );
        drop(jh);
        drop(rt);
    });
}

#[test]
fn block_on_future_may_use_everything() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        rt.block_on(async {
            kiwi::time::sleep(Duration::from_millis(2)).await;
            let a = kiwi::spawn(async { 1 }).await.unwrap();
            let b = kiwi::spawn_local(async { 2 }).await.unwrap();
            let c = kiwi::spawn_blocking(|| 3).await.unwrap();
            assert_eq!(a + b + c, 6);
        });
        kiwi::block_on(async {
            kiwi::time::sleep(Duration::from_millis(2)).await;
            let a = kiwi::spawn(async { 1 }).await.unwrap();
            let b = kiwi::spawn_local(async { 2 }).await.unwrap();
            let c = kiwi::spawn_blocking(|| 3).await.unwrap();
            assert_eq!(a + b + c, 6);
        });
    });
}

#[kiwi::test]
async fn kiwi_test_macro_runs_async_tests() {
    kiwi::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(kiwi::spawn(async { 3 }).await.unwrap(), 3);
}

#[kiwi::test(workers = 2)]
async fn kiwi_test_macro_with_workers() -> std::io::Result<()> {
    let h = kiwi::spawn(async { 4 });
    assert_eq!(h.await?, 4);
    Ok(())
}
