//! The README says runtime-agnostic channels and locks work on kiwi
//! unchanged. Each claim, held by a test of the case that needs a runtime to
//! get wakes right: across workers, or from a thread that is not kiwi's.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use util::rt::with_deadline;

fn two_workers() -> kiwi::Runtime {
    kiwi::Builder::new().workers(2).build().unwrap()
}

/// async-lock: a `Mutex` held across an `.await` by tasks spread over two
/// workers. Every increment happens under the lock, so none is lost, and
/// the holder's sleep forces the others to park on the lock and be woken
/// from whichever worker releases it.
#[test]
fn async_lock_mutex_held_across_await_on_two_workers() {
    with_deadline(30, || {
        let rt = two_workers();
        let total = rt.block_on(async {
            let lock = Arc::new(async_lock::Mutex::new(0u64));
            let inside = Arc::new(AtomicUsize::new(0));
            let mut set = kiwi::JoinSet::new();
            for _ in 0..16 {
                let (lock, inside) = (lock.clone(), inside.clone());
                set.spawn(async move {
                    for _ in 0..20 {
                        let mut n = lock.lock().await;
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        let seen = *n;
                        kiwi::time::sleep(Duration::from_micros(50)).await;
                        *n = seen + 1;
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
            while let Some(r) = set.join_next().await {
                r.unwrap();
            }
            let n = *lock.lock().await;
            n
        });
        assert_eq!(total, 16 * 20);
    });
}

/// event-listener: a task waits on an `Event`; a plain std thread (not a
/// kiwi worker) notifies it. The waker crosses into the runtime through its
/// remote queue and doorbell.
#[test]
fn event_listener_woken_from_a_plain_thread() {
    with_deadline(30, || {
        let rt = two_workers();
        let event = Arc::new(event_listener::Event::new());
        let flag = Arc::new(AtomicUsize::new(0));
        let (e, f) = (event.clone(), flag.clone());
        let waiter = rt.spawn(async move {
            loop {
                if f.load(Ordering::SeqCst) == 1 {
                    return;
                }
                let listener = e.listen();
                if f.load(Ordering::SeqCst) == 1 {
                    return;
                }
                listener.await;
            }
        });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            flag.store(1, Ordering::SeqCst);
            event.notify(usize::MAX);
        });
        rt.block_on(waiter).unwrap();
    });
}

/// futures-channel: a oneshot whose receiver waits on one worker while the
/// sender completes it from a task on the other, and an mpsc stream fed from
/// both workers.
#[test]
fn futures_channel_oneshot_and_mpsc_across_workers() {
    use futures_util::{SinkExt, StreamExt};
    with_deadline(30, || {
        let rt = two_workers();
        rt.block_on(async {
            for i in 0..100u32 {
                let (tx, rx) = futures_channel::oneshot::channel::<u32>();
                let rx = kiwi::spawn(rx);
                kiwi::spawn(async move {
                    kiwi::yield_now().await;
                    tx.send(i).unwrap();
                });
                assert_eq!(rx.await.unwrap().unwrap(), i);
            }
            let (tx, mut rx) = futures_channel::mpsc::channel::<u32>(4);
            for w in 0..2u32 {
                let mut tx = tx.clone();
                kiwi::spawn(async move {
                    for i in 0..500 {
                        tx.send(w * 1000 + i).await.unwrap();
                    }
                });
            }
            drop(tx);
            let mut sum = 0u64;
            let mut count = 0;
            while let Some(v) = rx.next().await {
                sum += u64::from(v);
                count += 1;
            }
            assert_eq!(count, 1000);
            assert_eq!(sum, (0..500u64).sum::<u64>() * 2 + 1000 * 500);
        });
    });
}

/// kiwi's own shutdown signal, as the example servers use it: 200 tasks on
/// two workers each race a never-ready future against `cancelled()`, and
/// one cancel from a plain thread ends them all; a token cancelled before
/// anyone waits completes at once.
#[test]
fn cancellation_token_stops_every_waiter_across_workers() {
    with_deadline(30, || {
        let rt = two_workers();
        let token = kiwi::sync::CancellationToken::new();
        let stopped = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..200 {
            let (token, stopped) = (token.clone(), stopped.clone());
            handles.push(rt.spawn(async move {
                let mut never = futures_util::future::pending::<()>();
                let mut stop = token.cancelled();
                kiwi::select! {
                    () = never => unreachable!(),
                    () = stop => stopped.fetch_add(1, Ordering::SeqCst),
                };
            }));
        }
        let canceller = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            canceller.cancel();
        });
        rt.block_on(async {
            for h in handles {
                h.await.unwrap();
            }
            token.cancelled().await; // already cancelled: at once
        });
        assert_eq!(stopped.load(Ordering::SeqCst), 200);
    });
}
