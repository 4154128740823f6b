//! Run [hyper] 1.x on kiwi.
//!
//! hyper owns no runtime. It asks for three things through `hyper::rt`, and
//! this crate gives each one from kiwi:
//!
//! | hyper asks for | so that it can | kiwi gives |
//! |---|---|---|
//! | `rt::Read` + `rt::Write` | move bytes | [`KiwiIo`] over any futures-io stream |
//! | `rt::Timer` | time out idle connections, pace HTTP/2 pings | [`KiwiTimer`] over kiwi's timing wheel |
//! | `rt::Executor` | run HTTP/2 streams and client connections as tasks | [`KiwiExecutor`], [`KiwiLocalExecutor`] |
//!
//! Serving one HTTP/1.1 connection, the whole loop:
//!
//! ```no_run
//! use std::convert::Infallible;
//! use http_body_util::Full;
//! use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
//! use kiwi_hyper::{KiwiIo, KiwiTimer};
//!
//! async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("Hello, World!"))))
//! }
//!
//! # fn main() -> std::io::Result<()> {
//! kiwi::block_on(async {
//!     let listener = kiwi::net::AsyncTcpListener::bind("127.0.0.1:8080").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         kiwi::spawn(async move {
//!             let conn = http1::Builder::new()
//!                 .timer(KiwiTimer::new())
//!                 .serve_connection(KiwiIo::new(stream), service_fn(hello));
//!             let _ = conn.await; // a client that goes away is not our error
//!         });
//!     }
//! })
//! # }
//! ```
//!
//! Two things a reader may wonder about:
//!
//! - **hyper still pulls in part of tokio** (its `sync` module, for hyper's
//!   channels; with HTTP/2, `h2` adds `io-util` and `tokio-util`'s codec),
//!   though no tokio runtime is ever built: nothing here polls a tokio
//!   reactor or timer.
//! - **One copy on the read side.** hyper reads into its own buffer through
//!   `ReadBufCursor`; filling it without `unsafe` means reading into kiwi's
//!   buffer (`fill_buf`) and copying out with `put_slice`. The crate forbids
//!   `unsafe`, and pays that copy.
//! - **Vectored writes, assumed.** hyper decides once per connection whether
//!   to hand a response over as separate slices (header buffer, body chunks)
//!   or to copy them into one buffer first, by asking `is_write_vectored`.
//!   futures-io has no such question, and a bound that could answer it would
//!   narrow `KiwiIo` to types kiwi knows. `KiwiIo` says yes: every futures-io
//!   writer has `poll_write_vectored`, kiwi's streams and futures-rustls
//!   gather all slices in one call, and the default one is correct if slower.

#![forbid(unsafe_code)]

mod executor;
mod io;
mod timer;

pub use executor::{KiwiExecutor, KiwiLocalExecutor};
pub use io::{HyperIo, KiwiIo};
pub use timer::{KiwiSleep, KiwiTimer};
