//! A WebSocket echo server: hyper takes the HTTP/1.1 upgrade request,
//! answers `101 Switching Protocols`, and hands the raw connection to
//! async-tungstenite, which speaks WebSocket over it on kiwi.
//!
//! ```sh
//! cargo run --example ws_echo -- 127.0.0.1:9001 [--workers N]
//! # any WebSocket client, e.g. websocat ws://127.0.0.1:9001/
//! ```
//!
//! The path from hyper to async-tungstenite: `hyper::upgrade::on(req)`
//! resolves to hyper's `Upgraded` once the `101` is sent; `HyperIo` turns it
//! into a futures-io stream, which is what async-tungstenite takes. Text and
//! binary messages come back as they were sent; pings are answered by
//! tungstenite itself; a close is answered and ends the task. Plain HTTP
//! requests get a `426 Upgrade Required`.
//!
//! On SIGINT or SIGTERM the server stops accepting and finishes the HTTP
//! connections as every example does; a WebSocket session runs in a task
//! of its own after the upgrade, and is dropped (without a close frame)
//! when the runtime shuts down. A shortcut: a real server would send each
//! session a close frame first.

#[path = "common/mod.rs"]
mod common;

use std::io;
use std::net::SocketAddr;

use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::Role;
use async_tungstenite::WebSocketStream;
use futures_util::StreamExt;
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};
use kiwi_hyper::{HyperIo, KiwiIo, KiwiTimer};

use common::{Args, Shutdown};

const USAGE: &str = "ws_echo ADDR [--workers N]";

fn main() -> io::Result<()> {
    let args = Args::parse(USAGE);
    let rt = args.runtime()?;
    rt.block_on(async {
        let listener = AsyncTcpListener::bind(args.addr.as_str()).await?;
        common::serve(listener, "ws_echo", connection).await
    })
}

/// Answers the upgrade request, and starts the echo once hyper has sent the
/// `101`.
async fn upgrade(mut req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, hyper::Error> {
    let is_ws = req
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY).filter(|_| is_ws) else {
        let mut res = Response::new(Empty::new());
        *res.status_mut() = StatusCode::UPGRADE_REQUIRED;
        res.headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
        return Ok(res);
    };
    let accept = derive_accept_key(key.as_bytes());
    kiwi::spawn(async move {
        match hyper::upgrade::on(&mut req).await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(HyperIo::new(upgraded), Role::Server, None)
                        .await;
                if let Err(e) = echo(ws).await {
                    eprintln!("ws_echo: {e}");
                }
            }
            Err(e) => eprintln!("ws_echo: upgrade: {e}"),
        }
    });
    let mut res = Response::new(Empty::new());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    Ok(res)
}

/// Sends every text and binary message back until the client closes.
async fn echo<S>(mut ws: WebSocketStream<S>) -> Result<(), async_tungstenite::tungstenite::Error>
where
    S: futures_util::io::AsyncRead + futures_util::io::AsyncWrite + Unpin,
{
    while let Some(msg) = ws.next().await {
        let msg = msg?;
        if msg.is_text() || msg.is_binary() {
            ws.send(msg).await?;
        }
        // Pings are answered, and a close is echoed, by tungstenite itself
        // on the next read or flush.
    }
    Ok(())
}

/// One HTTP/1.1 connection, with upgrades allowed.
async fn connection(stream: AsyncTcpStream, _peer: SocketAddr, _stop: Shutdown) -> io::Result<()> {
    stream.set_nodelay(true)?;
    http1::Builder::new()
        .timer(KiwiTimer::new())
        .serve_connection(KiwiIo::new(stream), service_fn(upgrade))
        .with_upgrades()
        .await
        .map_err(io::Error::other)
}
