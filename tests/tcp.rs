//! TCP behaviour through the facade: echo at scale, half-close, resets, the
//! reactor-flushed write buffer, backpressure, fairness, shared accept.

mod util;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};
use util::net::{run, run_local, Rng};

/// An echo server on 127.0.0.1; returns its address.
async fn echo_server() -> io::Result<SocketAddr> {
    // In an Arc: the accept future borrows the listener, and a task cancelled at
    // runtime shutdown must not hold a borrow into its own (moved) state.
    let listener = Arc::new(AsyncTcpListener::bind("127.0.0.1:0").await?);
    let addr = listener.local_addr()?;
    kiwi::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                continue;
            };
            kiwi::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    Ok(addr)
}

#[test]
fn echo_250_connections_random_chunks() {
    run(async {
        let addr = echo_server().await?;
        let mut clients = Vec::new();
        for i in 0..250u64 {
            clients.push(kiwi::spawn(async move {
                let mut rng = Rng::new(0x9E37_79B9 + i);
                let len = rng.range(1, 200_000);
                let data = rng.bytes(len);
                let stream = AsyncTcpStream::connect(addr).await?;
                let (mut rd, mut wr) = stream.into_split();
                let to_send = data.clone();
                let mut wrng = Rng::new(i + 7);
                let writer = kiwi::spawn(async move {
                    let mut off = 0;
                    while off < to_send.len() {
                        let n = wrng.range(1, 9000).min(to_send.len() - off);
                        wr.write_all(&to_send[off..off + n]).await?;
                        off += n;
                    }
                    wr.flush().await?;
                    Ok::<_, io::Error>(wr)
                });
                let mut got = vec![0u8; len];
                let mut off = 0;
                while off < len {
                    let n = rng.range(1, 12000).min(len - off);
                    rd.read_exact(&mut got[off..off + n]).await?;
                    off += n;
                }
                writer.await.expect("writer task")?;
                assert!(got == data, "connection {i}: echoed bytes differ");
                Ok::<_, io::Error>(())
            }));
        }
        for c in clients {
            c.await.expect("client task")?;
        }
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn half_close_then_reply() {
    run(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = kiwi::spawn(async move {
            let (mut conn, _) = listener.accept().await?;
            let mut req = Vec::new();
            conn.read_to_end(&mut req).await?; // until the client's FIN
            conn.write_all(format!("got {} bytes", req.len()).as_bytes())
                .await?;
            conn.close().await?;
            Ok::<_, io::Error>(())
        });
        let mut c = AsyncTcpStream::connect(addr).await?;
        c.write_all(b"hello there").await?;
        c.close().await?; // flush + shutdown(WR): the read side stays open
        let mut reply = String::new();
        c.read_to_string(&mut reply).await?;
        assert_eq!(reply, "got 11 bytes");
        server.await.unwrap()?;
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn peer_reset_mid_stream_leaves_server_serving() {
    run(async {
        let addr = echo_server().await?;
        let mut bad = AsyncTcpStream::connect(addr).await?;
        bad.write_all(&vec![1u8; 300_000]).await?;
        let mut some = [0u8; 100];
        bad.read_exact(&mut some).await?;
        bad.set_linger(Some(Duration::ZERO))?;
        drop(bad); // RST while the server is mid-echo
        kiwi::time::sleep(Duration::from_millis(50)).await;
        let mut good = AsyncTcpStream::connect(addr).await?;
        good.write_all(b"still there?").await?;
        let mut buf = [0u8; 12];
        good.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"still there?");
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn write_all_then_drop_delivers_every_byte() {
    run(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let data = Rng::new(42).bytes(4 << 20);
        let expected = data.clone();
        kiwi::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            conn.write_all(&data).await.unwrap();
            // No flush, no close: most of the 4 MiB is still queued here.
            drop(conn);
        });
        let mut c = AsyncTcpStream::connect(addr).await?;
        kiwi::time::sleep(Duration::from_millis(100)).await; // let the writer queue up and drop
        let mut got = Vec::new();
        c.read_to_end(&mut got).await?;
        assert_eq!(got.len(), expected.len());
        assert!(got == expected);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn never_reading_peer_bounds_memory_then_gets_everything() {
    run(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut c = AsyncTcpStream::connect(addr).await?;
        let (mut peer, _) = listener.accept().await?;
        let high = 64 * 1024;
        c.set_write_high_water(high);
        let data = Rng::new(3).bytes(32 << 20);
        let expected = data.clone();
        let progress = Arc::new(AtomicUsize::new(0));
        let p = progress.clone();
        let writer = kiwi::spawn(async move {
            let mut off = 0;
            while off < data.len() {
                let n = c.write(&data[off..(off + 65536).min(data.len())]).await?;
                off += n;
                p.store(off, Ordering::SeqCst);
                assert!(
                    c.queued() <= high,
                    "queued {} above the high-water mark",
                    c.queued()
                );
            }
            c.close().await?;
            Ok::<_, io::Error>(())
        });
        kiwi::time::sleep(Duration::from_millis(300)).await;
        let stuck_at = progress.load(Ordering::SeqCst);
        assert!(
            stuck_at < expected.len(),
            "the writer must be held back by a peer that does not read"
        );
        kiwi::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            progress.load(Ordering::SeqCst),
            stuck_at,
            "the writer stays Pending"
        );
        assert!(!writer.is_finished());
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await?;
        assert!(got == expected);
        writer.await.unwrap()?;
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

/// `flush` waits while bytes are queued, completes once the reactor has sent
/// them, and returns a send error the reactor stored: the three states that
/// its lock-free check (`StreamSource::flushed_all`) must tell apart.
#[test]
fn flush_waits_for_queued_bytes_and_reports_a_stored_error() {
    run(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut c = AsyncTcpStream::connect(addr).await?;
        let (mut peer, _) = listener.accept().await?;
        // Nothing written yet: done at once.
        c.flush().await?;
        // More than the kernel's buffers hold, so some of it stays queued,
        // under a high-water mark that lets `write_all` finish.
        c.set_write_high_water(16 << 20);
        let data = Rng::new(5).bytes(8 << 20);
        c.write_all(&data).await?;
        assert!(
            c.queued() > 0,
            "8 MiB to a peer that does not read queue up"
        );
        let early = kiwi::time::timeout(Duration::from_millis(100), c.flush()).await;
        assert!(early.is_err(), "flush must wait for the queued bytes");
        let reader = kiwi::spawn(async move {
            let mut got = vec![0u8; 8 << 20];
            peer.read_exact(&mut got).await?;
            Ok::<_, io::Error>((peer, got))
        });
        c.flush().await?;
        assert_eq!(c.queued(), 0);
        let (peer, got) = reader.await.unwrap()?;
        assert!(got == data);

        // The peer resets with bytes still queued here: the reactor's send
        // fails, and the next flush reports it.
        peer.set_linger(Some(Duration::ZERO))?;
        c.write_all(&data).await?;
        drop(peer);
        let err = kiwi::time::timeout(Duration::from_secs(5), c.flush())
            .await
            .expect("a flush to a reset peer must end")
            .expect_err("a flush to a reset peer must fail");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "unexpected error: {err}"
        );
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn flooding_socket_does_not_starve_timer_on_same_worker() {
    run_local(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // The flooder is a plain thread: the worker only reads.
        let flooder = std::thread::spawn(move || {
            use std::io::Write;
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_write_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let chunk = vec![7u8; 64 * 1024];
            let end = Instant::now() + Duration::from_millis(1500);
            while Instant::now() < end {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let (mut conn, _) = listener.accept().await?;
        let reader = kiwi::spawn_local(async move {
            let mut buf = vec![0u8; 1024];
            while let Ok(n) = conn.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        });
        kiwi::time::sleep(Duration::from_millis(100)).await; // flooding is underway
        let t = Instant::now();
        kiwi::time::sleep(Duration::from_millis(10)).await;
        let took = t.elapsed();
        assert!(
            took < Duration::from_millis(200),
            "a 10 ms timer took {took:?} next to a flood"
        );
        reader.abort();
        kiwi::time::sleep(Duration::from_millis(10)).await; // let the abort drop the reader
        flooder.join().unwrap();
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn write_8mib_then_read_ack() {
    run(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = kiwi::spawn(async move {
            let (mut conn, _) = listener.accept().await?;
            let mut total = 0usize;
            let mut buf = vec![0u8; 64 * 1024];
            while total < 8 << 20 {
                let n = conn.read(&mut buf).await?;
                assert!(n > 0);
                total += n;
            }
            conn.write_all(b"ACK").await?;
            conn.flush().await?;
            Ok::<_, io::Error>(())
        });
        let mut c = AsyncTcpStream::connect(addr).await?;
        c.write_all(&vec![9u8; 8 << 20]).await?;
        // No flush: the reactor sends what is queued while we wait for the ack.
        let mut ack = [0u8; 3];
        c.read_exact(&mut ack).await?;
        assert_eq!(&ack, b"ACK");
        server.await.unwrap()?;
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn eight_acceptors_on_one_listener_are_each_woken() {
    run(async {
        let listener = Arc::new(AsyncTcpListener::bind("127.0.0.1:0").await?);
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let l = listener.clone();
            let a = accepted.clone();
            tasks.push(kiwi::spawn(async move {
                let (conn, _) = l.accept().await?;
                a.fetch_add(1, Ordering::SeqCst);
                Ok::<_, io::Error>(conn)
            }));
        }
        kiwi::time::sleep(Duration::from_millis(50)).await; // all eight are waiting
        let mut clients = Vec::new();
        for _ in 0..8 {
            clients.push(AsyncTcpStream::connect(addr).await?);
        }
        for t in tasks {
            t.await.unwrap()?;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 8);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn always_ready_peek_loop_does_not_starve_timer() {
    run_local(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let mut c = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (mut s, _) = listener.accept().await?;
        c.write_all(b"always here").await?;
        let peeker = kiwi::spawn_local(async move {
            let mut buf = [0u8; 4];
            loop {
                let _ = s.peek(&mut buf).await;
            }
        });
        kiwi::time::sleep(Duration::from_millis(20)).await;
        let t = Instant::now();
        kiwi::time::sleep(Duration::from_millis(10)).await;
        assert!(
            t.elapsed() < Duration::from_millis(200),
            "timer starved by a peek loop: {:?}",
            t.elapsed()
        );
        peeker.abort();
        drop(c);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn connection_refused() {
    run(async {
        // Bind then drop a listener to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let err = AsyncTcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn connect_by_host_name() {
    run(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        // "localhost" may resolve to ::1 first; every address is tried in turn.
        let c = AsyncTcpStream::connect(("localhost", port)).await?;
        assert_eq!(c.peer_addr()?.port(), port);
        let c2 = AsyncTcpStream::connect(format!("localhost:{port}")).await?;
        assert_eq!(c2.peer_addr()?.port(), port);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn peek_then_read() {
    run(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let mut c = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (mut s, _) = listener.accept().await?;
        c.write_all(b"peekaboo").await?;
        let mut buf = [0u8; 8];
        let mut n = 0;
        while n < 8 {
            n = s.peek(&mut buf).await?;
        }
        assert_eq!(&buf, b"peekaboo");
        let mut small = [0u8; 4];
        s.read_exact(&mut small).await?;
        assert_eq!(&small, b"peek");
        // Buffered bytes come first now.
        let n = s.peek(&mut buf).await?;
        assert_eq!(&buf[..n], b"aboo");
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn ipv6_loopback() {
    run(async {
        let listener = AsyncTcpListener::bind("[::1]:0").await?;
        let addr = listener.local_addr()?;
        assert!(addr.is_ipv6());
        let mut c = AsyncTcpStream::connect(addr).await?;
        let (mut s, peer) = listener.accept().await?;
        assert!(peer.is_ipv6());
        c.write_all(b"v6").await?;
        let mut b = [0u8; 2];
        s.read_exact(&mut b).await?;
        assert_eq!(&b, b"v6");
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn into_split_halves_on_different_tasks() {
    run(async {
        let addr = echo_server().await?;
        let c = AsyncTcpStream::connect(addr).await?;
        let (mut rd, mut wr) = c.into_split();
        let n = 2 << 20;
        let data = Rng::new(11).bytes(n);
        let expected = data.clone();
        let w = kiwi::spawn(async move {
            for chunk in data.chunks(10_000) {
                wr.write_all(chunk).await?;
            }
            wr.close().await?;
            Ok::<_, io::Error>(())
        });
        let r = kiwi::spawn(async move {
            let mut got = Vec::new();
            rd.read_to_end(&mut got).await?;
            Ok::<_, io::Error>(got)
        });
        w.await.unwrap()?;
        let got = r.await.unwrap()?;
        assert!(got == expected);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

/// `splice_bidirectional` (issue 12, item 3): bytes the proxy's stream had
/// already read into its buffer go out first, then the rest by splice, in
/// order; the half-close is forwarded; the runtime counts what was spliced.
#[test]
fn splice_bidirectional_sends_buffered_bytes_first_then_splices_in_order() {
    use kiwi::io::AsyncBufReadExt;
    run(async {
        let front = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let back = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let (front_addr, back_addr) = (front.local_addr()?, back.local_addr()?);
        let total: usize = 4 << 20;
        let data: Vec<u8> = (0..total).map(|i| (i * 31 % 253) as u8).collect();
        let expect = data.clone();
        let client = kiwi::spawn(async move {
            let mut c = AsyncTcpStream::connect(front_addr).await?;
            c.write_all(&data).await?;
            c.close().await?; // half-close, forwarded upstream
            let mut back = Vec::new();
            c.read_to_end(&mut back).await?;
            Ok::<_, io::Error>(back)
        });
        let upstream = kiwi::spawn(async move {
            let (mut s, _) = back.accept().await?;
            let mut got = Vec::new();
            s.read_to_end(&mut got).await?;
            s.write_all(b"done").await?;
            Ok::<_, io::Error>(got)
        });
        let (mut a, _) = front.accept().await?;
        // Some bytes are in `a`'s buffer before the proxy starts.
        let early = a.fill_buf().await?.len();
        assert!(early > 0);
        let mut b = AsyncTcpStream::connect(back_addr).await?;
        let before = kiwi::Handle::current().metrics().io().spliced_bytes();
        let (ab, ba) = kiwi::net::splice_bidirectional(&mut a, &mut b).await?;
        assert_eq!((ab, ba), (total as u64, 4));
        let spliced = kiwi::Handle::current().metrics().io().spliced_bytes() - before;
        // The bulk goes by splice; the early bytes, and the chunk that shows
        // the data comes in bulk, by the buffered path.
        assert!(
            spliced >= (total as u64) * 9 / 10,
            "only {spliced} of {total} bytes were spliced"
        );
        assert!(
            upstream.await.unwrap()? == expect,
            "bytes lost or reordered"
        );
        assert_eq!(client.await.unwrap()?, b"done");
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

/// Small messages stay on the buffered path, where a splice would cost an
/// extra syscall each and save no copy worth having: request/response pairs
/// of 100 bytes through `splice_bidirectional` splice nothing.
#[test]
fn splice_bidirectional_leaves_small_messages_buffered() {
    run(async {
        let front = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let back = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let (front_addr, back_addr) = (front.local_addr()?, back.local_addr()?);
        let upstream = kiwi::spawn(async move {
            let (mut s, _) = back.accept().await?;
            let mut req = [0u8; 100];
            for _ in 0..50 {
                s.read_exact(&mut req).await?;
                s.write_all(&req).await?;
            }
            Ok::<_, io::Error>(())
        });
        let proxy = kiwi::spawn(async move {
            let (mut a, _) = front.accept().await?;
            let mut b = AsyncTcpStream::connect(back_addr).await?;
            kiwi::net::splice_bidirectional(&mut a, &mut b).await
        });
        let before = kiwi::Handle::current().metrics().io().spliced_bytes();
        let mut c = AsyncTcpStream::connect(front_addr).await?;
        let mut back_buf = [0u8; 100];
        for i in 0..50u8 {
            c.write_all(&[i; 100]).await?;
            c.read_exact(&mut back_buf).await?;
            assert_eq!(back_buf, [i; 100]);
        }
        c.close().await?;
        upstream.await.unwrap()?;
        assert_eq!(proxy.await.unwrap()?, (5000, 5000));
        let spliced = kiwi::Handle::current().metrics().io().spliced_bytes() - before;
        assert_eq!(spliced, 0);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}
