//! Unix sockets through the facade: stream and datagram round trips, pairs.

mod util;

use std::io;
use std::path::PathBuf;

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncUnixDatagram, AsyncUnixListener, AsyncUnixStream};
use util::net::run;

fn temp_path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("kiwi-test-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn stream_round_trip() {
    run(async {
        let path = temp_path("stream");
        let listener = AsyncUnixListener::bind(&path)?;
        assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
        let p2 = path.clone();
        let client = kiwi::spawn(async move {
            let mut c = AsyncUnixStream::connect(&p2).await?;
            let data = vec![5u8; 1 << 20];
            c.write_all(&data).await?;
            c.close().await?;
            let mut back = Vec::new();
            c.read_to_end(&mut back).await?;
            Ok::<_, io::Error>(back)
        });
        let (mut s, addr) = listener.accept().await?;
        assert!(addr.is_unnamed());
        let mut got = Vec::new();
        s.read_to_end(&mut got).await?;
        assert_eq!(got.len(), 1 << 20);
        s.write_all(b"done").await?;
        drop(s);
        assert_eq!(client.await.unwrap()?, b"done");
        std::fs::remove_file(&path)?;
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn stream_pair() {
    run(async {
        let (mut a, mut b) = AsyncUnixStream::pair()?;
        a.write_all(b"abc").await?;
        let mut buf = [0u8; 3];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"abc");
        b.write_all(b"xyz").await?;
        a.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"xyz");
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn datagram_round_trip_and_pair() {
    run(async {
        let path = temp_path("dgram");
        let server = AsyncUnixDatagram::bind(&path)?;
        let client_path = temp_path("dgram-client");
        let client = AsyncUnixDatagram::bind(&client_path)?;
        client.send_to(b"hello", &path).await?;
        let mut buf = [0u8; 16];
        let (n, from) = server.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from.as_pathname(), Some(client_path.as_path()));
        server.send_to(b"back", from.as_pathname().unwrap()).await?;
        let n = client.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"back");

        let unbound = AsyncUnixDatagram::unbound()?;
        unbound.connect(&path)?;
        unbound.send(b"u").await?;
        let (n, from) = server.recv_from(&mut buf).await?;
        assert_eq!(n, 1);
        assert!(from.is_unnamed());

        let (a, b) = AsyncUnixDatagram::pair()?;
        a.send(b"pair").await?;
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"pair");
        std::fs::remove_file(&path)?;
        std::fs::remove_file(&client_path)?;
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

/// Issue 15, item 8: a Unix stream splits like a TCP one. The owned halves
/// move to different tasks (and workers) and carry 1 MiB each way at once,
/// with no byte lost or reordered; reunited, the stream keeps the bytes its
/// read buffer already held.
#[test]
fn stream_into_split_carries_both_ways_and_reunites() {
    use kiwi::io::AsyncBufReadExt;
    run(async {
        let (a, mut b) = AsyncUnixStream::pair()?;
        let (mut rd, mut wr) = a.into_split();
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
        let expect = data.clone();
        let writer = kiwi::spawn(async move {
            wr.write_all(&data).await?;
            wr.flush().await?;
            Ok::<_, io::Error>(wr)
        });
        let peer = kiwi::spawn(async move {
            let mut got = vec![0u8; 1 << 20];
            b.read_exact(&mut got).await?;
            b.write_all(&got).await?; // echo it back
            b.write_all(b"tail").await?;
            Ok::<_, io::Error>((got, b))
        });
        let mut back = vec![0u8; 1 << 20];
        rd.read_exact(&mut back).await?;
        let wr = writer.await.unwrap()?;
        let (got, _b) = peer.await.unwrap()?;
        assert!(got == expect && back == expect, "bytes lost or reordered");
        // "tail" arrives in the read half's buffer; reuniting must keep it.
        assert_eq!(rd.fill_buf().await?, b"tail");
        assert!(rd.local_addr()?.is_unnamed() && wr.peer_addr()?.is_unnamed());
        let mut a = rd.reunite(wr).expect("halves of one stream");
        let mut tail = [0u8; 4];
        a.read_exact(&mut tail).await?;
        assert_eq!(&tail, b"tail");
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

/// Halves of two different streams are refused, and handed back working.
#[test]
fn reunite_refuses_halves_of_different_streams() {
    run(async {
        let (a, mut a_peer) = AsyncUnixStream::pair()?;
        let (b, _b_peer) = AsyncUnixStream::pair()?;
        let (rd_a, wr_a) = a.into_split();
        let (_rd_b, wr_b) = b.into_split();
        let err = rd_a.reunite(wr_b).unwrap_err();
        assert!(err.to_string().contains("two different Unix streams"));
        let kiwi::net::unix::ReuniteError(rd_a, _wr_b) = err;
        let mut a = wr_a.reunite(rd_a).expect("halves of one stream");
        a.write_all(b"ok").await?;
        let mut two = [0u8; 2];
        a_peer.read_exact(&mut two).await?;
        assert_eq!(&two, b"ok");

        // The same for TCP's owned halves.
        let l = kiwi::net::AsyncTcpListener::bind("127.0.0.1:0").await?;
        let c1 = kiwi::net::AsyncTcpStream::connect(l.local_addr()?).await?;
        let c2 = kiwi::net::AsyncTcpStream::connect(l.local_addr()?).await?;
        let (r1, w1) = c1.into_split();
        let (_r2, w2) = c2.into_split();
        let kiwi::net::ReuniteError(r1, _w2) = r1.reunite(w2).unwrap_err();
        let c1 = r1.reunite(w1).expect("halves of one stream");
        assert_eq!(c1.peer_addr()?, l.local_addr()?);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

/// `into_std` gives a Unix stream back to std, and refuses to drop bytes
/// already read into kiwi's buffer.
#[test]
fn stream_into_std_keeps_or_refuses() {
    use kiwi::io::AsyncBufReadExt;
    run(async {
        let (a, mut b) = AsyncUnixStream::pair()?;
        let mut std_a = a.into_std()?;
        std_a.set_nonblocking(false)?;
        std::io::Write::write_all(&mut std_a, b"std")?;
        let mut three = [0u8; 3];
        b.read_exact(&mut three).await?;
        assert_eq!(&three, b"std");

        let (mut c, mut d) = AsyncUnixStream::pair()?;
        d.write_all(b"buffered").await?;
        assert_eq!(c.fill_buf().await?, b"buffered");
        let err = c.into_std().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("8 bytes already read"), "{err}");
        Ok::<_, io::Error>(())
    })
    .unwrap();
}
