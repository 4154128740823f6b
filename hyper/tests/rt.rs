//! kiwi-hyper's pieces under hyper itself: a served connection over a kiwi
//! socket pair, hyper's header timeout on kiwi's (paused) clock, the timer's
//! in-place reset, HTTP/2 streams on the executor, and the auto traits hyper
//! requires of a sleep, and vectored writes through `KiwiIo`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::rt::Timer;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::AsyncUnixStream;
use kiwi_hyper::{KiwiExecutor, KiwiIo, KiwiSleep, KiwiTimer};

fn send_sync_unpin<T: Send + Sync + Unpin>() {}

#[test]
fn sleeps_are_send_sync_and_unpin() {
    send_sync_unpin::<kiwi::time::Sleep>();
    send_sync_unpin::<KiwiSleep>();
}

/// hyper gathers header and body into one write only if told the stream
/// takes vectored writes; `KiwiIo` says so for every stream, and a response
/// then reaches the peer whole through kiwi's `sendmsg`, and through a
/// stream with futures-io's one-slice-per-call default just as well.
#[kiwi::test]
async fn vectored_writes_reach_the_peer_whole() {
    use hyper::rt::Write;
    let (tcp, mut peer) = tcp_pair().await;
    let mut io = KiwiIo::new(tcp);
    assert!(io.is_write_vectored());
    let slices = [
        std::io::IoSlice::new(b"head "),
        std::io::IoSlice::new(b"body"),
    ];
    let n = std::future::poll_fn(|cx| Pin::new(&mut io).poll_write_vectored(cx, &slices))
        .await
        .unwrap();
    assert_eq!(n, 9, "kiwi's stream takes every slice in one call");
    let mut got = [0u8; 9];
    peer.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"head body");
    // A writer with the default vectored write: one slice per call, still whole.
    let mut cursor = KiwiIo::new(OneSliceWriter(Vec::new()));
    let mut left: &[std::io::IoSlice<'_>] = &slices;
    while !left.is_empty() {
        let n = std::future::poll_fn(|cx| Pin::new(&mut cursor).poll_write_vectored(cx, left))
            .await
            .unwrap();
        assert_eq!(n, left[0].len(), "the default writes the first slice only");
        left = &left[1..];
    }
    assert_eq!(cursor.inner().0, b"head body");
}

/// A stream with futures-io's default `poll_write_vectored`, as a user's own
/// type might be: `KiwiIo` takes any `AsyncBufRead + AsyncWrite + Unpin`.
struct OneSliceWriter(Vec<u8>);

impl kiwi::io::AsyncRead for OneSliceWriter {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(0))
    }
}

impl kiwi::io::AsyncBufRead for OneSliceWriter {
    fn poll_fill_buf(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<&[u8]>> {
        Poll::Ready(Ok(&[]))
    }
    fn consume(self: Pin<&mut Self>, _: usize) {}
}

impl kiwi::io::AsyncWrite for OneSliceWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

async fn tcp_pair() -> (kiwi::net::AsyncTcpStream, kiwi::net::AsyncTcpStream) {
    let listener = kiwi::net::AsyncTcpListener::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) =
        kiwi::join!(kiwi::net::AsyncTcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

/// A hyper server and a hyper client, both on kiwi, over a socket pair.
#[kiwi::test]
async fn hyper_client_and_server_talk_over_kiwi_io() {
    let (a, b) = AsyncUnixStream::pair().unwrap();
    let server = kiwi::spawn(async move {
        http1::Builder::new()
            .timer(KiwiTimer::new())
            .serve_connection(KiwiIo::new(a), service_fn(hello))
            .await
    });
    let (mut sender, conn) = hyper::client::conn::http1::handshake(KiwiIo::new(b))
        .await
        .unwrap();
    let conn = kiwi::spawn(conn);
    for _ in 0..3 {
        let req = Request::get("/")
            .header("host", "kiwi")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"Hello, World!");
    }
    drop(sender);
    conn.await.unwrap().unwrap();
    server.await.unwrap().unwrap();
}

/// hyper's `header_read_timeout` runs on `KiwiTimer`, so on kiwi's clock: with
/// time paused, a client that never finishes its head is cut off after an
/// hour of *paused* time, in no real time at all.
#[kiwi::test(start_paused = true)]
async fn header_timeout_follows_paused_time() {
    let (a, mut b) = AsyncUnixStream::pair().unwrap();
    let real = Instant::now();
    let start = kiwi::time::now();
    let server = kiwi::spawn(async move {
        http1::Builder::new()
            .timer(KiwiTimer::new())
            .header_read_timeout(Duration::from_secs(3600))
            .serve_connection(KiwiIo::new(a), service_fn(hello))
            .await
    });
    b.write_all(b"GET / HTTP/1.1\r\nhost: ki").await.unwrap();
    let mut reply = Vec::new();
    b.read_to_end(&mut reply).await.unwrap();
    assert!(
        server.await.unwrap().is_err(),
        "the connection ends in a timeout error"
    );
    assert!(kiwi::time::now() - start >= Duration::from_secs(3600));
    assert!(
        real.elapsed() < Duration::from_secs(60),
        "paused time, not real time"
    );
}

/// A future that never completes: a sleep of some other timer.
struct Foreign;

impl Future for Foreign {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl hyper::rt::Sleep for Foreign {}

/// `reset` moves our own sleep in place, and replaces a foreign one.
#[kiwi::test(start_paused = true)]
async fn reset_moves_the_sleep_in_place() {
    let timer = KiwiTimer::new();
    let start = timer.now();
    let mut sleep = timer.sleep(Duration::from_secs(100));
    timer.reset(&mut sleep, start + Duration::from_secs(5));
    assert!(sleep.is::<KiwiSleep>());
    sleep.as_mut().await;
    assert_eq!(timer.now() - start, Duration::from_secs(5));

    let mut foreign: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
    timer.reset(&mut foreign, timer.now() + Duration::from_secs(1));
    assert!(foreign.is::<KiwiSleep>());
    foreign.await;
}

/// HTTP/2 streams run as kiwi tasks through `KiwiExecutor`, on two workers.
#[test]
fn http2_streams_run_on_kiwi_executor() {
    let rt = kiwi::Builder::new().workers(2).build().unwrap();
    rt.block_on(async {
        let (a, b) = AsyncUnixStream::pair().unwrap();
        let server = kiwi::spawn(async move {
            hyper::server::conn::http2::Builder::new(KiwiExecutor::new())
                .timer(KiwiTimer::new())
                .serve_connection(KiwiIo::new(a), service_fn(hello))
                .await
        });
        let (sender, conn) = hyper::client::conn::http2::Builder::new(KiwiExecutor::new())
            .timer(KiwiTimer::new())
            .handshake(KiwiIo::new(b))
            .await
            .unwrap();
        let conn = kiwi::spawn(conn);
        // 32 requests at once on one connection: 32 streams.
        let requests: Vec<_> = (0..32)
            .map(|_| {
                let mut sender = sender.clone();
                kiwi::spawn(async move {
                    let req = Request::get("http://kiwi/")
                        .body(Empty::<Bytes>::new())
                        .unwrap();
                    let res = sender.send_request(req).await.unwrap();
                    res.into_body().collect().await.unwrap().to_bytes()
                })
            })
            .collect();
        for r in requests {
            assert_eq!(&r.await.unwrap()[..], b"Hello, World!");
        }
        drop(sender);
        conn.await.unwrap().unwrap();
        server.await.unwrap().unwrap();
    });
}
