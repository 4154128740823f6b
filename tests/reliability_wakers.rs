//! Reliability, wakers (issue 7, item 9).
//!
//! Bug classes: a stale waker woken instead of the latest (lost wake), and a
//! waker outliving its runtime (use-after-free). The recycled-fd case is a unit
//! test beside the reactor (`recycled_fd_in_one_batch_does_not_wake_the_new_socket`).

mod util;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use util::rt::with_deadline;

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn waker_replaced_between_polls_only_latest_is_woken() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            a.set_nonblocking(true).unwrap();
            let fd = kiwi::io::AsyncFd::new(a).unwrap();
            let first = Arc::new(Count(AtomicUsize::new(0)));
            let second = Arc::new(Count(AtomicUsize::new(0)));
            let w1 = Waker::from(first.clone());
            let w2 = Waker::from(second.clone());
            assert!(fd
                .poll_read_ready(&mut Context::from_waker(&w1))
                .is_pending());
            assert!(fd
                .poll_read_ready(&mut Context::from_waker(&w2))
                .is_pending());
            b.write_all(b"x").unwrap();
            // Let the reactor see the edge.
            kiwi::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(
                first.0.load(Ordering::SeqCst),
                0,
                "the replaced waker was woken"
            );
            assert_eq!(
                second.0.load(Ordering::SeqCst),
                1,
                "the latest waker was not woken"
            );
        });
    });
}

#[test]
fn waker_kept_past_the_runtime_then_woken_and_dropped() {
    with_deadline(10, || {
        let (tx, rx) = std::sync::mpsc::channel::<Waker>();
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        for _ in 0..10 {
            let tx = tx.clone();
            rt.spawn(std::future::poll_fn(move |cx| {
                let _ = tx.send(cx.waker().clone());
                std::task::Poll::<()>::Pending
            }));
        }
        let wakers: Vec<Waker> = (0..10)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        drop(rt);
        for (i, w) in wakers.into_iter().enumerate() {
            if i % 2 == 0 {
                w.wake_by_ref();
            }
            let clone = w.clone();
            std::thread::spawn(move || clone.wake()).join().unwrap();
            drop(w);
        }
    });
}
