//! A self-contained echo stress, small enough for valgrind (issue 7, item 11).
//!
//! Starts an echo server and `N` clients (default 20) on one two-worker
//! runtime. Each client sends seeded random data in random chunk sizes,
//! half-closes, and checks the echo by hash; every fifth client instead resets
//! (`SO_LINGER` 0) mid-stream. Exits with status 1 on any mismatch or error.
//!
//! ```text
//! cargo run --example stress_echo -- [CONNECTIONS] [MAX_BYTES]
//! scripts/valgrind-echo.sh          # the same under valgrind memcheck
//! ```

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};

/// xorshift64*: payload bytes and chunk sizes from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// FNV-1a over a byte slice, continued from `h`.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

async fn echo(mut conn: AsyncTcpStream) {
    let mut buf = vec![0u8; 8192];
    loop {
        match conn.read(&mut buf).await {
            Ok(0) => {
                let _ = conn.close().await;
                return;
            }
            Ok(n) => {
                if conn.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// One client; returns the bytes verified (0 for a resetting client).
async fn client(i: u64, addr: SocketAddr, max: usize) -> io::Result<usize> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i + 1));
    let len = 1 + rng.below(max);
    let mut s = AsyncTcpStream::connect(addr).await?;
    if i % 5 == 4 {
        s.write_all(&vec![7u8; len]).await?;
        s.set_linger(Some(Duration::ZERO))?;
        return Ok(0); // dropped: an RST mid-stream
    }
    let (mut rd, mut wr) = AsyncTcpStream::split(&mut s);
    let send = async {
        let (mut h, mut left, mut buf) = (FNV_START, len, vec![0u8; 4096]);
        while left > 0 {
            let n = (1 + rng.below(buf.len())).min(left);
            for b in &mut buf[..n] {
                *b = rng.next() as u8;
            }
            h = fnv(h, &buf[..n]);
            wr.write_all(&buf[..n]).await?;
            left -= n;
        }
        wr.close().await?;
        Ok::<_, io::Error>(h)
    };
    let recv = async {
        let (mut h, mut total, mut buf) = (FNV_START, 0, vec![0u8; 4096]);
        loop {
            let n = rd.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, io::Error>((h, total));
            }
            h = fnv(h, &buf[..n]);
            total += n;
        }
    };
    let (sent, got) = futures_util::future::join(send, recv).await;
    let (sent, (got, total)) = (sent?, got?);
    if sent != got || total != len {
        return Err(io::Error::other(format!("client {i}: echo mismatch")));
    }
    Ok(total)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let max: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(32 * 1024);
    let rt = kiwi::Builder::new().workers(2).build().expect("runtime");
    let t0 = Instant::now();
    let result = rt.block_on(async move {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = kiwi::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                kiwi::spawn(echo(conn));
            }
        });
        let clients: Vec<_> = (0..n).map(|i| kiwi::spawn(client(i, addr, max))).collect();
        let mut bytes = 0;
        for c in clients {
            bytes += c.await.map_err(io::Error::other)??;
        }
        server.abort();
        let metrics = kiwi::Handle::current().metrics();
        while metrics.io().drop_flushes_pending() > 0 {
            kiwi::time::sleep(Duration::from_millis(5)).await;
        }
        Ok::<_, io::Error>(bytes)
    });
    drop(rt);
    match result {
        Ok(bytes) => println!(
            "stress_echo: {n} connections, {} reset, {bytes} bytes verified in {:?}",
            n / 5,
            t0.elapsed()
        ),
        Err(e) => {
            eprintln!("stress_echo: FAILED: {e}");
            std::process::exit(1);
        }
    }
}
