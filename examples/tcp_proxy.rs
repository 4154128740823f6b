//! A TCP proxy: every connection to LISTEN is relayed to UPSTREAM, both ways.
//!
//! ```sh
//! cargo run --release --example http_hello -- 127.0.0.1:8080 &
//! cargo run --release --example tcp_proxy -- 127.0.0.1:9000 127.0.0.1:8080 [--workers N] [--copy splice|buffered]
//! curl http://127.0.0.1:9000/      # Hello, World!, through the proxy
//! ```
//!
//! What it shows about the runtime:
//!
//! - `kiwi::net::splice_bidirectional` (the default, `--copy splice`) moves
//!   bytes socket to pipe to socket with `splice(2)`: they never enter user
//!   space. `kiwi::io::copy_bidirectional` (`--copy buffered`, and what works
//!   for any pair of streams) moves them from one stream's internal read
//!   buffer straight into the other's write path, with no buffer of the
//!   proxy's own. Either way, EOF on one side is forwarded as a half-close;
//! - at exit it prints how many bytes went by splice (a runtime counter,
//!   `IoMetrics::spliced_bytes`);
//! - an upstream that refuses the connection is an error for that client
//!   alone, logged, and the client's socket is closed;
//! - Ctrl-C (SIGINT) or SIGTERM stops accepting and lets open relays finish
//!   (up to 5 s).

#[path = "common/mod.rs"]
mod common;

use std::io;
use std::net::SocketAddr;
use std::pin::pin;

use futures_util::future::{select, Either};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};

use common::{Args, Shutdown};

const USAGE: &str = "tcp_proxy LISTEN UPSTREAM [--workers N] [--copy splice|buffered]";

fn main() -> io::Result<()> {
    let args = Args::parse_with(USAGE, 1);
    let upstream: SocketAddr = match args.rest[0].parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!(
                "error: UPSTREAM must be an IP:port, got {:?}\nusage: {USAGE}",
                args.rest[0]
            );
            std::process::exit(2);
        }
    };
    let splice = match args.flag("copy", String::from("splice"), USAGE).as_str() {
        "splice" => true,
        "buffered" => false,
        other => {
            eprintln!("error: --copy is splice or buffered, got {other:?}\nusage: {USAGE}");
            std::process::exit(2);
        }
    };
    let rt = args.runtime()?;
    rt.block_on(async {
        let listener = AsyncTcpListener::bind(args.addr.as_str()).await?;
        common::serve(listener, "tcp_proxy", move |client, peer, stop| {
            relay(client, peer, upstream, stop, splice)
        })
        .await
    })?;
    println!(
        "tcp_proxy: spliced {} bytes",
        rt.handle().metrics().io().spliced_bytes()
    );
    Ok(())
}

/// Relays one client to the upstream until both directions reached EOF, an
/// error ends both, or shutdown begins.
async fn relay(
    mut client: AsyncTcpStream,
    peer: SocketAddr,
    upstream: SocketAddr,
    stop: Shutdown,
    splice: bool,
) -> io::Result<()> {
    let mut server = match AsyncTcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(e) => {
            // Only this client is affected: it sees its connection close.
            eprintln!("tcp_proxy: {peer}: upstream {upstream}: {e}");
            return Ok(());
        }
    };
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let copy = pin!(async {
        if splice {
            kiwi::net::splice_bidirectional(&mut client, &mut server).await
        } else {
            kiwi::io::copy_bidirectional(&mut client, &mut server).await
        }
    });
    match select(pin!(stop.wait()), copy).await {
        Either::Left(((), _)) => Ok(()),
        Either::Right((res, _)) => res.map(drop),
    }
}
