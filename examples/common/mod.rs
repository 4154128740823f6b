//! What every example server shares: the command line, the runtime, the
//! `listening on ADDR` line, and an accept loop with graceful shutdown.
//!
//! Each example includes this file with `#[path = "common/mod.rs"] mod common;`
//! (Cargo has no "shared module" for examples, and a directory without a
//! `main.rs` is not an example of its own). Not every example uses every
//! function here, hence the `allow(dead_code)`.
#![allow(dead_code)]

use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::pin;
use std::process;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::FutureExt;
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};

/// How long in-flight connections get to finish after a stop signal.
pub const DRAIN: Duration = Duration::from_secs(5);

/// The command line every example takes: `ADDR [--workers N] [other flags]`.
pub struct Args {
    /// The first positional argument: where to listen (or, for a client, where
    /// to connect).
    pub addr: String,
    /// `--workers N`, if given.
    pub workers: Option<usize>,
    /// `--name value` pairs other than `--workers`, for the example to read.
    pub flags: Vec<(String, String)>,
    /// Positional arguments after the first (see [`Args::parse_with`]).
    pub rest: Vec<String>,
}

impl Args {
    /// Parses `std::env::args()`; prints `usage` and exits with status 2 on a
    /// malformed command line (a hand-rolled parser, to stay dependency-free).
    pub fn parse(usage: &str) -> Args {
        Args::parse_with(usage, 0)
    }

    /// As [`Args::parse`], with exactly `more` positional arguments after the
    /// address (`tcp_proxy LISTEN UPSTREAM`).
    pub fn parse_with(usage: &str, more: usize) -> Args {
        let mut addr = None;
        let mut workers = None;
        let mut flags = Vec::new();
        let mut rest = Vec::new();
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            if arg == "-h" || arg == "--help" {
                println!("usage: {usage}");
                process::exit(0);
            }
            if let Some(name) = arg.strip_prefix("--") {
                let Some(value) = it.next() else {
                    usage_exit(usage, &format!("--{name} needs a value"));
                };
                if name == "workers" {
                    match value.parse::<usize>() {
                        Ok(n) if n > 0 => workers = Some(n),
                        _ => usage_exit(usage, "--workers needs a positive number"),
                    }
                } else {
                    flags.push((name.to_string(), value));
                }
            } else if addr.is_none() {
                addr = Some(arg);
            } else if rest.len() < more {
                rest.push(arg);
            } else {
                usage_exit(usage, &format!("unexpected argument {arg:?}"));
            }
        }
        let Some(addr) = addr else {
            usage_exit(usage, "missing address");
        };
        if rest.len() < more {
            usage_exit(usage, "missing argument");
        }
        Args {
            addr,
            workers,
            flags,
            rest,
        }
    }

    /// The value of `--name`, parsed, or `default` when absent.
    pub fn flag<T: std::str::FromStr>(&self, name: &str, default: T, usage: &str) -> T {
        match self.flags.iter().rev().find(|(n, _)| n == name) {
            None => default,
            Some((_, v)) => v
                .parse()
                .unwrap_or_else(|_| usage_exit(usage, &format!("bad value for --{name}: {v:?}"))),
        }
    }

    /// Builds the runtime: `--workers N` threads, or one per CPU by default.
    ///
    /// `#[kiwi::main(workers = N)]` fixes N at compile time; a server that takes
    /// it on the command line builds its runtime by hand, which is all the macro
    /// does anyway.
    pub fn runtime(&self) -> io::Result<kiwi::Runtime> {
        let mut builder = kiwi::Builder::new();
        if let Some(n) = self.workers {
            builder.workers(n);
        }
        builder.build()
    }

    /// The number of workers the runtime will have.
    pub fn worker_count(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }
}

fn usage_exit(usage: &str, why: &str) -> ! {
    eprintln!("error: {why}\nusage: {usage}");
    process::exit(2);
}

/// Prints the first line of every server, `listening on ADDR`, with the port
/// the kernel actually chose when asked for `:0`, and flushes it: a test or a
/// script reading our stdout through a pipe would otherwise wait for a buffer
/// that only fills much later.
pub fn announce(addr: SocketAddr) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}");
    let _ = out.flush();
}

/// A signal that shutdown has begun, handed to every connection.
///
/// It wraps kiwi's [`CancellationToken`](kiwi::sync::CancellationToken),
/// whose wait is made for exactly this: every connection races its work
/// against `stop.wait()` on every wake, and while nothing has been cancelled
/// that poll is one atomic load and a waker comparison, with no lock and no
/// store. The [`Trigger`] cancels it when dropped, so "the server is going
/// away" needs no extra code.
#[derive(Clone)]
pub struct Shutdown(kiwi::sync::CancellationToken);

/// Cancels its [`Shutdown`] when dropped (or by [`Trigger::fire`]).
pub struct Trigger(kiwi::sync::CancellationToken);

impl Trigger {
    /// Triggers the shutdown now.
    pub fn fire(self) {}
}

impl Drop for Trigger {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl Shutdown {
    /// A trigger (drop it to fire) and the signal.
    pub fn new() -> (Trigger, Shutdown) {
        let token = kiwi::sync::CancellationToken::new();
        (Trigger(token.clone()), Shutdown(token))
    }

    /// Completes once shutdown has begun.
    ///
    /// Create the future once per connection and keep it pinned (see the
    /// servers): the first poll registers its waker under a lock, and every
    /// later poll by the same task costs one atomic load.
    pub fn wait(&self) -> kiwi::sync::WaitForCancellation<'_> {
        self.0.cancelled()
    }

    /// True once shutdown has begun.
    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// Completes on SIGINT (Ctrl-C in a terminal) or SIGTERM (what `kill`,
/// systemd and container runtimes send to stop a service). Both handlers are
/// installed by this call, so call it before anyone can send one.
pub fn stop_signal() -> io::Result<impl Future<Output = &'static str>> {
    use kiwi::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        match select(pin!(int.recv()), pin!(term.recv())).await {
            Either::Left(_) => "SIGINT",
            Either::Right(_) => "SIGTERM",
        }
    })
}

/// The accept loop every server runs, with graceful shutdown:
///
/// 1. installs the stop signals' handlers first ([`stop_signal`]), so that
///    SIGINT and SIGTERM are ours before anyone can see `listening on` and
///    send one;
/// 2. races `accept` against them; each accepted connection becomes a task in
///    a `JoinSet` (spread over the workers: spawns from the `block_on` thread
///    take turns, as Kiwi's EventLoopPool handed out loops);
/// 3. on a stop signal stops accepting (drops the listener: new connections
///    are refused), tells every connection through [`Shutdown`], and waits up
///    to [`DRAIN`] for them to finish, then aborts the rest.
///
/// `handler` returns the connection's future; its error is logged to stderr
/// and only ends that connection.
pub async fn serve<H, F>(listener: AsyncTcpListener, name: &str, mut handler: H) -> io::Result<()>
where
    H: FnMut(AsyncTcpStream, SocketAddr, Shutdown) -> F,
    F: Future<Output = io::Result<()>> + Send + 'static,
{
    let mut stop_signal = pin!(stop_signal()?);
    announce(listener.local_addr()?);

    let (stop_tx, stop) = Shutdown::new();
    let mut conns = kiwi::JoinSet::new();
    loop {
        // A fresh accept future per turn is fine: accept is cancel safe (a
        // connection is taken off the queue only by the poll that returns it).
        let accept = pin!(listener.accept());
        match select(stop_signal.as_mut(), accept).await {
            Either::Left((signal, _)) => {
                println!("{name}: {signal}");
                break;
            }
            Either::Right((Ok((stream, peer)), _)) => {
                let conn = handler(stream, peer, stop.clone());
                conns.spawn(async move {
                    if let Err(e) = conn.await {
                        log_conn_error(peer, &e);
                    }
                });
            }
            // kiwi's accept never returns EMFILE (it backs off and retries by
            // itself); what is left, such as ECONNABORTED, concerns one
            // connection only. Log it and keep serving.
            Either::Right((Err(e), _)) => eprintln!("{name}: accept: {e}"),
        }
        // Reap finished connections without waiting, so that the set holds
        // only live ones. `now_or_never` polls once with a no-op waker.
        while let Some(Some(res)) = conns.join_next().now_or_never() {
            report_join(name, res);
        }
    }

    drop(listener);
    stop_tx.fire();
    while let Some(Some(res)) = conns.join_next().now_or_never() {
        report_join(name, res);
    }
    println!(
        "{name}: stopped accepting; waiting up to {:?} for {} connection(s)",
        DRAIN,
        conns.len()
    );
    let drained = kiwi::time::timeout(DRAIN, async {
        while let Some(res) = conns.join_next().await {
            report_join(name, res);
        }
    })
    .await;
    if drained.is_err() {
        println!(
            "{name}: {} connection(s) still open; closing them",
            conns.len()
        );
        conns.abort_all();
    }
    println!("{name}: bye");
    Ok(())
}

fn report_join(name: &str, res: Result<(), kiwi::JoinError>) {
    if let Err(e) = res {
        if e.is_panic() {
            eprintln!("{name}: a connection task panicked: {e}");
        }
    }
}

/// Logs a connection's error to stderr, except the everyday ones: a peer that
/// resets or vanishes is not news for a server.
pub fn log_conn_error(peer: SocketAddr, e: &io::Error) {
    use io::ErrorKind::*;
    if !matches!(e.kind(), ConnectionReset | BrokenPipe | UnexpectedEof) {
        eprintln!("connection {peer}: {e}");
    }
}
