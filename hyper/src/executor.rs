//! Where hyper's background work runs: HTTP/2 streams of a server
//! connection, and the connection task of a client.

use std::future::Future;

use hyper::rt::Executor;

/// A `hyper::rt::Executor` that runs each future as a kiwi task
/// (`kiwi::spawn`): any worker may run it, and an idle worker may steal it.
/// Use it from inside a kiwi runtime.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// kiwi::block_on(async {
///     let ran = Arc::new(AtomicBool::new(false));
///     let flag = ran.clone();
///     kiwi_hyper::KiwiExecutor::new().execute(async move { flag.store(true, Ordering::SeqCst) });
///     while !ran.load(Ordering::SeqCst) {
///         kiwi::time::sleep(std::time::Duration::from_millis(1)).await;
///     }
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct KiwiExecutor(());

impl KiwiExecutor {
    /// An executor for the runtime it is used in.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = hyper::server::conn::http2::Builder::new(kiwi_hyper::KiwiExecutor::new());
    /// ```
    pub fn new() -> KiwiExecutor {
        KiwiExecutor(())
    }
}

impl<F> Executor<F> for KiwiExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        drop(kiwi::spawn(fut));
    }
}

/// A `hyper::rt::Executor` that keeps each future on the current worker
/// (`kiwi::spawn_local`): no `Send` bound, and no stealing.
///
/// A connection's HTTP/2 streams then stay on one worker only if the
/// connection itself does, that is, if it is served from a `spawn_local`
/// task. A connection served from a `spawn`ed task may be stolen by another
/// worker, and its later streams would start there.
///
/// # Examples
///
/// ```no_run
/// use std::convert::Infallible;
/// use http_body_util::Full;
/// use hyper::{body::Bytes, server::conn::http2, service::service_fn, Response};
/// use kiwi_hyper::{KiwiIo, KiwiLocalExecutor, KiwiTimer};
///
/// async fn serve(listener: kiwi::net::AsyncTcpListener) -> std::io::Result<()> {
///     loop {
///         let (stream, _) = listener.accept().await?;
///         // The connection and all its streams live on this worker.
///         kiwi::spawn_local(async move {
///             let service = service_fn(|_req| async {
///                 Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("Hello, World!"))))
///             });
///             let _ = http2::Builder::new(KiwiLocalExecutor::new())
///                 .timer(KiwiTimer::new())
///                 .serve_connection(KiwiIo::new(stream), service)
///                 .await;
///         });
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct KiwiLocalExecutor(());

impl KiwiLocalExecutor {
    /// An executor for the worker it is used on.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = hyper::server::conn::http2::Builder::new(kiwi_hyper::KiwiLocalExecutor::new());
    /// ```
    pub fn new() -> KiwiLocalExecutor {
        KiwiLocalExecutor(())
    }
}

impl<F> Executor<F> for KiwiLocalExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, fut: F) {
        drop(kiwi::spawn_local(fut));
    }
}
