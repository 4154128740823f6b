//! A Redis-compatible key-value server (RESP2): enough of Redis for
//! `redis-cli` and `redis-benchmark` to work against it.
//!
//! ```sh
//! cargo run --release --example kv_server -- 127.0.0.1:6380 [--workers N]
//! redis-cli -p 6380 set greeting hello
//! redis-cli -p 6380 get greeting
//! redis-benchmark -p 6380 -q -t ping,set,get,incr,mset -P 16
//! printf 'PING\r\n' | nc -q1 127.0.0.1 6380      # inline commands work too
//! ```
//!
//! Commands: PING, ECHO, GET, SET (with EX/PX), DEL, EXISTS, INCR, MGET, MSET,
//! plus the stubs clients send on their own (COMMAND, CONFIG GET, CLIENT,
//! SELECT 0, QUIT).
//!
//! What it shows about the runtime:
//!
//! - **using the stream's read buffer**: `fill_buf` lends us the bytes kiwi
//!   already read into the stream's `Buffer`; we parse commands straight out of
//!   it and copy only a trailing partial command, if any, into our own buffer;
//! - **pipelining for free**: every command in the buffer is executed before
//!   anything is written; the replies go out in one `write_all`, so
//!   `redis-benchmark -P 16` costs one read and one write per 16 commands;
//! - **shared state across workers**: connections on every worker share one
//!   sharded `Mutex<HashMap>` (see `store.rs` for why a blocking lock is right).

mod resp;
mod store;

#[path = "../common/mod.rs"]
mod common;

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::{select, Either};
use kiwi::io::{AsyncBufReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};

use common::{Args, Shutdown};
use resp::Parse;
use store::Store;

const USAGE: &str = "kv_server ADDR [--workers N]";

fn main() -> io::Result<()> {
    let args = Args::parse(USAGE);
    let rt = args.runtime()?;
    rt.block_on(async {
        let listener = AsyncTcpListener::bind(args.addr.as_str()).await?;
        let store = Arc::new(Store::new());
        common::serve(listener, "kv_server", move |stream, peer, stop| {
            connection(stream, peer, stop, store.clone())
        })
        .await
    })
}

/// Serves one client until it disconnects, sends garbage, says QUIT, or
/// shutdown begins.
async fn connection(
    mut stream: AsyncTcpStream,
    _peer: SocketAddr,
    stop: Shutdown,
    store: Arc<Store>,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut stop = pin!(stop.wait());
    // The tail of a command that arrived only in part (usually empty).
    let mut pending: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut args: Vec<Range<usize>> = Vec::new();

    loop {
        let data = match select(stop.as_mut(), stream.fill_buf()).await {
            Either::Left(((), _)) => break,
            Either::Right((res, _)) => res?,
        };
        if data.is_empty() {
            break; // EOF
        }
        let n = data.len();
        // Parse from the stream's buffer directly when nothing is pending (the
        // common case); otherwise append to the pending tail and parse that.
        let done = if pending.is_empty() {
            run_all(data, &mut args, &store, &mut out)
                .map(|used| pending.extend_from_slice(&data[used..]))
        } else {
            pending.extend_from_slice(data);
            run_all(&pending, &mut args, &store, &mut out).map(|used| {
                pending.drain(..used);
            })
        };
        // The bytes are now executed or copied: give the buffer back.
        stream.consume_unpin(n);

        // One write for every reply in this batch.
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
            stream.flush().await?;
        }
        if let Err(end) = done {
            if let End::Protocol(msg) = end {
                eprintln!("kv_server: closing a client: {msg}");
            }
            // QUIT, or garbage we cannot resync from: like Redis, close after
            // the reply. kiwi's drop path sends what is queued, then closes.
            let _ = kiwi::time::timeout(Duration::from_secs(5), stream.close()).await;
            return Ok(());
        }
    }
    stream.close().await
}

/// Why a connection must end after this batch.
enum End {
    Quit,
    Protocol(&'static str),
}

/// Executes every whole command at the front of `buf`, appending replies to
/// `out`. Returns how many bytes were used (the rest is a partial command).
fn run_all(
    buf: &[u8],
    args: &mut Vec<Range<usize>>,
    store: &Store,
    out: &mut Vec<u8>,
) -> Result<usize, End> {
    let mut used = 0;
    loop {
        match resp::parse(&buf[used..], args) {
            Parse::Incomplete => return Ok(used),
            Parse::Error(msg) => {
                resp::error(out, &format!("ERR {msg}"));
                return Err(End::Protocol(msg));
            }
            Parse::Command { len } => {
                let base = &buf[used..used + len];
                let argv: Vec<&[u8]> = args.iter().map(|r| &base[r.clone()]).collect();
                used += len;
                if !argv.is_empty() && execute(&argv, store, out) {
                    return Err(End::Quit);
                }
            }
        }
    }
}

/// Runs one command; returns true for QUIT.
fn execute(argv: &[&[u8]], store: &Store, out: &mut Vec<u8>) -> bool {
    let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
    let args = &argv[1..];
    // (minimum, maximum) argument counts, not counting the command name.
    let arity = match name.as_str() {
        "ping" => (0, 1),
        "echo" | "get" | "incr" => (1, 1),
        "set" => (2, 4),
        "del" | "exists" | "mget" => (1, usize::MAX),
        "mset" => (2, usize::MAX),
        "quit" | "command" | "client" | "config" | "select" => (0, usize::MAX),
        _ => {
            let shown: String = String::from_utf8_lossy(argv[0]).chars().take(64).collect();
            resp::error(out, &format!("ERR unknown command '{shown}'"));
            return false;
        }
    };
    if args.len() < arity.0 || args.len() > arity.1 || (name == "mset" && args.len() % 2 != 0) {
        resp::error(
            out,
            &format!("ERR wrong number of arguments for '{name}' command"),
        );
        return false;
    }
    match name.as_str() {
        "ping" => match args.first() {
            None => resp::simple(out, "PONG"),
            Some(msg) => resp::bulk(out, Some(msg)),
        },
        "echo" => resp::bulk(out, Some(args[0])),
        "get" => store.get(args[0], |v| resp::bulk(out, v)),
        "set" => match expiry(&args[2..]) {
            Ok(expires) => {
                store.set(args[0], args[1], expires);
                resp::simple(out, "OK");
            }
            Err(msg) => resp::error(out, msg),
        },
        "del" => resp::int(out, args.iter().filter(|k| store.del(k)).count() as i64),
        "exists" => resp::int(out, args.iter().filter(|k| store.exists(k)).count() as i64),
        "incr" => match store.incr(args[0]) {
            Ok(n) => resp::int(out, n),
            Err(msg) => resp::error(out, msg),
        },
        "mget" => {
            resp::array(out, args.len());
            for key in args {
                store.get(key, |v| resp::bulk(out, v));
            }
        }
        "mset" => {
            for pair in args.chunks(2) {
                store.set(pair[0], pair[1], None);
            }
            resp::simple(out, "OK");
        }
        // redis-benchmark asks for two settings before it starts.
        "config" if args.len() == 2 && args[0].eq_ignore_ascii_case(b"get") => {
            let param = args[1].to_ascii_lowercase();
            let value: Option<&[u8]> = match param.as_slice() {
                b"save" => Some(b""),
                b"appendonly" => Some(b"no"),
                _ => None,
            };
            match value {
                Some(v) => {
                    resp::array(out, 2);
                    resp::bulk(out, Some(&param));
                    resp::bulk(out, Some(v));
                }
                None => resp::array(out, 0),
            }
        }
        // redis-cli asks for command docs (for its hints): we have none.
        "command" => resp::array(out, 0),
        "config" | "client" => resp::simple(out, "OK"),
        "select" if args.len() == 1 && args[0] == b"0" => resp::simple(out, "OK"),
        "select" => resp::error(out, "ERR DB index is out of range"),
        "quit" => {
            resp::simple(out, "OK");
            return true;
        }
        _ => unreachable!("every name passed the arity table"),
    }
    false
}

/// The options after `SET key value`: nothing, `EX seconds` or `PX millis`.
fn expiry(opts: &[&[u8]]) -> Result<Option<Instant>, &'static str> {
    const SYNTAX: &str = "ERR syntax error";
    const BAD: &str = "ERR invalid expire time in 'set' command";
    match opts {
        [] => Ok(None),
        [unit, amount] => {
            let n = resp::parse_int(amount).ok_or("ERR value is not an integer or out of range")?;
            if n <= 0 {
                return Err(BAD);
            }
            let d = if unit.eq_ignore_ascii_case(b"ex") {
                Duration::from_secs(n as u64)
            } else if unit.eq_ignore_ascii_case(b"px") {
                Duration::from_millis(n as u64)
            } else {
                return Err(SYNTAX);
            };
            Instant::now().checked_add(d).map(Some).ok_or(BAD)
        }
        _ => Err(SYNTAX),
    }
}
