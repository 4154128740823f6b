//! Reliability, integrity under load (issue 7, item 1).
//!
//! Bug class guarded against: lost, duplicated, reordered or corrupted bytes,
//! and lost wake-ups (hangs), when many connections are live at once on two
//! workers: edge-triggered readiness dropped under a busy epoll, a write queue
//! that loses or repeats a chunk when the reactor flushes it, a half-close that
//! overtakes queued bytes.
//!
//! N connections (1,000; 5,000 with `KIWI_STRESS=1`) are all connected and held
//! at once, then each sends seeded random data in random chunk sizes, half-closes,
//! and reads the echo until EOF. Both directions are hashed (FNV-1a) and counted.
//! Its own binary: it raises the soft `RLIMIT_NOFILE`.

mod util;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, TcpSocket};
use util::rel::{scale, with_deadline, Fnv, Rng};

/// Source addresses rotated by the clients (127.0.0.1 .. 127.0.0.4), so that
/// the ephemeral port range never runs short even at full scale.
const SOURCES: u8 = 4;

#[derive(Default)]
struct ServerStats {
    live: AtomicUsize,
    peak: AtomicUsize,
    errors: AtomicUsize,
    done: AtomicUsize,
}

async fn echo(mut conn: kiwi::net::AsyncTcpStream, stats: Arc<ServerStats>) {
    let live = stats.live.fetch_add(1, Ordering::SeqCst) + 1;
    stats.peak.fetch_max(live, Ordering::SeqCst);
    let mut buf = vec![0u8; 16 * 1024];
    let res: io::Result<()> = async {
        loop {
            let n = conn.read(&mut buf).await?;
            if n == 0 {
                return conn.close().await;
            }
            conn.write_all(&buf[..n]).await?;
        }
    }
    .await;
    if res.is_err() {
        stats.errors.fetch_add(1, Ordering::SeqCst);
    }
    stats.live.fetch_sub(1, Ordering::SeqCst);
    stats.done.fetch_add(1, Ordering::SeqCst);
}

/// One client: connect (through the connect-concurrency limiter), wait until
/// every client is connected, then send, half-close and verify the echo.
/// Returns the number of bytes verified.
async fn client(
    i: usize,
    addr: SocketAddr,
    max_len: usize,
    permits: async_channel::Receiver<()>,
    give_back: async_channel::Sender<()>,
    connected: Arc<AtomicUsize>,
    go: async_channel::Receiver<()>,
) -> io::Result<(u64, bool)> {
    permits.recv().await.expect("permit");
    let sock = TcpSocket::new_v4()?;
    let src = Ipv4Addr::new(127, 0, 0, 1 + (i % SOURCES as usize) as u8);
    sock.bind(SocketAddr::from((src, 0)))?;
    let res = sock.connect(addr).await;
    let _ = give_back.send(()).await;
    let mut stream = res?;
    connected.fetch_add(1, Ordering::SeqCst);
    let _ = go.recv().await; // closed when everybody is connected

    let mut rng = Rng::new(0x5EED_0000 + i as u64);
    let len = rng.range(1, max_len);
    // kiwi's borrowed halves (not futures' `AsyncReadExt::split`).
    let (mut rd, mut wr) = kiwi::net::AsyncTcpStream::split(&mut stream);
    let send = async {
        let mut data = Rng::new(i as u64 ^ 0xDA7A);
        let mut chunks = rng.clone();
        let mut hash = Fnv::default();
        let mut buf = vec![0u8; 16 * 1024];
        let mut left = len;
        while left > 0 {
            let n = chunks.range(1, buf.len()).min(left);
            data.fill(&mut buf[..n]);
            hash.update(&buf[..n]);
            wr.write_all(&buf[..n]).await?;
            left -= n;
        }
        wr.close().await?; // flush, then half-close
        Ok::<_, io::Error>(hash)
    };
    let recv = async {
        let mut sizes = Rng::new(i as u64 ^ 0x0BAD);
        let mut hash = Fnv::default();
        let mut buf = vec![0u8; 24 * 1024];
        let mut total = 0usize;
        loop {
            let want = sizes.range(1, buf.len());
            let n = rd.read(&mut buf[..want]).await?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            total += n;
        }
        Ok::<_, io::Error>((hash, total))
    };
    let (sent, got) = futures_util::future::join(send, recv).await;
    let (sent, (got, total)) = (sent?, got?);
    Ok((total as u64, sent == got && total == len))
}

#[test]
fn echo_integrity_under_load_hash_verified() {
    let n = scale(1_000, 5_000);
    let max_len = 64 * 1024;
    let deadline = if util::rel::stress() { 170 } else { 90 };
    with_deadline(deadline, move || {
        // Each connection costs two descriptors here (client and server end).
        let want = (2 * n + 256) as u64;
        if util::rel::nofile().0 < want {
            let got = util::rel::set_soft_nofile(want);
            assert!(got >= want, "hard RLIMIT_NOFILE too low: {got} < {want}");
        }
        let t0 = Instant::now();
        let server_rt = kiwi::Builder::new()
            .workers(2)
            .thread_name("srv")
            .build()
            .unwrap();
        let client_rt = kiwi::Builder::new()
            .workers(2)
            .thread_name("cli")
            .build()
            .unwrap();
        let stats = Arc::new(ServerStats::default());
        let listener = server_rt
            .block_on(AsyncTcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let st = stats.clone();
        let stats_c = stats.clone();
        let acceptor = server_rt.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((conn, _)) => {
                        kiwi::spawn(echo(conn, st.clone()));
                    }
                    Err(e) => panic!("accept failed: {e}"),
                }
            }
        });

        let (verified, mismatches, hangs, errors, bytes, held) = client_rt.block_on(async move {
            // At most 256 connects in flight: the accept queue (1024) never
            // overflows, so no SYN is dropped and retried a second later.
            let (give_back, permits) = async_channel::bounded(256);
            for _ in 0..256 {
                give_back.try_send(()).unwrap();
            }
            let connected = Arc::new(AtomicUsize::new(0));
            let (go_tx, go) = async_channel::bounded::<()>(1);
            let clients: Vec<_> = (0..n)
                .map(|i| {
                    kiwi::spawn(kiwi::time::timeout(
                        Duration::from_secs(deadline - 10),
                        client(
                            i,
                            addr,
                            max_len,
                            permits.clone(),
                            give_back.clone(),
                            connected.clone(),
                            go.clone(),
                        ),
                    ))
                })
                .collect();
            let t = Instant::now();
            while connected.load(Ordering::SeqCst) < n {
                assert!(
                    t.elapsed() < Duration::from_secs(60),
                    "only {} of {n} connected",
                    connected.load(Ordering::SeqCst)
                );
                kiwi::time::sleep(Duration::from_millis(5)).await;
            }
            // Every connection is open at once here; let the server see them all.
            let t = Instant::now();
            while stats_c.live.load(Ordering::SeqCst) < n && t.elapsed() < Duration::from_secs(10) {
                kiwi::time::sleep(Duration::from_millis(5)).await;
            }
            let held = stats_c.live.load(Ordering::SeqCst);
            drop(go_tx);
            let (mut verified, mut mismatches, mut hangs, mut errors, mut bytes) = (0, 0, 0, 0, 0);
            for c in clients {
                match c.await.expect("client task panicked") {
                    Ok(Ok((b, true))) => {
                        verified += 1;
                        bytes += b;
                    }
                    Ok(Ok((_, false))) => mismatches += 1,
                    Ok(Err(e)) => {
                        eprintln!("client error: {e}");
                        errors += 1;
                    }
                    Err(_) => hangs += 1,
                }
            }
            (verified, mismatches, hangs, errors, bytes, held)
        });
        acceptor.abort();
        eprintln!(
            "load: {n} connections held at once ({held} server tasks live), {verified} verified, \
             {mismatches} mismatches, {hangs} hangs, {errors} errors, {bytes} bytes echoed and \
             hash-verified, in {:?}",
            t0.elapsed()
        );
        assert_eq!(held, n, "not every connection was held at once");
        assert_eq!(mismatches, 0, "echoed bytes differ");
        assert_eq!(hangs, 0, "connections hung");
        assert_eq!(errors, 0, "client I/O errors");
        assert_eq!(verified, n);
        assert_eq!(stats.errors.load(Ordering::SeqCst), 0, "server I/O errors");
        drop(client_rt);
        drop(server_rt);
    });
}
