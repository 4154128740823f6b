//! The smallest kiwi server: send every byte back.
//!
//! ```sh
//! cargo run --release --example echo_server -- 127.0.0.1:7000 [--workers N]
//! nc 127.0.0.1 7000            # type lines; they come back
//! ```
//!
//! What it shows about the runtime:
//!
//! - the accept loop (in `common/mod.rs`) runs on the `block_on` thread and
//!   spawns each connection onto a worker, round-robin;
//! - a stream has its own read buffer: `fill_buf` hands us a view of it, so the
//!   echo loop allocates nothing per read;
//! - `write_all` returns once kiwi has taken the bytes (written straight through,
//!   or queued in the stream's output buffer, which the reactor itself flushes
//!   when the socket turns writable). We never have to flush before reading
//!   again; backpressure comes from the high-water mark;
//! - Ctrl-C (SIGINT) or SIGTERM stops accepting and lets open connections
//!   finish (up to 5 s).

#[path = "common/mod.rs"]
mod common;

use std::io;
use std::net::SocketAddr;
use std::pin::pin;

use futures_util::future::{select, Either};
use kiwi::io::{AsyncBufReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};

use common::{Args, Shutdown};

const USAGE: &str = "echo_server ADDR [--workers N]";

fn main() -> io::Result<()> {
    let args = Args::parse(USAGE);
    let rt = args.runtime()?;
    rt.block_on(async {
        let listener = AsyncTcpListener::bind(args.addr.as_str()).await?;
        common::serve(listener, "echo_server", echo).await
    })
}

/// Echoes one connection until the peer closes its side (EOF) or shutdown
/// begins.
async fn echo(mut stream: AsyncTcpStream, _peer: SocketAddr, stop: Shutdown) -> io::Result<()> {
    // The shutdown signal, created once and raced against every read. We only
    // stop *between* echoes: bytes already read are always written back.
    let mut stop = pin!(stop.wait());
    loop {
        // `split` borrows the two directions separately, so we can read from
        // the stream's buffer and write to the same stream at once.
        let (mut reader, mut writer) = stream.split();
        let filled = match select(stop.as_mut(), reader.fill_buf()).await {
            Either::Left(((), _)) => break,
            Either::Right((res, _)) => res?,
        };
        if filled.is_empty() {
            break; // EOF: the peer shut down its write side.
        }
        let n = filled.len();
        writer.write_all(filled).await?;
        reader.consume_unpin(n);
    }
    // Graceful close: flush what is still queued, then shut down our write
    // side, so the peer reads EOF after the last echoed byte.
    stream.close().await
}
