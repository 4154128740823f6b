//! A line client for `echo_server`, with Kiwi's retrying connector done right.
//!
//! ```sh
//! cargo run --release --example echo_client -- 127.0.0.1:7000 [--attempts N]
//! ```
//!
//! It connects (retrying with exponential backoff and jitter if the server is
//! not up yet), then sends each line of stdin and prints the line that comes
//! back. At the end of stdin it closes its write side and exits.
//!
//! What it shows about the runtime:
//!
//! - **connect never blocks the loop thread.** Kiwi (C++) retried a *blocking*
//!   connect on the event loop; kiwi's `AsyncTcpStream::connect` is a
//!   nonblocking connect (EINPROGRESS, wait for writable, read `SO_ERROR`), and
//!   the waits between attempts are timers, so the worker stays free to run
//!   other tasks the whole time;
//! - **each attempt has its own deadline**: `timeout` races the connect against
//!   a timer in the worker's timing wheel (a SYN to a silent host would
//!   otherwise wait minutes for the kernel to give up);
//! - **blocking input stays off the workers**: stdin is `kiwi::io::stdin()`,
//!   whose reads run on the runtime's blocking pool; a worker never sits in a
//!   blocking `read(0)`, and the echoes go out through `kiwi::io::stdout()`
//!   the same way.
//!
//! Why the blocking pool and not the reactor, as for the socket? Descriptor 0
//! is shared with the shell that started us (and with every other program
//! reading the same terminal or pipe). `O_NONBLOCK`, which epoll-driven I/O
//! needs, is a flag of the open file *description*, which all of them share,
//! not of our descriptor: setting it would make *their* reads fail with
//! `EAGAIN` too, and a shell left with a nonblocking terminal misbehaves
//! after we exit. (A terminal or a regular file would not give epoll useful
//! readiness anyway.) So the descriptor stays blocking, and each read is a
//! short job on a pool thread that may block as long as it likes.
//!
//! Shortcut: the jitter comes from a tiny xorshift generator seeded from the
//! clock, good enough to spread retries and nothing more.

#[path = "common/mod.rs"]
mod common;

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use kiwi::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use kiwi::net::AsyncTcpStream;
use kiwi::time::{sleep, timeout};

use common::Args;

const USAGE: &str = "echo_client ADDR [--attempts N] [--workers N]";

/// The first retry waits about this long...
const BACKOFF_START: Duration = Duration::from_millis(50);
/// ...doubling each time, up to this.
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long one connect attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

fn main() -> io::Result<()> {
    let args = Args::parse(USAGE);
    let attempts: u32 = args.flag("attempts", 12, USAGE);
    // A client needs little: one worker is plenty.
    let rt = kiwi::Builder::new()
        .workers(args.workers.unwrap_or(1))
        .build()?;
    rt.block_on(async {
        let stream = connect_with_backoff(&args.addr, attempts).await?;
        eprintln!("connected to {}", stream.peer_addr()?);
        talk(stream).await
    })
}

/// Connects to `addr`, retrying up to `attempts` times.
///
/// The wait after failure `n` is drawn uniformly from `[d/2, d]` where
/// `d = min(BACKOFF_START * 2^n, BACKOFF_MAX)` ("equal jitter"): the doubling
/// keeps a down server from being hammered, and the randomness keeps a crowd
/// of clients that failed together from retrying in lockstep.
async fn connect_with_backoff(addr: &str, attempts: u32) -> io::Result<AsyncTcpStream> {
    let mut rng = XorShift::from_clock();
    let mut delay = BACKOFF_START;
    let mut attempt = 1;
    loop {
        // `timeout` gives `Result<io::Result<_>, Elapsed>`; `Elapsed` converts
        // into an `io::Error` of kind `TimedOut`.
        let err = match timeout(CONNECT_TIMEOUT, AsyncTcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => e,
            Err(elapsed) => io::Error::from(elapsed),
        };
        if attempt >= attempts {
            return Err(io::Error::new(
                err.kind(),
                format!("could not connect to {addr} after {attempts} attempts: {err}"),
            ));
        }
        let wait = delay / 2 + rng.below(delay / 2);
        eprintln!("connect attempt {attempt} failed ({err}); retrying in {wait:?}");
        // A timer, not `std::thread::sleep`: the worker is free meanwhile.
        sleep(wait).await;
        delay = (delay * 2).min(BACKOFF_MAX);
        attempt += 1;
    }
}

/// Sends each stdin line and prints its echo.
async fn talk(mut stream: AsyncTcpStream) -> io::Result<()> {
    // Each read of `stdin` that the `BufReader` cannot serve from its buffer
    // is one job on the blocking pool (see the module docs); the worker waits
    // for it like for any other future, free to run other tasks meanwhile.
    let mut lines = BufReader::new(kiwi::io::stdin()).lines();
    let mut out = kiwi::io::stdout();
    let mut echoed = String::new();
    while let Some(line) = lines.next().await {
        // A read error or a line that is not UTF-8 ends the input, as the
        // end of stdin does.
        let Ok(mut line) = line else { break };
        line.push('\n');
        stream.write_all(line.as_bytes()).await?;
        // `read_line` reads from the stream's internal buffer; the bytes of the
        // next echo, if they already arrived, stay buffered for the next turn.
        echoed.clear();
        if stream.read_line(&mut echoed).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        // `kiwi::io::stdout()` gathers writes; `flush` hands them to the pool,
        // so each echo is out before the next line is sent.
        out.write_all(echoed.as_bytes()).await?;
        out.flush().await?;
    }
    // Flush, then shut down our write side: the server sees EOF and closes.
    stream.close().await
}

/// xorshift64: three shifts and three xors per number. Not for cryptography;
/// fine for spreading retry times.
struct XorShift(u64);

impl XorShift {
    fn from_clock() -> XorShift {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        // Mix in the pid so that clients started in the same nanosecond differ;
        // the state must never be zero.
        XorShift((nanos ^ (u64::from(std::process::id()) << 32)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A duration uniformly drawn from `[0, max]` (to the microsecond).
    fn below(&mut self, max: Duration) -> Duration {
        let us = max.as_micros() as u64;
        Duration::from_micros(self.next() % (us + 1))
    }
}
