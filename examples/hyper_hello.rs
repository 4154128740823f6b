//! `Hello, World!` from hyper 1.x on kiwi, HTTP/1.1 and HTTP/2 on the same
//! port (hyper-util's `auto` builder tells them apart by the first bytes:
//! h2c with prior knowledge, no TLS).
//!
//! ```sh
//! cargo run --release --example hyper_hello -- 127.0.0.1:8080 [--workers N]
//! curl --http1.1 http://127.0.0.1:8080/
//! curl --http2-prior-knowledge http://127.0.0.1:8080/
//! ```
//!
//! The glue is [`kiwi_hyper`]: `KiwiIo` gives hyper the stream, `KiwiTimer`
//! its clock, `KiwiExecutor` a place to run HTTP/2 streams. On SIGINT or
//! SIGTERM the server stops accepting and asks every connection to finish
//! through hyper's `graceful_shutdown`: responses already started complete,
//! then the connections close.

#[path = "common/mod.rs"]
mod common;
#[path = "common/hyper.rs"]
mod serve_hyper;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};

use common::{Args, Shutdown};

const USAGE: &str = "hyper_hello ADDR [--workers N]";

fn main() -> io::Result<()> {
    let args = Args::parse(USAGE);
    let rt = args.runtime()?;
    rt.block_on(async {
        let listener = AsyncTcpListener::bind(args.addr.as_str()).await?;
        common::serve(listener, "hyper_hello", connection).await
    })
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

/// Serves one connection until the client leaves or the server stops.
async fn connection(stream: AsyncTcpStream, _peer: SocketAddr, stop: Shutdown) -> io::Result<()> {
    serve_hyper::connection(stream, service_fn(hello), stop).await
}
