//! The servers, one hand-written shape per application for every runtime:
//! an accept loop that spawns one task per connection.
//!
//! - `echo`: the task reads into a 16 KiB buffer and `write_all`s back what it
//!   read, until EOF.
//! - `http`: see [`super::http`] (a minimal HTTP/1.1 keep-alive server).
//! - `idle`: the task awaits a 1-byte read (B7: what an idle connection costs).
//! - `hyper`: the task serves the connection with hyper 1.x's HTTP/1.1 server
//!   and one `Hello, World!` service (B9); kiwi through `kiwi-hyper`
//!   (`KiwiIo`, `KiwiTimer`), tokio through hyper-util (`TokioIo`,
//!   `TokioTimer`). Same hyper code, same builder settings.
//! - `axum`: one axum `Router` (B9), through `axum::serve` on tokio and the
//!   equivalent per-connection code on kiwi (see [`super::axum`]).
//!
//! `kiwi-bench server <kiwi|tokio|smol> <echo|http|idle> <workers> <port>`
//! listens on 127.0.0.1:`port` and prints `listening`. `workers` 0 is the
//! single-threaded runtime (`kiwi::block_on`, tokio `current_thread`, smol's
//! `LocalExecutor`); N > 0 is an N-worker runtime (kiwi `Builder::workers(N)`,
//! tokio `multi_thread`), whose `block_on` thread runs the accept loop.
//! Every line then read on stdin is answered on stdout with one line of
//! counters: `counters <busy µs of worker 0> <busy µs of worker 1> ...`
//! (kiwi `WorkerMetrics::busy_time`, tokio `worker_total_busy_duration`),
//! then, kiwi only, one number per worker for each of [`KIWI_COUNTERS`] in
//! turn (`<polls of worker 0> <polls of worker 1> ... <eventfd writes of
//! worker 0> ...`); smol answers `counters` alone. EOF on stdin ends the
//! process.

use std::io::{self, BufRead, Write};
use std::net::{Ipv4Addr, TcpListener};

use kiwi::runtime::WorkerMetrics;

use super::http;

const BUF: usize = 16 * 1024;

/// A kiwi per-worker counter: the name B8 reports it under, and its
/// `WorkerMetrics` accessor.
pub type KiwiCounter = (&'static str, fn(&WorkerMetrics) -> u64);

/// kiwi's counters sent after busy time, in order. Cross-thread wakes are
/// `remote_wakes`: tasks received through the remote queue (wakes from
/// another thread and spawns from outside the pool).
pub const KIWI_COUNTERS: &[KiwiCounter] = &[
    ("polls", WorkerMetrics::polls),
    ("eventfd writes", WorkerMetrics::eventfd_writes),
    ("cross-thread wakes", WorkerMetrics::remote_wakes),
    ("registration moves", WorkerMetrics::registration_moves),
    ("reactor rescues", WorkerMetrics::reactor_rescues),
    ("steals", WorkerMetrics::steals),
];

/// Which per-connection handler a server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    /// Echo what was read.
    Echo,
    /// Minimal HTTP/1.1 `Hello, World!`.
    Http,
    /// Park on a 1-byte read.
    Idle,
    /// hyper's HTTP/1.1 server with a `Hello, World!` service.
    Hyper,
    /// An axum `Router` answering `Hello, World!`.
    Axum,
    /// HTTP/1.1 answering every request with a 1 MiB body (B10's upstream).
    Big,
    /// A proxy to the upstream port (B10): splice, or buffered copy.
    Proxy {
        /// The upstream's port on 127.0.0.1.
        upstream: u16,
        /// `splice_bidirectional` rather than `copy_bidirectional` (kiwi).
        splice: bool,
    },
}

impl App {
    /// Parses `echo`, `http`, `idle`, `hyper`, `axum`, `big`, or
    /// `proxy-splice:PORT` / `proxy-buffered:PORT`.
    pub fn parse(s: &str) -> Option<App> {
        if let Some((kind, port)) = s.split_once(':') {
            let upstream = port.parse().ok()?;
            return match kind {
                "proxy-splice" => Some(App::Proxy {
                    upstream,
                    splice: true,
                }),
                "proxy-buffered" => Some(App::Proxy {
                    upstream,
                    splice: false,
                }),
                _ => None,
            };
        }
        match s {
            "big" => Some(App::Big),
            "echo" => Some(App::Echo),
            "http" => Some(App::Http),
            "idle" => Some(App::Idle),
            "hyper" => Some(App::Hyper),
            "axum" => Some(App::Axum),
            _ => None,
        }
    }
}

type HelloBody = http_body_util::Full<hyper::body::Bytes>;

/// B9's one hyper service, for both runtimes.
async fn hyper_hello(
    _: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<HelloBody>, std::convert::Infallible> {
    Ok(hyper::Response::new(http_body_util::Full::new(
        hyper::body::Bytes::from_static(b"Hello, World!"),
    )))
}

/// Raises the soft descriptor limit to the hard one (B7 needs 10k sockets).
pub fn raise_nofile_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

/// Whole microseconds of `d` (saturating).
fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Prints `listening`, then answers each stdin line with `counters ...`
/// from a plain thread; exits the process at EOF.
fn listening(counters: impl Fn() -> Vec<u64> + Send + 'static) {
    println!("listening");
    let _ = io::stdout().flush();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
            let mut s = String::from("counters");
            for c in counters() {
                s.push_str(&format!(" {c}"));
            }
            println!("{s}");
            let _ = io::stdout().flush();
        }
        std::process::exit(0);
    });
}

/// Runs server `kind` with `app` on 127.0.0.1:`port` until killed.
pub fn serve(kind: &str, app: App, workers: usize, port: u16) -> io::Result<()> {
    raise_nofile_limit();
    if let App::Proxy { upstream, splice } = app {
        return match kind {
            "kiwi" => super::proxy::kiwi(port, upstream, splice),
            "tokio" => super::proxy::tokio(port, upstream),
            _ => Err(io::Error::other(format!("no {kind} proxy"))),
        };
    }
    match kind {
        "kiwi" => kiwi_serve(app, workers, port),
        "tokio" => tokio_serve(app, workers, port),
        "smol" if workers == 0 => smol_serve(app, port),
        _ => Err(io::Error::other(format!("unknown server {kind}/{workers}"))),
    }
}

fn kiwi_serve(app: App, workers: usize, port: u16) -> io::Result<()> {
    use kiwi::io::{AsyncReadExt, AsyncWriteExt};
    use kiwi::net::AsyncTcpListener;
    let main = async move {
        let listener = AsyncTcpListener::bind(format!("127.0.0.1:{port}").as_str()).await?;
        let metrics = kiwi::Handle::current().metrics();
        listening(move || {
            let workers = 0..metrics.num_workers();
            let busy = workers
                .clone()
                .map(|i| micros(metrics.worker(i).busy_time()));
            let counters = KIWI_COUNTERS
                .iter()
                .flat_map(|(_, get)| workers.clone().map(|i| get(metrics.worker(i))));
            busy.chain(counters).collect()
        });
        let router = super::axum::router();
        // Never closed: the stop signal axum's connections watch, unused here.
        let (_keep_open, stop) = async_channel::bounded::<()>(1);
        loop {
            let (mut s, _) = listener.accept().await?;
            s.set_nodelay(true)?;
            match app {
                App::Echo => drop(kiwi::spawn(async move {
                    let mut buf = vec![0u8; BUF];
                    loop {
                        let n = match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                })),
                App::Http | App::Big => drop(kiwi::spawn(async move {
                    let mut c = http::Conn::answering(app == App::Big);
                    while let Ok(n) = s.read(c.spare()).await {
                        match c.filled(n) {
                            Some(out) if s.write_all(out).await.is_ok() => c.sent(),
                            _ => return,
                        }
                    }
                })),
                App::Idle => drop(kiwi::spawn(async move {
                    let mut b = [0u8; 1];
                    let _ = s.read(&mut b).await;
                })),
                App::Hyper => drop(kiwi::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(kiwi_hyper::KiwiTimer::new())
                        .serve_connection(
                            kiwi_hyper::KiwiIo::new(s),
                            hyper::service::service_fn(hyper_hello),
                        )
                        .await;
                })),
                App::Axum => drop(kiwi::spawn(super::axum::kiwi_connection(
                    s,
                    router.clone(),
                    stop.clone(),
                ))),
                App::Proxy { .. } => unreachable!("served by proxy::kiwi"),
            }
        }
    };
    if workers == 0 {
        kiwi::block_on(main)
    } else {
        kiwi::Builder::new()
            .workers(workers)
            .build()?
            .block_on(main)
    }
}

fn tokio_serve(app: App, workers: usize, port: u16) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    };
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let metrics = tokio::runtime::Handle::current().metrics();
        listening(move || {
            (0..metrics.num_workers())
                .map(|i| micros(metrics.worker_total_busy_duration(i)))
                .collect()
        });
        if app == App::Axum {
            return super::axum::tokio_serve(listener).await;
        }
        loop {
            let (mut s, _) = listener.accept().await?;
            s.set_nodelay(true)?;
            match app {
                App::Echo => drop(tokio::spawn(async move {
                    let mut buf = vec![0u8; BUF];
                    loop {
                        let n = match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                })),
                App::Http | App::Big => drop(tokio::spawn(async move {
                    let mut c = http::Conn::answering(app == App::Big);
                    while let Ok(n) = s.read(c.spare()).await {
                        match c.filled(n) {
                            Some(out) if s.write_all(out).await.is_ok() => c.sent(),
                            _ => return,
                        }
                    }
                })),
                App::Idle => drop(tokio::spawn(async move {
                    let mut b = [0u8; 1];
                    let _ = s.read(&mut b).await;
                })),
                App::Hyper => drop(tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .serve_connection(
                            hyper_util::rt::TokioIo::new(s),
                            hyper::service::service_fn(hyper_hello),
                        )
                        .await;
                })),
                App::Axum => unreachable!("served by axum::serve above"),
                App::Proxy { .. } => unreachable!("served by proxy::tokio"),
            }
        }
    })
}

fn smol_serve(app: App, port: u16) -> io::Result<()> {
    use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
    let ex = async_executor::LocalExecutor::new();
    async_io::block_on(ex.run(async {
        let listener = async_io::Async::<TcpListener>::bind((Ipv4Addr::LOCALHOST, port))?;
        listening(Vec::new);
        loop {
            let (mut s, _) = listener.accept().await?;
            s.get_ref().set_nodelay(true)?;
            match app {
                App::Echo => ex
                    .spawn(async move {
                        let mut buf = vec![0u8; BUF];
                        loop {
                            let n = match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    })
                    .detach(),
                App::Http | App::Big => ex
                    .spawn(async move {
                        let mut c = http::Conn::answering(app == App::Big);
                        while let Ok(n) = s.read(c.spare()).await {
                            match c.filled(n) {
                                Some(out) if s.write_all(out).await.is_ok() => c.sent(),
                                _ => return,
                            }
                        }
                    })
                    .detach(),
                App::Idle => ex
                    .spawn(async move {
                        let mut b = [0u8; 1];
                        let _ = s.read(&mut b).await;
                    })
                    .detach(),
                // B9 and B10 compare kiwi and tokio only.
                App::Hyper | App::Axum | App::Proxy { .. } => {
                    return Err(io::Error::other("no such smol server"))
                }
            }
        }
    }))
}
