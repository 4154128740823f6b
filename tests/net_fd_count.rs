//! Process-wide descriptor accounting (its own binary): 10k connect/close cycles
//! leave the descriptor count where it started.

mod util;

use std::io;
use std::time::Duration;

use kiwi::io::AsyncReadExt;
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn fd_count_returns_to_baseline_after_10k_connect_close_cycles() {
    let rt = kiwi::Builder::new().workers(2).build().unwrap();
    let (baseline, after) = rt.block_on(async {
        // Workers create their epoll lazily on their own threads: make sure every
        // one is up. Measured inside block_on, whose epoll and eventfd are open.
        for _ in 0..8 {
            kiwi::spawn(async {}).await.unwrap();
        }
        let baseline = open_fds();
        kiwi::time::timeout(util::net::DEADLINE * 2, async {
            let listener = std::sync::Arc::new(AsyncTcpListener::bind("127.0.0.1:0").await?);
            let addr = listener.local_addr()?;
            let l = listener.clone();
            let server = kiwi::spawn(async move {
                for i in 0..10_000 {
                    let (mut conn, _) = l.accept().await?;
                    if i % 2 == 0 {
                        // Half the time the server reads EOF first.
                        let mut sink = Vec::new();
                        conn.read_to_end(&mut sink).await?;
                    }
                }
                Ok::<_, io::Error>(())
            });
            for i in 0..10_000 {
                let c = AsyncTcpStream::connect(addr).await?;
                if i % 3 == 0 {
                    drop(c);
                } else {
                    let _ = c.shutdown(std::net::Shutdown::Both);
                }
            }
            server.await.unwrap()?;
            drop(listener);
            // Closing connections finish in the background: wait for them.
            let metrics = kiwi::Handle::current().metrics();
            while metrics.io().drop_flushes_pending() > 0 {
                kiwi::time::sleep(Duration::from_millis(10)).await;
            }
            Ok::<_, io::Error>(())
        })
        .await
        .expect("deadline")
        .unwrap();
        let after = open_fds();
        if after > baseline {
            for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
                eprintln!(
                    "fd {:?} -> {:?}",
                    e.file_name(),
                    std::fs::read_link(e.path()).ok()
                );
            }
        }
        (baseline, after)
    });
    assert!(
        after <= baseline,
        "descriptors leaked: {baseline} before, {after} after"
    );
    drop(rt);
}
