//! B10's proxies: accept a client, connect to the upstream, relay both ways
//! until both sides are done. The same shape on each runtime:
//!
//! - `kiwi` with `splice`: `kiwi::net::splice_bidirectional` (socket → pipe →
//!   socket, no byte enters user space);
//! - `kiwi` with `buffered`: `kiwi::io::copy_bidirectional` (each byte read
//!   into the client stream's buffer, written from there);
//! - `tokio`: `tokio::io::copy_bidirectional` (an 8 KiB buffer per
//!   direction).
//!
//! `kiwi-bench server <kiwi|tokio> proxy-<splice|buffered>:UPSTREAM_PORT 0 PORT`.

use std::io::{self, Write};
use std::net::Ipv4Addr;

/// Prints `listening` and exits at EOF on stdin (no counters: B10 reads CPU
/// time and syscalls from outside).
fn listening() {
    println!("listening");
    let _ = io::stdout().flush();
    std::thread::spawn(|| {
        let mut line = String::new();
        while io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            println!("counters");
            let _ = io::stdout().flush();
            line.clear();
        }
        std::process::exit(0);
    });
}

/// kiwi's proxy on a single-threaded runtime.
pub fn kiwi(port: u16, upstream: u16, splice: bool) -> io::Result<()> {
    use kiwi::net::{AsyncTcpListener, AsyncTcpStream};
    kiwi::block_on(async move {
        let listener = AsyncTcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        listening();
        loop {
            let (mut client, _) = listener.accept().await?;
            drop(kiwi::spawn(async move {
                let Ok(mut server) = AsyncTcpStream::connect((Ipv4Addr::LOCALHOST, upstream)).await
                else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let _ = if splice {
                    kiwi::net::splice_bidirectional(&mut client, &mut server).await
                } else {
                    kiwi::io::copy_bidirectional(&mut client, &mut server).await
                };
            }));
        }
    })
}

/// tokio's proxy on a `current_thread` runtime.
pub fn tokio(port: u16, upstream: u16) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        listening();
        loop {
            let (mut client, _) = listener.accept().await?;
            drop(tokio::spawn(async move {
                let Ok(mut server) =
                    tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, upstream)).await
                else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }));
        }
    })
}
