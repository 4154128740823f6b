//! A hyper 1.x client on kiwi: fetches one `http://` URL over HTTP/1.1 (or
//! HTTP/2 with prior knowledge) and prints the status and the body's length.
//!
//! ```sh
//! cargo run --example hyper_client -- http://127.0.0.1:8080/ [--http2]
//! ```
//!
//! A hyper client is two halves: a `SendRequest` that the program calls, and
//! a connection future that does the I/O and must be polled meanwhile; here
//! it runs as a kiwi task. Plain `http://` only (no TLS, no redirects, no
//! pooling): this shows the wiring, it is not reqwest.

use std::io;
use std::process::ExitCode;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use kiwi::net::AsyncTcpStream;
use kiwi_hyper::{KiwiExecutor, KiwiIo, KiwiTimer};

const USAGE: &str = "usage: hyper_client http://HOST:PORT/PATH [--http2]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, http2) = match args.as_slice() {
        [url] => (url, false),
        [url, flag] if flag == "--http2" => (url, true),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match kiwi::block_on(fetch(url, http2)) {
        Ok((status, len)) => {
            println!("status: {status}");
            println!("body: {len} bytes");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hyper_client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// GETs `url`: returns the status code and the body's length.
async fn fetch(url: &str, http2: bool) -> io::Result<(u16, usize)> {
    let uri: Uri = url
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{url:?}: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "only http:// URLs",
        ));
    }
    let host = uri
        .host()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = AsyncTcpStream::connect(format!("{host}:{port}").as_str()).await?;
    let io = KiwiIo::new(stream);
    let req = Request::get(&uri)
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .body(Empty::<Bytes>::new())
        .map_err(io::Error::other)?;
    let res = if http2 {
        let (mut sender, conn) = hyper::client::conn::http2::Builder::new(KiwiExecutor::new())
            .timer(KiwiTimer::new())
            .handshake(io)
            .await
            .map_err(io::Error::other)?;
        kiwi::spawn(conn);
        sender.send_request(req).await
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(io::Error::other)?;
        kiwi::spawn(conn);
        sender.send_request(req).await
    }
    .map_err(io::Error::other)?;
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    Ok((status, body.len()))
}
