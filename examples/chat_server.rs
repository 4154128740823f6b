//! A line-based chat: every line a client sends goes to every other client.
//!
//! ```sh
//! cargo run --release --example chat_server -- 127.0.0.1:7001 [--workers N]
//! nc 127.0.0.1 7001     # in two or more terminals; type lines
//! ```
//!
//! What it shows about the runtime:
//!
//! - **channels are not the runtime's business**: the fan-out uses
//!   `async-channel`, a runtime-agnostic crate, unchanged. Each client has one
//!   bounded queue; a shared registry maps client ids to their queue senders;
//!   a broadcast puts the line into every other client's queue;
//! - **backpressure, up to a bound, then drop**. A client's bytes back up in
//!   order: the kernel's socket buffers, then kiwi's output buffer up to its
//!   high-water mark (where `write_all` stops returning), then its queue of
//!   [`QUEUE`] lines. When that is full, the broadcasting task waits for room,
//!   which stops it reading its own socket, so TCP flow control slows the
//!   *talker* down to the speed of its readers: a burst is absorbed, not
//!   punished. But it waits at most [`GRACE`]: a client whose queue stays full
//!   that long has stopped reading, and is dropped instead of buffered without
//!   bound;
//! - **batching writes**: the writer takes every line already queued and sends
//!   them with one `write_all`: one syscall per batch, not per line;
//! - **two halves, one task**: `split` lends a read half and a write half;
//!   `select!` runs the reading loop, the writing loop and the two stop
//!   signals (kicked, a stop signal) in one task; whichever ends first ends the
//!   connection, and dropping the others cancels them cleanly.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_channel::TrySendError;
use futures_util::{pin_mut, select, FutureExt};
use kiwi::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};

use common::{Args, Shutdown, Trigger};

const USAGE: &str = "chat_server ADDR [--workers N]";

/// Lines queued per client before it counts as too slow and is dropped.
const QUEUE: usize = 64;
/// How long a broadcast waits for room in a full queue before dropping that
/// queue's client.
const GRACE: Duration = Duration::from_secs(1);
/// The writer sends queued lines in batches of up to this many bytes.
const BATCH: usize = 64 * 1024;
/// Longer lines are cut into pieces of this size.
const MAX_LINE: u64 = 4096;

/// A line, shared by every queue it is in (one allocation per broadcast).
type Line = Arc<[u8]>;

/// What the registry keeps per client.
struct Client {
    /// Its queue of lines to send.
    queue: async_channel::Sender<Line>,
    /// Dropping this tells the client's task it has been dropped.
    _kick: Trigger,
}

/// Every connected client, by id. A `std` mutex: held only for map updates and
/// `try_send`s, never across an `.await`.
type Registry = Arc<Mutex<HashMap<u64, Client>>>;

fn main() -> io::Result<()> {
    let args = Args::parse(USAGE);
    let rt = args.runtime()?;
    rt.block_on(async {
        let listener = AsyncTcpListener::bind(args.addr.as_str()).await?;
        let registry = Registry::default();
        let next_id = AtomicU64::new(0);
        common::serve(listener, "chat_server", move |stream, peer, stop| {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            client(stream, peer, stop, registry.clone(), id)
        })
        .await
    })
}

/// One client's whole life: join, talk, leave.
async fn client(
    mut stream: AsyncTcpStream,
    peer: SocketAddr,
    stop: Shutdown,
    registry: Registry,
    id: u64,
) -> io::Result<()> {
    let (queue, lines) = async_channel::bounded::<Line>(QUEUE);
    let (kick, kicked) = Shutdown::new();
    {
        let mut clients = lock(&registry);
        // A greeting, queued before anyone else can queue anything: once the
        // client reads it, it knows it is in the registry.
        let welcome = format!("* welcome {peer}; {} other(s) here\n", clients.len());
        let _ = queue.try_send(welcome.into_bytes().into());
        clients.insert(id, Client { queue, _kick: kick });
    }
    broadcast(&registry, id, format!("* {peer} joined\n").into_bytes()).await;

    let (result, was_kicked) = {
        // `split` borrows the two directions separately, for use in one task.
        // (Spelled out because `AsyncReadExt::split`, a different method that
        // takes the stream by value, would otherwise win method resolution.)
        let (mut reader, mut writer) = AsyncTcpStream::split(&mut stream);

        // Reading: each line from this client goes to everyone else.
        let read_loop = async {
            let mut line = Vec::new();
            loop {
                line.clear();
                // `take` bounds the line; `read_until` reads from the half's buffer.
                let n = (&mut reader)
                    .take(MAX_LINE)
                    .read_until(b'\n', &mut line)
                    .await?;
                if n == 0 {
                    return io::Result::Ok(()); // EOF: the client left.
                }
                if line.last() != Some(&b'\n') {
                    line.push(b'\n'); // a long line's piece, or a last line without one
                }
                let mut msg = format!("{peer}: ").into_bytes();
                msg.extend_from_slice(&line);
                broadcast(&registry, id, msg).await;
            }
        };
        // Writing: drain our queue into the socket, every line already queued
        // in one batch. `write_all` waits only when kiwi's output buffer is
        // above its high-water mark.
        let write_loop = async {
            let mut batch = Vec::with_capacity(BATCH);
            while let Ok(line) = lines.recv().await {
                batch.clear();
                batch.extend_from_slice(&line);
                while batch.len() < BATCH {
                    let Ok(line) = lines.try_recv() else { break };
                    batch.extend_from_slice(&line);
                }
                writer.write_all(&batch).await?;
            }
            io::Result::Ok(())
        };

        // `select!` wants fused, pinned futures: `fuse` remembers completion,
        // so a finished branch is never polled again. Whichever branch ends
        // first ends the connection; the others are dropped, which cancels
        // them.
        let (read_loop, write_loop) = (read_loop.fuse(), write_loop.fuse());
        let (kicked, stop) = (kicked.wait().fuse(), stop.wait().fuse());
        pin_mut!(read_loop, write_loop, kicked, stop);
        select! {
            r = read_loop => (r, false),
            w = write_loop => (w, false),
            () = kicked => (Ok(()), true),
            () = stop => (Ok(()), false),
        }
    };

    if was_kicked {
        eprintln!("chat_server: {peer} is not reading; dropped it");
        // Its queue and output buffer are full of lines it will never read:
        // discard them (SO_LINGER 0 makes close(2) send an RST) instead of
        // letting kiwi's close path keep trying to send them.
        let _ = stream.set_linger(Some(Duration::ZERO));
        let msg = format!("* {peer} dropped (not reading)\n");
        broadcast(&registry, id, msg.into_bytes()).await;
    } else if lock(&registry).remove(&id).is_some() {
        broadcast(&registry, id, format!("* {peer} left\n").into_bytes()).await;
    }
    result
}

/// Queues `msg` for every client except `from`. Waits (up to [`GRACE`]) for
/// room in full queues, and drops the clients whose queue stays full.
async fn broadcast(registry: &Registry, from: u64, msg: Vec<u8>) {
    let msg: Line = msg.into();
    // The fast path, under the lock: `try_send` never waits.
    let mut full = Vec::new();
    lock(registry).retain(|&id, client| {
        if id != from {
            match client.queue.try_send(msg.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => full.push((id, client.queue.clone())),
                Err(TrySendError::Closed(_)) => return false,
            }
        }
        true
    });
    // The slow path, with the lock released: a `std` mutex must never be held
    // across an `.await`. One deadline for all, so a broadcast waits at most
    // GRACE in total however many clients are slow.
    let deadline = Instant::now() + GRACE;
    for (id, queue) in full {
        let sent = kiwi::time::timeout_at(deadline, queue.send(msg.clone())).await;
        if !matches!(sent, Ok(Ok(()))) {
            // Too slow. Removing the entry drops its `_kick` trigger: the
            // client's task wakes from `kicked` and ends the connection.
            lock(registry).remove(&id);
        }
    }
}

fn lock(registry: &Registry) -> std::sync::MutexGuard<'_, HashMap<u64, Client>> {
    registry.lock().unwrap_or_else(|e| e.into_inner())
}
