//! Reliability, leaks over many connect/close cycles (issue 7, item 4).
//!
//! Bug class guarded against: per-connection leaks that no functional test
//! sees — a descriptor not closed on one of the close paths, a reactor slab
//! entry (registration) never removed, a task, waker, timer or buffer kept
//! alive by a reference cycle or a forgotten drop-flush.
//!
//! 10,000 cycles (100,000 with `KIWI_STRESS=1`), 16 at a time, alternating
//! three ways to end a connection: the client resets (`SO_LINGER` 0), the client
//! closes gracefully from a rotating 127.0.0.x source address (its port then
//! sits in TIME_WAIT, so one address would run out of ports at full scale), and
//! the server closes first. After a warm-up, the descriptor count, the sum of
//! the workers' `registrations()` and the live heap bytes (a counting global
//! allocator, which unlike RSS sees a release glibc keeps in its arenas) must
//! stay flat. Its own binary: the allocator and descriptor counts are
//! process-wide, so it holds this one test.

mod util;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, TcpSocket};
use util::rel::{live_bytes, open_fds, registrations, scale, wait_drop_flushes, with_deadline};

#[global_allocator]
static ALLOC: util::rel::Counting = util::rel::Counting;

/// Client tasks running at once.
const CONCURRENCY: usize = 16;
/// Source addresses rotated by graceful closes: 127.0.0.2 .. 127.0.0.9.
const SOURCES: usize = 8;

/// One connect/close cycle; `i` picks how it ends.
async fn cycle(i: usize, addr: SocketAddr) -> io::Result<()> {
    let sock = TcpSocket::new_v4()?;
    if i % 3 == 1 {
        let src = Ipv4Addr::new(127, 0, 0, 2 + (i / 3 % SOURCES) as u8);
        sock.bind(SocketAddr::from((src, 0)))?;
    }
    let mut s = sock.connect(addr).await?;
    match i % 3 {
        0 => {
            // Reset: no FIN handshake, no TIME_WAIT anywhere.
            s.set_linger(Some(Duration::ZERO))?;
        }
        1 => {
            // Graceful, client first: a byte, FIN, then the server's EOF.
            s.write_all(b"x").await?;
            s.close().await?;
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await?;
        }
        _ => {
            // Server first: it answers, closes, and we read EOF then drop.
            s.write_all(b"q").await?;
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await?;
            s.set_linger(Some(Duration::ZERO))?; // keeps the server side out of TIME_WAIT
        }
    }
    drop(s);
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    cycles: usize,
    fds: usize,
    registrations: u64,
    live: isize,
}

#[test]
fn connect_close_cycles_leak_no_descriptor_registration_or_memory() {
    let total = scale(10_000, 100_000);
    let warmup = 1_000;
    let rounds = 6;
    with_deadline(170, move || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let m = rt.handle().metrics();
        let handled = Arc::new(AtomicUsize::new(0));
        let listener = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let h2 = handled.clone();
        let acceptor = rt.spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    continue;
                };
                let h = h2.clone();
                kiwi::spawn(async move {
                    let mut b = [0u8; 1];
                    if let Ok(1) = s.read(&mut b).await {
                        if b[0] == b'q' {
                            let _ = s.write_all(b"bye").await;
                            let _ = s.close().await;
                        } else {
                            let _ = s.read(&mut b).await; // EOF
                        }
                    }
                    drop(s);
                    h.fetch_add(1, Ordering::SeqCst);
                });
            }
        });

        let t0 = Instant::now();
        let mut done = 0;
        let mut run = |upto: usize| {
            let from = done;
            rt.block_on(async move {
                let workers: Vec<_> = (0..CONCURRENCY)
                    .map(|w| {
                        kiwi::spawn(async move {
                            let mut i = from + w;
                            while i < upto {
                                cycle(i, addr).await.expect("cycle");
                                i += CONCURRENCY;
                            }
                        })
                    })
                    .collect();
                for w in workers {
                    w.await.unwrap();
                }
            });
            done = upto;
            util::rel::wait_until(Duration::from_secs(10), "server tasks finish", || {
                handled.load(Ordering::SeqCst) == upto
            });
            wait_drop_flushes(&m, Duration::from_secs(10));
            // Let the workers finish freeing what the last tasks released.
            std::thread::sleep(Duration::from_millis(50));
            Sample {
                cycles: upto,
                fds: open_fds(),
                registrations: registrations(&m),
                live: live_bytes(),
            }
        };

        let base = run(warmup);
        let mut samples = vec![base];
        for r in 1..=rounds {
            samples.push(run(warmup + (total - warmup) * r / rounds));
        }
        let last = *samples.last().unwrap();
        let max_live = samples.iter().map(|s| s.live).max().unwrap();
        eprintln!(
            "leaks: {} cycles in {:?}; after warm-up: {base:?}; samples: {samples:?}; \
             live heap growth {} bytes (max {} over baseline)",
            last.cycles,
            t0.elapsed(),
            last.live - base.live,
            max_live - base.live
        );
        for s in &samples {
            assert_eq!(s.fds, base.fds, "descriptors grew: {s:?} vs {base:?}");
            assert_eq!(
                s.registrations, base.registrations,
                "registrations grew: {s:?} vs {base:?}"
            );
            // Flat, not zero: slab and queue capacities may move by a few KiB;
            // a leak of even 8 bytes per cycle would be tens of KiB here.
            assert!(
                s.live - base.live < 32 * 1024,
                "live heap grew by {} bytes over {} cycles: {s:?} vs {base:?}",
                s.live - base.live,
                s.cycles - base.cycles
            );
        }
        acceptor.abort();
        drop(rt);
    });
}
