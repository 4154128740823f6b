//! `Blocking<T>`: futures-io over a blocking `std::io` object, by way of the
//! blocking pool. It backs [`File`](crate::fs::File) and the standard streams.
//!
//! Files have no readiness for epoll to report (a regular file is always
//! "ready", and a read may still wait for the disk), and the standard streams
//! are shared with the rest of the process, so setting `O_NONBLOCK` on them
//! would change them under everybody else's feet. So each operation runs on
//! the blocking pool, and the object travels with it: while a job is in
//! flight, the pool thread owns `T` and a buffer; when it finishes, both come
//! back.
//!
//! - A read fills the buffer in one pool job with as many bytes as the
//!   caller asked for (up to [`MAX_BUF`]), and later reads are served from
//!   it. Each hop costs two thread wakes, so a caller that reads 1 MiB at a
//!   time gets 1 MiB per hop, not a fixed smaller chunk: with a 64 KiB cap,
//!   reading a file 1 MiB at a time ran at a third of tokio's speed (tokio's
//!   cap is 2 MiB; see "Files" in `docs/BENCHMARKS.md`). The buffer keeps its
//!   length from read to read, so it is zero-filled once, not before every
//!   read (`Read::read` wants initialised bytes).
//! - A write copies into the buffer and returns at once; the buffer goes to
//!   the pool once [`WRITE_BATCH`] bytes gathered (a larger write goes at
//!   once, up to [`MAX_BUF`] of it), on `flush` or `close`, before a read or
//!   seek, or when the object is dropped. Many small writes thus make one
//!   pool hop, not one each. A write's error surfaces at the next operation.

use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::handle::Handle;
use crate::task::JoinHandle;

/// The most bytes one pool job reads or writes (tokio's default too).
pub const MAX_BUF: usize = 2 * 1024 * 1024;

/// Gathered writes go to the pool once they reach this many bytes.
pub const WRITE_BATCH: usize = 64 * 1024;

/// A blocking `T`, driven from async code through the blocking pool.
pub(crate) struct Blocking<T: Read + Write + Send + 'static> {
    state: State<T>,
    /// The runtime whose pool runs the jobs (and the last write, on drop).
    handle: Handle,
    /// Moves `T`'s position back over read-ahead bytes before a write: a
    /// seek for a file, nothing for a stream that cannot seek.
    seek_back: fn(&mut T, i64) -> io::Result<()>,
    /// A seek job is in flight: its result is the new position.
    seeking: bool,
    /// A read job is in flight: a result of 0 bytes is EOF.
    reading: bool,
}

enum State<T> {
    /// `T` and the buffer are here.
    Idle(Option<(T, Buf)>),
    /// A pool job has them.
    Busy(JoinHandle<Done<T>>),
}

/// What a pool job gives back: `T`, the buffer, and its result.
struct Done<T> {
    inner: T,
    buf: Buf,
    result: io::Result<u64>,
}

#[derive(Default)]
struct Buf {
    /// Writing: exactly the bytes not yet written. Reading: read-ahead in
    /// `pos..end`; the rest is stale but initialised, kept for the next read.
    bytes: Vec<u8>,
    /// Read-ahead bytes before this were handed out already.
    pos: usize,
    /// Reading: read-ahead ends here.
    end: usize,
    /// True if `bytes` are bytes not yet written, false if read-ahead.
    writing: bool,
}

impl Buf {
    fn unread(&self) -> usize {
        if self.writing {
            0
        } else {
            self.end - self.pos
        }
    }

    /// Forgets the read-ahead (the bytes stay allocated for the next read).
    fn discard_read_ahead(&mut self) {
        self.pos = 0;
        self.end = 0;
    }

    fn pending_writes(&self) -> bool {
        self.writing && !self.bytes.is_empty()
    }
}

impl<T: Read + Write + Send + 'static> Blocking<T> {
    /// Wraps `inner`; jobs run on `handle`'s blocking pool.
    pub(crate) fn new(
        inner: T,
        handle: Handle,
        seek_back: fn(&mut T, i64) -> io::Result<()>,
    ) -> Self {
        Blocking {
            state: State::Idle(Some((inner, Buf::default()))),
            handle,
            seek_back,
            seeking: false,
            reading: false,
        }
    }

    /// Waits for the job in flight, if any; returns its result value.
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<u64>>> {
        let State::Busy(job) = &mut self.state else {
            return Poll::Ready(Ok(None));
        };
        let done = ready!(Pin::new(job).poll(cx)).map_err(|e| {
            io::Error::other(format!("kiwi: a blocking I/O job did not finish: {e}"))
        })?;
        self.state = State::Idle(Some((done.inner, done.buf)));
        Poll::Ready(done.result.map(Some))
    }

    /// The idle pair. Only between jobs.
    fn idle(&mut self) -> &mut (T, Buf) {
        match &mut self.state {
            State::Idle(Some(pair)) => pair,
            _ => unreachable!("poll_finish returned Ready: no job is in flight"),
        }
    }

    /// Hands `T` and the buffer to a pool job.
    fn launch(&mut self, job: impl FnOnce(&mut T, &mut Buf) -> io::Result<u64> + Send + 'static) {
        let State::Idle(pair) = &mut self.state else {
            unreachable!("launch only between jobs")
        };
        let (mut inner, mut buf) = pair.take().expect("idle holds the pair");
        let job = self.handle.spawn_blocking(move || {
            let result = job(&mut inner, &mut buf);
            Done { inner, buf, result }
        });
        self.state = State::Busy(job);
    }

    /// Sends the buffered writes to the pool, if any; true if it did.
    fn launch_writes(&mut self) -> bool {
        if !self.idle().1.pending_writes() {
            return false;
        }
        self.launch(|inner, buf| {
            let res = inner.write_all(&buf.bytes).and_then(|()| inner.flush());
            buf.bytes.clear();
            buf.writing = false;
            res.map(|()| 0)
        });
        true
    }

    /// futures-io `poll_read`.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let finished = ready!(self.poll_finish(cx))?;
            if std::mem::take(&mut self.reading) && finished == Some(0) {
                return Poll::Ready(Ok(0)); // EOF
            }
            if self.launch_writes() {
                continue; // written bytes first, so that the read sees them
            }
            let (_, buf) = self.idle();
            if buf.unread() > 0 {
                let n = buf.unread().min(out.len());
                out[..n].copy_from_slice(&buf.bytes[buf.pos..buf.pos + n]);
                buf.pos += n;
                return Poll::Ready(Ok(n));
            }
            if out.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let want = out.len().min(MAX_BUF);
            self.launch(move |inner, buf| {
                if buf.bytes.len() < want {
                    buf.bytes.resize(want, 0); // zeroes only the new part
                }
                buf.discard_read_ahead();
                let res = loop {
                    match inner.read(&mut buf.bytes[..want]) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other,
                    }
                };
                buf.end = *res.as_ref().unwrap_or(&0);
                res.map(|n| n as u64)
            });
            self.reading = true;
            // Loop: poll the job at once, registering our waker.
        }
    }

    /// futures-io `poll_write`: buffers; a full buffer goes to the pool.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.poll_finish(cx))?;
            let seek_back = self.seek_back;
            let (_, buf) = self.idle();
            let ahead = buf.unread();
            if ahead > 0 {
                // Read-ahead would put the write past where the reader is.
                buf.discard_read_ahead();
                self.launch(move |inner, _| seek_back(inner, -(ahead as i64)).map(|()| 0));
                continue;
            }
            if buf.bytes.len() >= WRITE_BATCH {
                self.launch_writes();
                continue;
            }
            if !buf.writing {
                buf.bytes.clear();
                buf.discard_read_ahead();
                buf.writing = true;
            }
            let n = data.len().min(MAX_BUF - buf.bytes.len());
            buf.bytes.extend_from_slice(&data[..n]);
            if buf.bytes.len() >= WRITE_BATCH {
                self.launch_writes();
            }
            return Poll::Ready(Ok(n));
        }
    }

    /// futures-io `poll_flush`: writes what is buffered.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_finish(cx))?;
            if !self.launch_writes() {
                return Poll::Ready(Ok(()));
            }
        }
    }

    /// futures-io `poll_seek`, once what is buffered is settled.
    pub(crate) fn poll_seek(&mut self, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>>
    where
        T: Seek,
    {
        if !self.seeking {
            ready!(self.poll_flush(cx))?;
            let (_, buf) = self.idle();
            // A relative seek counts from where the reader is, not from the
            // end of the read-ahead.
            let ahead = buf.unread() as i64;
            buf.discard_read_ahead();
            let pos = match pos {
                SeekFrom::Current(d) => SeekFrom::Current(d - ahead),
                other => other,
            };
            self.launch(move |inner, _| inner.seek(pos));
            self.seeking = true;
        }
        let res = ready!(self.poll_finish(cx));
        self.seeking = false;
        Poll::Ready(res.map(|p| p.unwrap_or(0)))
    }

    /// Runs `f` on `T` on the pool once what is buffered is settled
    /// (`sync_all`, `set_len`, `metadata`), and returns its value.
    ///
    /// The job hands back only `T`, the buffer and an `io::Result<u64>` (so
    /// that a job left behind by a dropped future is collected by the next
    /// operation like any other); `f`'s value travels beside it in a
    /// one-slot channel.
    pub(crate) async fn run<R: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut T) -> io::Result<R> + Send + 'static,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.launch(move |inner, _| {
            let value = f(inner)?;
            // The receiver is alive unless our future was dropped: then
            // nobody wants the value.
            let _ = tx.send(value);
            Ok(0)
        });
        std::future::poll_fn(|cx| self.poll_finish(cx)).await?;
        rx.try_recv()
            .map_err(|_| io::Error::other("kiwi: a blocking I/O job gave no value"))
    }
}

impl<T: Read + Write + Send + 'static> Drop for Blocking<T> {
    fn drop(&mut self) {
        // Bytes accepted by `poll_write` are written even if nobody flushed:
        // the last job runs on its own, as a job in flight finishes by itself.
        if let State::Idle(pair) = &mut self.state {
            if let Some((mut inner, buf)) = pair.take() {
                if buf.pending_writes() {
                    drop(self.handle.spawn_blocking(move || {
                        let _ = inner.write_all(&buf.bytes).and_then(|()| inner.flush());
                    }));
                }
            }
        }
    }
}
