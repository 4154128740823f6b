//! Reliability, abrupt resets (issue 7, item 2).
//!
//! Bug class guarded against: a peer's RST mid-stream turning into a panic, a
//! SIGPIPE that kills the process, a server task that never learns its peer is
//! gone (a reset that produces no readiness edge, or an error bit cleared by a
//! later readiness update), and descriptors or registrations leaked on the
//! error path of the close code.
//!
//! 20% of the clients (N = 200; 1,000 with `KIWI_STRESS=1`) reset mid-stream
//! (`SO_LINGER` 0), in three phases: before sending, after sending without
//! reading (the server's write queue is full), and after reading part of the
//! echo; half through kiwi's `set_linger(Some(ZERO))`, half through `into_std`
//! plus a raw `setsockopt`. The other 80% echo hash-verified data meanwhile.
//! Its own binary: it restores the default SIGPIPE disposition (Rust ignores
//! SIGPIPE at start-up, which would hide the bug) and counts descriptors.

mod util;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};
use util::rel::{open_fds, registrations, scale, wait_drop_flushes, with_deadline, Fnv, Rng};

/// When each server task ended, by its peer's address.
type Ends = Arc<Mutex<HashMap<SocketAddr, Instant>>>;

async fn echo(mut conn: AsyncTcpStream, peer: SocketAddr, ends: Ends, done: Arc<AtomicUsize>) {
    let mut buf = vec![0u8; 16 * 1024];
    let _ = async {
        loop {
            let n = conn.read(&mut buf).await?;
            if n == 0 {
                return conn.close().await;
            }
            conn.write_all(&buf[..n]).await?;
        }
    }
    .await;
    ends.lock().unwrap().insert(peer, Instant::now());
    done.fetch_add(1, Ordering::SeqCst);
}

/// How a resetting client behaves before its RST.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Connected, nothing sent: the server waits in `read`.
    BeforeSending,
    /// 512 KiB sent, nothing read: the server's write queue is full.
    SentNothingRead,
    /// Data sent and part of the echo read.
    PartlyRead,
}

/// A resetting client; returns its address and the moment of the reset.
async fn resetter(i: usize, addr: SocketAddr) -> io::Result<(SocketAddr, Instant)> {
    let mut s = AsyncTcpStream::connect(addr).await?;
    let me = s.local_addr()?;
    let phase = [
        Phase::BeforeSending,
        Phase::SentNothingRead,
        Phase::PartlyRead,
    ][(i / 5) % 3];
    let chunk = vec![0xA5u8; 64 * 1024];
    match phase {
        Phase::BeforeSending => kiwi::time::sleep(Duration::from_millis(20)).await,
        Phase::SentNothingRead => {
            // Enough that the server's echo fills our receive window and its
            // own write queue; our own sends may stall too, so bound them.
            let _ = kiwi::time::timeout(Duration::from_millis(200), async {
                for _ in 0..8 {
                    s.write_all(&chunk).await?;
                }
                Ok::<_, io::Error>(())
            })
            .await;
        }
        Phase::PartlyRead => {
            s.write_all(&chunk).await?;
            let mut back = vec![0u8; 10_000];
            s.read_exact(&mut back).await?;
        }
    }
    let at = Instant::now();
    if i % 2 == 0 {
        s.set_linger(Some(Duration::ZERO))?;
        drop(s);
    } else {
        let std_stream = s.into_std()?;
        util::rel::set_linger_zero_raw(&std_stream);
        drop(std_stream);
    }
    Ok((me, at))
}

/// A well-behaved client: random data, half-close, hash-verified echo.
async fn verifier(i: usize, addr: SocketAddr) -> io::Result<u64> {
    let mut s = AsyncTcpStream::connect(addr).await?;
    let mut rng = Rng::new(0xBEEF + i as u64);
    let len = rng.range(1, 64 * 1024);
    // kiwi's borrowed halves (not futures' `AsyncReadExt::split`).
    let (mut rd, mut wr) = AsyncTcpStream::split(&mut s);
    let send = async {
        let mut hash = Fnv::default();
        let mut buf = vec![0u8; 8192];
        let mut left = len;
        while left > 0 {
            let n = rng.range(1, buf.len()).min(left);
            rng.fill(&mut buf[..n]);
            hash.update(&buf[..n]);
            wr.write_all(&buf[..n]).await?;
            left -= n;
        }
        wr.close().await?;
        Ok::<_, io::Error>(hash)
    };
    let recv = async {
        let mut hash = Fnv::default();
        let mut buf = vec![0u8; 8192];
        let mut total = 0;
        loop {
            let n = rd.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, io::Error>((hash, total));
            }
            hash.update(&buf[..n]);
            total += n;
        }
    };
    let (sent, got) = futures_util::future::join(send, recv).await;
    let (sent, (got, total)) = (sent?, got?);
    assert_eq!(total, len, "client {i}: echo length");
    assert_eq!(sent, got, "client {i}: echo hash");
    Ok(len as u64)
}

#[test]
fn abrupt_resets_mid_stream_end_server_tasks_and_free_descriptors() {
    let n = scale(200, 1_000);
    with_deadline(90, move || {
        // Rust binaries start with SIGPIPE ignored; restore the default so that
        // a send that raises SIGPIPE kills this test instead of passing unseen.
        // SAFETY: setting a signal disposition to SIG_DFL is always sound.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        if util::rel::nofile().0 < (4 * n + 256) as u64 {
            util::rel::set_soft_nofile((4 * n + 256) as u64);
        }
        let server_rt = kiwi::Builder::new().workers(2).build().unwrap();
        let client_rt = kiwi::Builder::new().workers(2).build().unwrap();
        let (sm, cm) = (server_rt.handle().metrics(), client_rt.handle().metrics());
        let baseline = open_fds();
        let t0 = Instant::now();

        let ends: Ends = Arc::default();
        let done = Arc::new(AtomicUsize::new(0));
        let (tasks_tx, tasks_rx) = std::sync::mpsc::channel();
        let listener = server_rt
            .block_on(AsyncTcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (e2, d2) = (ends.clone(), done.clone());
        let acceptor = server_rt.spawn(async move {
            loop {
                let (conn, peer) = listener.accept().await.expect("accept");
                let _ = tasks_tx.send(kiwi::spawn(echo(conn, peer, e2.clone(), d2.clone())));
            }
        });

        let (resets, bytes) = client_rt.block_on(async move {
            let mut resetters = Vec::new();
            let mut verifiers = Vec::new();
            for i in 0..n {
                if i % 5 == 0 {
                    resetters.push(kiwi::spawn(resetter(i, addr)));
                } else {
                    verifiers.push(kiwi::spawn(verifier(i, addr)));
                }
            }
            let mut resets = Vec::new();
            for r in resetters {
                resets.push(r.await.expect("resetting client panicked").unwrap());
            }
            let mut bytes = 0;
            for v in verifiers {
                bytes += v.await.expect("verifying client panicked").unwrap();
            }
            (resets, bytes)
        });

        util::rel::wait_until(Duration::from_secs(5), "every server task ends", || {
            done.load(Ordering::SeqCst) == n
        });
        let ends = ends.lock().unwrap().clone();
        let mut slowest = Duration::ZERO;
        for (peer, at) in &resets {
            let end = ends.get(peer).expect("a server task for every client");
            let took = end.saturating_duration_since(*at);
            slowest = slowest.max(took);
            assert!(
                took < Duration::from_secs(1),
                "server task of reset client {peer} ended {took:?} after the reset"
            );
        }
        let mut panics = 0;
        for h in tasks_rx.try_iter() {
            match server_rt.block_on(h) {
                Ok(()) => {}
                Err(e) if e.is_panic() => panics += 1,
                Err(e) => panic!("server task: {e}"),
            }
        }
        assert_eq!(panics, 0, "server tasks panicked");
        acceptor.abort();
        assert!(server_rt.block_on(acceptor).unwrap_err().is_cancelled());

        // Closing sockets finish in the background: wait for them, then count.
        wait_drop_flushes(&sm, Duration::from_secs(10));
        wait_drop_flushes(&cm, Duration::from_secs(10));
        let settle = Instant::now();
        while open_fds() > baseline && settle.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let after = open_fds();
        if after != baseline {
            util::rel::dump_fds();
        }
        eprintln!(
            "resets: {n} clients, {} reset mid-stream, {} verified ({bytes} bytes), slowest \
             server task end after its reset {slowest:?}, fds {baseline} -> {after}, \
             registrations {} + {}, in {:?}",
            resets.len(),
            n - resets.len(),
            registrations(&sm),
            registrations(&cm),
            t0.elapsed()
        );
        assert_eq!(after, baseline, "descriptors leaked");
        assert_eq!(registrations(&sm), 0, "server registrations leaked");
        assert_eq!(registrations(&cm), 0, "client registrations leaked");
        drop(client_rt);
        drop(server_rt);
    });
}
