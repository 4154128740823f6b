//! The reactor through `AsyncFd`: registration moves off a `block_on` thread's
//! reactor to the poller's, shared waits
//! wake every waiter, and the coop budget keeps an always-ready fd fair.

mod util;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiwi::io::AsyncFd;
use util::rt::with_deadline;

fn pair() -> (AsyncFd<UnixStream>, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    (AsyncFd::new(a).unwrap(), b)
}

async fn read_some(fd: &AsyncFd<UnixStream>, buf: &mut [u8]) -> usize {
    loop {
        let mut guard = fd.readable().await.unwrap();
        if let Ok(res) = guard.try_io(|fd| fd.get_ref().read(buf)) {
            return res.unwrap();
        }
    }
}

#[test]
fn fd_created_in_block_on_then_used_by_a_spawned_task() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let (fd, mut peer) = rt.block_on(async {
            let (fd, peer) = pair();
            // Register it with the block_on thread's reactor first.
            let _ = fd.writable().await.unwrap();
            (fd, peer)
        });
        let h = rt.spawn(async move {
            let mut buf = [0u8; 5];
            let n = read_some(&fd, &mut buf).await;
            buf[..n].to_vec()
        });
        std::thread::sleep(Duration::from_millis(20));
        peer.write_all(b"hello").unwrap();
        assert_eq!(rt.block_on(h).unwrap(), b"hello");
    });
}

#[test]
fn fd_outlives_the_block_on_that_registered_it() {
    with_deadline(10, || {
        let (fd, mut peer) = kiwi::block_on(async {
            let (fd, peer) = pair();
            let _ = fd.writable().await.unwrap();
            (fd, peer)
        });
        peer.write_all(b"again").unwrap();
        let got = kiwi::block_on(async move {
            let mut buf = [0u8; 5];
            let n = read_some(&fd, &mut buf).await;
            buf[..n].to_vec()
        });
        assert_eq!(got, b"again");
    });
}

#[test]
fn every_task_waiting_on_one_fd_is_woken() {
    with_deadline(10, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let (fd, mut peer) = pair();
        let fd = Arc::new(fd);
        let woken = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let fd = fd.clone();
                let w = woken.clone();
                rt.spawn(async move {
                    let _guard = fd.readable().await.unwrap();
                    w.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        peer.write_all(b"x").unwrap();
        rt.block_on(async {
            for h in handles {
                h.await.unwrap();
            }
        });
        assert_eq!(woken.load(Ordering::SeqCst), 8);
    });
}

#[test]
fn stale_would_block_does_not_erase_a_newer_edge() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let (fd, mut peer) = pair();
            peer.write_all(b"a").unwrap();
            let mut buf = [0u8; 16];
            assert_eq!(read_some(&fd, &mut buf).await, 1);
            // Readiness is still set (nothing proved the socket empty): the next
            // wait returns at once, the read gets WouldBlock and clears it, and
            // a later write produces a new edge that must be seen.
            let waiter = async {
                let mut buf = [0u8; 16];
                read_some(&fd, &mut buf).await
            };
            let writer = async {
                kiwi::time::sleep(Duration::from_millis(10)).await;
                peer.write_all(b"bc").unwrap();
            };
            let (n, ()) = futures_util::join!(waiter, writer);
            assert_eq!(n, 2);
        });
    });
}

#[test]
fn always_ready_fd_does_not_starve_a_timer() {
    with_deadline(20, || {
        kiwi::block_on(async {
            let (fd, _peer) = pair();
            let fd = Arc::new(fd);
            let spinning = {
                let fd = fd.clone();
                kiwi::spawn_local(async move {
                    // Writable forever (the peer buffer is far from full): every
                    // wait is ready at once; only the budget makes it yield.
                    let mut n = 0u64;
                    loop {
                        let _ = fd.writable().await.unwrap();
                        n += 1;
                        if n == u64::MAX {
                            break;
                        }
                    }
                })
            };
            let t0 = Instant::now();
            kiwi::time::sleep(Duration::from_millis(10)).await;
            let late = t0.elapsed();
            spinning.abort();
            assert!(
                late < Duration::from_millis(500),
                "timer starved: fired after {late:?}"
            );
        });
    });
}

/// Issue 15, item 1: a registration owns the descriptor it names. `AsyncFd`
/// watches its own duplicate of the inner descriptor, so replacing (and
/// closing) the inner value through `get_mut` leaves the registration on a
/// descriptor that is still open: a socket that reuses the old number is
/// never mistaken for it, and the old file's edges still arrive.
#[test]
fn async_fd_registration_never_names_a_closed_descriptor() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let (afd, mut peer) = pair();
            let old_number = std::os::fd::AsRawFd::as_raw_fd(afd.get_ref());
            // Register, then swap the inner socket out and close it.
            peer.write_all(b"x").unwrap();
            afd.readable().await.unwrap().clear_ready();
            let (other, mut other_peer) = UnixStream::pair().unwrap();
            let mut afd = afd;
            drop(std::mem::replace(afd.get_mut(), other));
            // A new socket takes the freed number; its bytes must not look
            // like the watched file's readiness.
            let (reused, mut reused_peer) = UnixStream::pair().unwrap();
            let numbers = [
                std::os::fd::AsRawFd::as_raw_fd(&reused),
                std::os::fd::AsRawFd::as_raw_fd(&reused_peer),
            ];
            assert!(numbers.contains(&old_number), "the number was reused");
            reused_peer.write_all(b"noise").unwrap();
            other_peer.write_all(b"noise").unwrap();
            let quiet = kiwi::time::timeout(Duration::from_millis(50), afd.readable()).await;
            assert!(quiet.is_err(), "woken by another socket's bytes");
            // The old file's peer writes: the registration still sees it.
            peer.write_all(b"y").unwrap();
            let guard = kiwi::time::timeout(Duration::from_secs(5), afd.readable()).await;
            assert!(guard.is_ok(), "the watched file's edge was lost");
            drop(reused);
        });
    });
}
