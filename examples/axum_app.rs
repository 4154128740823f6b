//! An axum `Router` served by hyper on kiwi: a JSON route, a path parameter,
//! a counter in shared state, and a 404 for everything else.
//!
//! ```sh
//! cargo run --release --example axum_app -- 127.0.0.1:8080 [--workers N]
//! curl http://127.0.0.1:8080/json
//! curl http://127.0.0.1:8080/users/7
//! curl -X POST http://127.0.0.1:8080/count
//! curl -i http://127.0.0.1:8080/nowhere      # 404
//! curl http://127.0.0.1:8080/sleep/500       # answers after 500 ms
//! ```
//!
//! axum's `Router` is a tower `Service`; hyper-util's `TowerToHyperService`
//! makes it a hyper service, and `kiwi-hyper` gives hyper its stream, timer
//! and executor. No tokio runtime runs: `axum::serve` is not used (it needs
//! tokio's listener), and neither is anything else that needs one. Known not
//! to work here, because they call into a tokio runtime: axum's `ws`
//! extractor (use `ws_echo`'s way: hyper's upgrade with async-tungstenite),
//! tower-http's `TimeoutLayer` (tokio's sleep) and `ServeDir` (tokio's fs).

#[path = "common/mod.rs"]
mod common;
#[path = "common/hyper.rs"]
mod serve_hyper;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::service::TowerToHyperService;
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};
use serde::Serialize;

use common::{Args, Shutdown};

const USAGE: &str = "axum_app ADDR [--workers N]";

/// What every handler can reach: one counter, shared by all workers.
#[derive(Clone, Default)]
struct AppState {
    hits: Arc<AtomicU64>,
}

#[derive(Serialize)]
struct About {
    runtime: &'static str,
    server: &'static str,
}

#[derive(Serialize)]
struct User {
    id: u32,
    name: String,
}

#[derive(Serialize)]
struct Count {
    count: u64,
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello from axum on kiwi!" }))
        .route(
            "/json",
            get(|| async {
                Json(About {
                    runtime: "kiwi",
                    server: "axum",
                })
            }),
        )
        // A path parameter; a non-number is refused by axum with a 400.
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move {
                Json(User {
                    id,
                    name: format!("user-{id}"),
                })
            }),
        )
        .route(
            "/count",
            get(|State(s): State<AppState>| async move {
                Json(Count {
                    count: s.hits.load(Ordering::Relaxed),
                })
            })
            .post(|State(s): State<AppState>| async move {
                Json(Count {
                    count: s.hits.fetch_add(1, Ordering::Relaxed) + 1,
                })
            }),
        )
        // A slow response (on kiwi's timer), to watch graceful shutdown
        // finish it: capped at 10 s.
        .route(
            "/sleep/{ms}",
            get(|Path(ms): Path<u64>| async move {
                kiwi::time::sleep(Duration::from_millis(ms.min(10_000))).await;
                format!("slept {ms} ms\n")
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(AppState::default())
}

fn main() -> io::Result<()> {
    let args = Args::parse(USAGE);
    let rt = args.runtime()?;
    rt.block_on(async {
        let listener = AsyncTcpListener::bind(args.addr.as_str()).await?;
        let router = app();
        common::serve(listener, "axum_app", move |stream, peer, stop| {
            connection(router.clone(), stream, peer, stop)
        })
        .await
    })
}

/// Serves one connection (HTTP/1.1 or h2c) until the client leaves or the
/// server stops, then finishes in-flight requests (`graceful_shutdown`).
async fn connection(
    router: Router,
    stream: AsyncTcpStream,
    _peer: SocketAddr,
    stop: Shutdown,
) -> io::Result<()> {
    serve_hyper::connection(stream, TowerToHyperService::new(router), stop).await
}
