//! The echo servers, one hand-written shape for every runtime: an accept loop
//! that spawns one task per connection; the task reads into a 16 KiB buffer
//! and writes back what it read until EOF. Each prints `listening` once bound.
//!
//! kiwi's joins when `kiwi::net` lands: the same shape with
//! `kiwi::net::AsyncTcpListener` inside `kiwi::block_on`.

use std::io;
use std::net::{Ipv4Addr, TcpListener};

const BUF: usize = 16 * 1024;

fn listening() {
    println!("listening");
}

/// Runs the echo server `kind` on 127.0.0.1:`port` until killed.
pub fn serve(kind: &str, port: u16) -> io::Result<()> {
    match kind {
        "tokio" => tokio_echo(port),
        "smol" => smol_echo(port),
        "kiwi" => Err(io::Error::other("kiwi::net is not usable yet")),
        _ => Err(io::Error::other(format!("unknown server {kind}"))),
    }
}

fn tokio_echo(port: u16) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        listening();
        loop {
            let (mut s, _) = listener.accept().await?;
            s.set_nodelay(true)?;
            tokio::spawn(async move {
                let mut buf = vec![0u8; BUF];
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

fn smol_echo(port: u16) -> io::Result<()> {
    use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
    let ex = async_executor::LocalExecutor::new();
    async_io::block_on(ex.run(async {
        let listener = async_io::Async::<TcpListener>::bind((Ipv4Addr::LOCALHOST, port))?;
        listening();
        loop {
            let (mut s, _) = listener.accept().await?;
            s.get_ref().set_nodelay(true)?;
            ex.spawn(async move {
                let mut buf = vec![0u8; BUF];
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            })
            .detach();
        }
    }))
}
