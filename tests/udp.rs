//! UDP through the facade: round trips, shared receivers, peek.

mod util;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kiwi::net::AsyncUdpSocket;
use util::net::run;

#[test]
fn round_trip_v4_and_v6() {
    run(async {
        for addr in ["127.0.0.1:0", "[::1]:0"] {
            let a = AsyncUdpSocket::bind(addr).await?;
            let b = AsyncUdpSocket::bind(addr).await?;
            a.send_to(b"ping", b.local_addr()?).await?;
            let mut buf = [0u8; 16];
            let (n, from) = b.recv_from(&mut buf).await?;
            assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
            b.send_to(b"pong", from).await?;
            let (n, _) = a.recv_from(&mut buf).await?;
            assert_eq!(&buf[..n], b"pong");
            // Connected sockets.
            a.connect(b.local_addr()?).await?;
            b.connect(a.local_addr()?).await?;
            a.send(b"c").await?;
            assert_eq!(b.recv(&mut buf).await?, 1);
        }
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn several_receivers_on_one_socket_are_each_woken() {
    run(async {
        // In an Arc: see tests/tcp.rs's echo server for why tasks borrow through one.
        let sock = Arc::new(AsyncUdpSocket::bind("127.0.0.1:0").await?);
        let addr = sock.local_addr()?;
        let got = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let s = sock.clone();
            let g = got.clone();
            tasks.push(kiwi::spawn(async move {
                let mut buf = [0u8; 8];
                let (n, _) = s.recv_from(&mut buf).await?;
                assert_eq!(n, 1);
                g.fetch_add(1, Ordering::SeqCst);
                Ok::<_, io::Error>(())
            }));
        }
        kiwi::time::sleep(Duration::from_millis(50)).await;
        let sender = AsyncUdpSocket::bind("127.0.0.1:0").await?;
        for _ in 0..6 {
            sender.send_to(b"x", addr).await?;
            kiwi::time::sleep(Duration::from_millis(5)).await;
        }
        for t in tasks {
            t.await.unwrap()?;
        }
        assert_eq!(got.load(Ordering::SeqCst), 6);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn peek_from_leaves_the_datagram() {
    run(async {
        let a = AsyncUdpSocket::bind("127.0.0.1:0").await?;
        let b = AsyncUdpSocket::bind("127.0.0.1:0").await?;
        a.send_to(b"first", b.local_addr()?).await?;
        a.send_to(b"second", b.local_addr()?).await?;
        let mut buf = [0u8; 16];
        let (n, from) = b.peek_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"first"[..], a.local_addr()?));
        let (n, _) = b.peek_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"first");
        let (n, _) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"first");
        let (n, _) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"second");
        Ok::<_, io::Error>(())
    })
    .unwrap();
}
