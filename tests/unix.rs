//! Unix sockets through the facade: stream and datagram round trips, pairs.

mod util;

use std::io;
use std::path::PathBuf;

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncUnixDatagram, AsyncUnixListener, AsyncUnixStream};
use util::run;

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
