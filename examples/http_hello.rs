//! `Hello, World!` over HTTP/1.1, with keep-alive and pipelining: the classic
//! "how fast is the runtime" server.
//!
//! ```sh
//! cargo run --release --example http_hello -- 127.0.0.1:8080 [--workers N]
//! curl -v http://127.0.0.1:8080/
//! wrk -t2 -c64 -d10s http://127.0.0.1:8080/
//! ```
//!
//! What it shows about the runtime:
//!
//! - **batching**: every complete request already in the read buffer is parsed
//!   before anything is written, and all of their responses go out in one
//!   `write_all` (one `send` syscall for a whole pipelined batch);
//! - **kiwi's write path**: `write_all` tries a direct `send` first, and only
//!   queues what the kernel did not take; the reactor flushes the queue when the
//!   socket turns writable, so `flush` below is nearly always free;
//! - **graceful close of a bad request**: a malformed request gets a `400` and
//!   the connection is dropped. Dropping a kiwi stream hands any unsent bytes
//!   to the runtime, which sends them, shuts down the write side, and drains
//!   what the client still sends before `close(2)`: closing with unread input
//!   would make the kernel send an RST that can destroy the `400` in flight;
//! - **per-thread state**: the `Date` header is formatted at most once a second
//!   per worker thread, in a `thread_local!`, with no lock.
//!
//! **One shared listener, or one `SO_REUSEPORT` listener per worker?**
//! Measured on the 2-core dev machine (release build, `--workers 2`, wrk with
//! one thread and 64 connections, 5 s, sharing the same two cores):
//!
//! | workload | shared listener | `SO_REUSEPORT` per worker |
//! |---|---|---|
//! | keep-alive | 125–129 k req/s | 126–132 k req/s |
//! | `Connection: close` (a connect per request) | 14.5 k req/s | 20.5 k req/s |
//! | keep-alive, 16 pipelined | 1.2 M req/s | (not measured) |
//!
//! With keep-alive, where `wrk` spends its time, the two are within noise: the
//! cost is in the connections, not in `accept`. Per-worker listeners win when
//! every request is a new connection (no cross-thread spawn, and no single
//! accept loop); this example keeps the one shared listener of every other
//! example for readability. To go per worker: `kiwi::net::TcpSocket` with
//! `set_reuseport(true)`, `bind`, `listen`, one accept loop per worker, and
//! `spawn_local` for its connections.
//!
//! Shortcuts, honestly: the parser accepts only what `wrk`, `curl` and browsers
//! send (CRLF line ends, `HTTP/1.0` or `HTTP/1.1`); request bodies are
//! skipped by `Content-Length`, and chunked bodies are refused with `501`.

#[path = "common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::{select, Either};
use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};

use common::{Args, Shutdown};

const USAGE: &str = "http_hello ADDR [--workers N]";

/// The longest request head (request line + headers) we accept; longer gets
/// `431 Request Header Fields Too Large`.
const MAX_HEAD: usize = 8 * 1024;
/// The read buffer: room for one maximal head plus the start of the next.
const READ_BUF: usize = 2 * MAX_HEAD;
/// How long a closing connection may take to flush its last response.
const CLOSE_FLUSH: Duration = Duration::from_secs(5);

const BODY: &[u8] = b"Hello, World!";

fn main() -> io::Result<()> {
    let args = Args::parse(USAGE);
    let rt = args.runtime()?;
    rt.block_on(async {
        let listener = AsyncTcpListener::bind(args.addr.as_str()).await?;
        common::serve(listener, "http_hello", connection).await
    })
}

/// Serves one connection: read, answer every complete request, repeat.
async fn connection(
    mut stream: AsyncTcpStream,
    _peer: SocketAddr,
    stop: Shutdown,
) -> io::Result<()> {
    // Responses are small and written whole: don't let Nagle's algorithm hold
    // one back waiting for an ACK.
    stream.set_nodelay(true)?;
    let mut stop = pin!(stop.wait());

    // Our own buffer rather than the stream's: a request may arrive in pieces,
    // and we need the pieces side by side to parse them. `start..end` is the
    // unparsed part.
    let mut inbuf = vec![0u8; READ_BUF];
    let (mut start, mut end) = (0, 0);
    // Bytes of a request body still to skip (they may span several reads).
    let mut skip = 0;
    let mut out = Vec::with_capacity(4096);

    loop {
        // 1. Answer every complete request we have.
        let mut close = false;
        loop {
            let take = skip.min(end - start);
            start += take;
            skip -= take;
            if skip > 0 {
                break;
            }
            match parse(&inbuf[start..end]) {
                Parsed::Partial => break,
                Parsed::Request {
                    head,
                    body,
                    close: c,
                } => {
                    start += head;
                    skip = body;
                    hello(&mut out, c);
                    if c {
                        close = true;
                        break;
                    }
                }
                Parsed::Bad(status) => {
                    error(&mut out, status);
                    close = true;
                    break;
                }
            }
        }

        // 2. One write for the whole batch. `flush` then waits only if the
        //    kernel's send buffer was full and kiwi had to queue the rest; it
        //    keeps a client that pipelines without reading from making us hold
        //    more than one batch.
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
            stream.flush().await?;
        }
        if close {
            // Flush (bounded: a peer that never reads must not hold us), then
            // drop. kiwi's close path drains the client's unread input before
            // close(2), so no RST overtakes the response.
            let _ = kiwi::time::timeout(CLOSE_FLUSH, stream.flush()).await;
            return Ok(());
        }

        // 3. Make room: move the unparsed tail (at most one partial head) to
        //    the front. Cheap, and rare with real clients.
        if start == end {
            (start, end) = (0, 0);
        } else if start > 0 {
            inbuf.copy_within(start..end, 0);
            (start, end) = (0, end - start);
        }

        // 4. Read more, unless shutdown begins first. Between requests is the
        //    one place where closing cannot cut a response in half.
        let read = stream.read(&mut inbuf[end..]);
        let n = match select(stop.as_mut(), read).await {
            Either::Left(((), _)) => return stream.close().await,
            Either::Right((n, _)) => n?,
        };
        if n == 0 {
            // EOF. Anything unparsed is a request the client abandoned.
            return stream.close().await;
        }
        end += n;
    }
}

/// What the front of the buffer holds.
#[derive(Debug, PartialEq)]
enum Parsed {
    /// A complete head of `head` bytes, followed by a `body` of that many bytes
    /// to skip. `close`: answer with `Connection: close` and hang up.
    Request {
        head: usize,
        body: usize,
        close: bool,
    },
    /// Not a whole head yet: read more.
    Partial,
    /// Malformed: answer with this status line and close.
    Bad(&'static str),
}

/// Parses one request head from the front of `buf`.
fn parse(buf: &[u8]) -> Parsed {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Parsed::Bad("431 Request Header Fields Too Large")
        } else {
            Parsed::Partial
        };
    };
    if end > MAX_HEAD {
        return Parsed::Bad("431 Request Header Fields Too Large");
    }
    const BAD: Parsed = Parsed::Bad("400 Bad Request");
    let mut lines = buf[..end]
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));

    // The request line: METHOD SP TARGET SP VERSION.
    let mut parts = lines.next().unwrap_or_default().split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return BAD;
    };
    if method.is_empty() || !method.iter().all(|&b| is_token(b)) || target.is_empty() {
        return BAD;
    }
    // HTTP/1.1 keeps the connection open by default; HTTP/1.0 closes it.
    let mut close = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        _ => return BAD,
    };

    let mut body = 0;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return BAD;
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return BAD;
        }
        if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    close = false;
                }
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let Some(n) = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()) else {
                return BAD;
            };
            body = n;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Parsed::Bad("501 Not Implemented");
        }
    }
    Parsed::Request {
        head: end + 4,
        body,
        close,
    }
}

/// Appends the `Hello, World!` response.
fn hello(out: &mut Vec<u8>, close: bool) {
    out.extend_from_slice(
        b"HTTP/1.1 200 OK\r\nServer: kiwi\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n",
    );
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"Date: ");
    with_date(|d| out.extend_from_slice(d));
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(BODY);
}

/// Appends an error response whose body is its reason phrase.
fn error(out: &mut Vec<u8>, status: &str) {
    let reason = status.split_once(' ').map_or(status, |(_, r)| r);
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status}\r\nServer: kiwi\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{reason}",
            reason.len()
        )
        .as_bytes(),
    );
}

thread_local! {
    /// (second, its IMF-fixdate): one per worker thread, so no lock.
    static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

/// Calls `f` with the current `Date` value, re-formatted only when the second
/// changed.
fn with_date(f: impl FnOnce(&[u8])) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with_borrow_mut(|(sec, text)| {
        if *sec != now {
            *sec = now;
            *text = imf_fixdate(now);
        }
        f(&text[..]);
    });
}

/// Formats Unix time `secs` as RFC 7231's IMF-fixdate,
/// e.g. `Sun, 06 Nov 1994 08:49:37 GMT`: always 29 bytes.
fn imf_fixdate(secs: u64) -> [u8; 29] {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let (year, month, day) = civil_from_days(days);
    let text = format!(
        "{}, {day:02} {} {year:04} {h:02}:{m:02}:{s:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[month as usize - 1]
    );
    let mut out = [b' '; 29];
    let n = text.len().min(29);
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
    out
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31) in the proleptic
/// Gregorian calendar: Howard Hinnant's `civil_from_days`, which counts in
/// 400-year eras starting on 1 March so that leap days fall at the end.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year, from 1 March
    let mp = (5 * doy + 2) / 153; // month, from March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    (year, month, day)
}

/// RFC 7230 `tchar`: what a method or header name may contain.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
