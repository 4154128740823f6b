//! kiwi-net regressions, one test per bug, each named after it (found in
//! review; reproductions first written as failing tests).

mod util;

use std::io::IoSlice;
use std::time::Duration;

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket};
use util::rt::with_deadline;

/// Bug: after an ICMP port-unreachable, the reactor's sticky `ERROR` bit kept a
/// UDP socket "ready" forever; the next `recv` got `EAGAIN`, cleared only
/// `READY`, and looped inside one poll at 100% CPU (no timer could fire).
#[test]
fn udp_recv_spun_after_an_icmp_error() {
    with_deadline(10, || {
        kiwi::block_on(async {
            // A port with nobody listening: take one and let it go.
            let closed = std::net::UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let s = AsyncUdpSocket::bind("127.0.0.1:0").await.unwrap();
            s.connect(closed).await.unwrap();
            s.send(b"x").await.unwrap();
            kiwi::time::sleep(Duration::from_millis(50)).await;
            let mut b = [0u8; 16];
            let first = s.recv(&mut b).await.unwrap_err();
            assert_eq!(first.kind(), std::io::ErrorKind::ConnectionRefused);
            // Nothing more will come: the recv must wait (and time out), not spin.
            let second = kiwi::time::timeout(Duration::from_millis(200), s.recv(&mut b)).await;
            assert!(second.is_err(), "recv returned {second:?}");
        });
    });
}

/// Bug: a vectored write of more than `UIO_MAXIOV` slices sent only the first
/// 1024, was judged "short" against the whole, cleared write readiness with the
/// socket still writable, and queued the rest where no edge would flush it:
/// `flush` hung and the peer never got the bytes.
#[test]
fn vectored_write_beyond_uio_maxiov_left_bytes_stuck() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let l = AsyncTcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut c = AsyncTcpStream::connect(l.local_addr().unwrap())
                .await
                .unwrap();
            let (mut s, _) = l.accept().await.unwrap();
            let data: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
            let slices: Vec<IoSlice> = data.chunks(1).map(IoSlice::new).collect();
            let mut sent = 0;
            while sent < data.len() {
                sent += c.write_vectored(&slices[sent..]).await.unwrap();
            }
            kiwi::time::timeout(Duration::from_secs(2), c.flush())
                .await
                .expect("flush hung")
                .unwrap();
            let mut got = vec![0u8; data.len()];
            kiwi::time::timeout(Duration::from_secs(2), s.read_exact(&mut got))
                .await
                .expect("read hung")
                .unwrap();
            assert_eq!(got, data);
        });
    });
}

/// Bug: with bytes already queued, `poll_write` never touched the
/// registration, so a stream whose reactor was gone (registered by a `block_on`
/// that returned) waited at the high-water mark for an edge that could never
/// come.
#[test]
fn writer_at_high_water_waited_on_a_dead_reactor() {
    with_deadline(20, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        let (mut c, mut s) = rt.block_on(async {
            let l = AsyncTcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut c = AsyncTcpStream::connect(l.local_addr().unwrap())
                .await
                .unwrap();
            let (s, _) = l.accept().await.unwrap();
            c.set_write_high_water(64 * 1024);
            let chunk = vec![1u8; 64 * 1024];
            // Fill the kernel, then the output buffer (the peer is not reading).
            while kiwi::time::timeout(Duration::from_millis(100), c.write(&chunk))
                .await
                .is_ok()
            {}
            assert!(c.queued() > 0);
            (c, s)
        });
        // That block_on's reactor is gone. Drain the peer and keep writing.
        let reader = rt.spawn(async move {
            let mut b = vec![0u8; 1 << 16];
            let mut total = 0usize;
            loop {
                match s.read(&mut b).await {
                    Ok(0) | Err(_) => break total,
                    Ok(n) => total += n,
                }
            }
        });
        let writer = rt.spawn(async move {
            let chunk = vec![2u8; 64 * 1024];
            for _ in 0..64 {
                c.write_all(&chunk).await.unwrap();
            }
            c.close().await.unwrap();
        });
        let done = rt.block_on(kiwi::time::timeout(Duration::from_secs(5), writer));
        assert!(done.is_ok(), "writer hung on a dead reactor");
        let total = rt.block_on(reader).unwrap();
        assert!(total >= 64 * 64 * 1024, "reader got {total} bytes");
    });
}

/// Bug: `into_std` dropped bytes that had already been read into the stream's
/// buffer (a `read_exact(5)` pulls in everything the kernel had), so the std
/// stream silently missed them. It now refuses with a clear error.
#[test]
fn into_std_silently_lost_buffered_bytes() {
    with_deadline(10, || {
        kiwi::block_on(async {
            let l = AsyncTcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut c = AsyncTcpStream::connect(l.local_addr().unwrap())
                .await
                .unwrap();
            let (mut s, _) = l.accept().await.unwrap();
            s.write_all(b"hello world").await.unwrap();
            s.flush().await.unwrap();
            let mut first = [0u8; 5];
            c.read_exact(&mut first).await.unwrap();
            let err = c.into_std().unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("6 bytes"), "{err}");
            // Nothing buffered: the conversion works.
            let c2 = AsyncTcpStream::connect(l.local_addr().unwrap())
                .await
                .unwrap();
            assert!(c2.into_std().is_ok());
        });
    });
}
