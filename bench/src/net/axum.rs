//! B9's axum rows: one `Router` (`GET /` answers `Hello, World!`) served the
//! way each runtime's users serve it.
//!
//! - tokio: `axum::serve`, with `TCP_NODELAY` set through `tap_io` as axum's
//!   own tests do.
//! - kiwi: what `examples/axum_app.rs` does, reduced to what `axum::serve`
//!   does per connection: hyper-util's `auto` builder with the HTTP/2
//!   CONNECT protocol on, `serve_connection_with_upgrades`, and a shutdown
//!   signal raced against the connection (axum::serve polls one too, even
//!   without graceful shutdown). Neither side sets a hyper timer.

use std::io;
use std::pin::pin;

use axum::routing::get;
use axum::Router;
use futures_util::future::select;
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use kiwi::net::AsyncTcpStream;
use kiwi_hyper::{KiwiExecutor, KiwiIo};

/// The one router, for both runtimes.
pub fn router() -> Router {
    Router::new().route("/", get(|| async { "Hello, World!" }))
}

/// Serves one connection on kiwi until the client leaves or `stop` closes.
pub async fn kiwi_connection(s: AsyncTcpStream, router: Router, stop: async_channel::Receiver<()>) {
    let mut builder = auto::Builder::new(KiwiExecutor::new());
    builder.http2().enable_connect_protocol();
    let service = TowerToHyperService::new(router);
    let mut conn = pin!(builder.serve_connection_with_upgrades(KiwiIo::new(s), service));
    if let futures_util::future::Either::Right(_) = select(conn.as_mut(), pin!(stop.recv())).await {
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}

/// `axum::serve` on tokio's runtime, until the process is killed.
pub async fn tokio_serve(listener: tokio::net::TcpListener) -> io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router()).await
}
