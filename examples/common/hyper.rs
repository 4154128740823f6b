//! What the hyper examples share: serving one connection with hyper-util's
//! `auto` builder (HTTP/1.1, or HTTP/2 when the client starts with its
//! preface) on kiwi, and finishing in-flight requests on a stop signal.
//! Included with `#[path = "common/hyper.rs"] mod serve_hyper;`; not every
//! example uses both functions, hence the `allow(dead_code)`.
#![allow(dead_code)]

use std::error::Error;
use std::io;
use std::pin::pin;

use futures_util::future::{select, Either};
use hyper::body::{Body, Incoming};
use hyper::rt::bounds::Http2ServerConnExec;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::server::conn::auto;
use kiwi::net::AsyncTcpStream;
use kiwi_hyper::{KiwiExecutor, KiwiIo, KiwiTimer};

use crate::common::Shutdown;

type BoxError = Box<dyn Error + Send + Sync>;

/// Serves `stream` with `service` until the client leaves, or until `stop`:
/// then hyper's `graceful_shutdown` lets the responses already started
/// complete, takes no new request, and closes.
pub async fn connection<S, B>(stream: AsyncTcpStream, service: S, stop: Shutdown) -> io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Future: 'static,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
    KiwiExecutor: Http2ServerConnExec<S::Future, B>,
{
    stream.set_nodelay(true)?;
    let builder = auto::Builder::new(KiwiExecutor::new());
    serve(KiwiIo::new(stream), builder, service, stop).await
}

/// As [`connection`], over any byte stream hyper can drive (a TLS stream, for
/// one), with a `builder` the caller may have limited to one protocol (after
/// TLS's ALPN chose it). Gives hyper kiwi's timer for its timeouts.
pub async fn serve<I, S, B>(
    io: I,
    mut builder: auto::Builder<KiwiExecutor>,
    service: S,
    stop: Shutdown,
) -> io::Result<()>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Future: 'static,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
    KiwiExecutor: Http2ServerConnExec<S::Future, B>,
{
    builder.http1().timer(KiwiTimer::new());
    builder.http2().timer(KiwiTimer::new());
    let mut conn = pin!(builder.serve_connection(io, service));
    let done = match select(conn.as_mut(), pin!(stop.wait())).await {
        Either::Left((done, _)) => done,
        Either::Right(((), _)) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    done.map_err(io::Error::other)
}
