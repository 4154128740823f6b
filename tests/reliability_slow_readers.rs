//! Reliability, slow readers (issue 7, item 5).
//!
//! Bug class guarded against: unbounded buffering toward a peer that does not
//! read — a write queue that grows past its high-water mark (muduo's 64 MiB
//! default, or a `Vec` whose capacity doubles past the mark), so that a few
//! stalled clients exhaust the server's memory — and queued bytes that are not
//! released when those clients go.
//!
//! C clients (100; 1,000 with `KIWI_STRESS=1`) connect and never read, with a
//! small receive buffer; the server streams to each of them as fast as it can.
//! Live heap bytes (a counting global allocator) must stay within
//! `baseline + C × write_high_water()` plus 4 KiB of bookkeeping per
//! connection (measured: ~0.4 KiB, so the queues themselves never exceed the
//! mark), and fall back near the baseline once the clients reset and leave. Its own binary (process-wide allocator count).

mod util;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiwi::io::AsyncWriteExt;
use kiwi::net::AsyncTcpListener;
use util::rel::{live_bytes, scale, wait_drop_flushes, wait_until, with_deadline};

#[global_allocator]
static ALLOC: util::rel::Counting = util::rel::Counting;

/// What the server streams, from static memory (no per-task buffer).
static CHUNK: [u8; 16 * 1024] = [0x5A; 16 * 1024];

/// Allowance for a connection's bookkeeping besides its write queue.
const PER_CONNECTION: usize = 4096;

#[test]
fn slow_readers_memory_bounded_by_high_water_and_released() {
    let c = scale(100, 1_000);
    with_deadline(90, move || {
        if util::rel::nofile().0 < (2 * c + 256) as u64 {
            util::rel::set_soft_nofile((2 * c + 256) as u64);
        }
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let m = rt.handle().metrics();
        let listener = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let written = Arc::new(AtomicU64::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let ended = Arc::new(AtomicUsize::new(0));
        let high_water = Arc::new(AtomicUsize::new(0));
        let (w2, s2, e2, hw2) = (
            written.clone(),
            started.clone(),
            ended.clone(),
            high_water.clone(),
        );
        let acceptor = rt.spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    continue;
                };
                // A small kernel send buffer: the bytes pile up in kiwi's queue.
                util::rel::set_int_opt(&s, libc::SOL_SOCKET, libc::SO_SNDBUF, 4096);
                hw2.store(s.write_high_water(), Ordering::SeqCst);
                let (w, e) = (w2.clone(), e2.clone());
                s2.fetch_add(1, Ordering::SeqCst);
                kiwi::spawn(async move {
                    while s.write_all(&CHUNK).await.is_ok() {
                        w.fetch_add(CHUNK.len() as u64, Ordering::Relaxed);
                    }
                    drop(s);
                    e.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        // Let the workers settle (first polls, reactor slabs) before the baseline.
        rt.block_on(kiwi::time::sleep(Duration::from_millis(20)));
        let baseline = live_bytes();
        let t0 = Instant::now();

        let clients: Vec<std::net::TcpStream> = (0..c)
            .map(|_| {
                let s = std::net::TcpStream::connect(addr).unwrap();
                util::rel::set_int_opt(&s, libc::SOL_SOCKET, libc::SO_RCVBUF, 4096);
                s
            })
            .collect();
        wait_until(Duration::from_secs(20), "every client accepted", || {
            started.load(Ordering::SeqCst) == c
        });
        // Steady state: nothing more fits anywhere; every writer is blocked.
        let mut last = written.load(Ordering::SeqCst);
        let mut still = Instant::now();
        while still.elapsed() < Duration::from_millis(300) {
            std::thread::sleep(Duration::from_millis(20));
            let now = written.load(Ordering::SeqCst);
            if now != last {
                last = now;
                still = Instant::now();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "writers never blocked"
            );
        }
        let held = live_bytes();
        let hw = high_water.load(Ordering::SeqCst);
        let grown = held - baseline;
        // The queues may hold C x high-water; each connection's own bookkeeping
        // (task, registration, stream state: ~0.5 KiB measured) comes on top.
        let bound = (c * (hw + PER_CONNECTION)) as isize;

        // The clients go (RST: they never read what was sent).
        for s in &clients {
            util::rel::set_linger_zero_raw(s);
        }
        drop(clients);
        wait_until(Duration::from_secs(10), "every server task ends", || {
            ended.load(Ordering::SeqCst) == c
        });
        wait_drop_flushes(&m, Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
        let after = live_bytes() - baseline;
        eprintln!(
            "slow readers: {c} clients, {last} bytes accepted by the server's writes, high-water \
             {hw} bytes; live heap +{grown} bytes while stalled ({} per connection, bound {} = C x (high-water + 4 KiB)), +{after} bytes after they left, in {:?}",
            grown / c as isize,
            bound,
            t0.elapsed()
        );
        assert!(hw > 0);
        assert!(
            grown <= bound,
            "memory {grown} bytes over baseline exceeds C x (high-water + 4 KiB) = {bound}"
        );
        // Released: what stays is capacity (slabs, queues), not buffered bytes.
        assert!(
            after < (c * 2048) as isize + 256 * 1024,
            "memory not released: {after} bytes over baseline after the clients left"
        );
        acceptor.abort();
        drop(rt);
    });
}
