//! The collector: one thread that gathers every thread's events, keeps the
//! newest in a bounded ring, and writes the timeline file.
//!
//! Workers only ever *send* to it (a channel push of a whole buffer, every
//! few thousand events), so disk I/O never happens on a worker. The ring
//! bound is in events, not bytes: with the default of [`DEFAULT_CAPACITY`]
//! the collector holds at most about 21 MB (twice the ring, between two
//! trims) and the file is at most about 60 MB, however long the run. When
//! more arrive, the oldest (by timestamp) are dropped and counted; the count
//! goes into the file. The ring lets the event list grow to twice its
//! capacity before trimming, so a trim (a sort) runs once per `capacity`
//! events, not once per event.
//!
//! The file is rewritten whole, atomically (a temporary file renamed over
//! it), every second while new events arrive and on [`flush`], which a
//! runtime's shutdown calls after joining its workers. So a program that is
//! killed still leaves a timeline at most a second old, and one that shuts
//! down leaves a complete one.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::Duration;

use super::event::{self, Event, LABELS};
use super::{chrome, report};

/// Events kept by default (`Builder::trace_json_capacity` changes it).
pub(crate) const DEFAULT_CAPACITY: usize = 1 << 18;

/// What threads tell the collector.
pub(crate) enum Msg {
    /// A new track: a thread's first event.
    Track { id: u32, name: String, sort: u64 },
    /// A thread's buffer.
    Events(Vec<Event>),
    /// Write the file now and say how it went.
    Flush(mpsc::SyncSender<io::Result<()>>),
    /// Start a new timeline in `path` (the old one is written first).
    Reset { path: PathBuf, capacity: usize },
}

static TX: Mutex<Option<Sender<Msg>>> = Mutex::new(None);

/// Sends to the collector, if it runs. Rare (once per buffer), so a lock is
/// fine; a collector that died only loses the trace.
pub(crate) fn send(msg: Msg) {
    if let Some(tx) = TX.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        let _ = tx.send(msg);
    }
}

/// Starts recording the timeline into `path`, keeping at most `capacity`
/// events (default [`DEFAULT_CAPACITY`]). A path that cannot be written is
/// reported on stderr and leaves the timeline off: the runtime runs untraced.
pub(crate) fn start_json(path: PathBuf, capacity: Option<usize>) {
    if let Err(e) = File::create(&path) {
        report(&format!(
            "kiwi: cannot write the trace timeline to {}: {e}. Running untraced.",
            path.display()
        ));
        return;
    }
    let capacity = capacity.unwrap_or(DEFAULT_CAPACITY).max(1);
    {
        let mut tx = TX.lock().unwrap_or_else(|e| e.into_inner());
        if tx.is_none() {
            let (sender, receiver) = mpsc::channel();
            let spawned = std::thread::Builder::new()
                .name("kiwi-trace".into())
                .spawn(move || Collector::new().run(receiver));
            if let Err(e) = spawned {
                report(&format!(
                    "kiwi: cannot start the trace collector thread: {e}. Running untraced."
                ));
                return;
            }
            *tx = Some(sender);
        }
        if let Some(tx) = tx.as_ref() {
            let _ = tx.send(Msg::Reset { path, capacity });
        }
    }
    super::set_json(true);
}

/// Writes the timeline file now, with every event recorded so far by threads
/// that have ended and by the calling thread. Returns at once if no timeline
/// is recorded. A runtime's shutdown calls it after joining its workers.
///
/// # Errors
///
/// The error of writing the file, or `TimedOut` if the collector did not
/// answer within 10 s.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {});
/// kiwi_runtime::trace::flush().unwrap();
/// ```
pub fn flush() -> io::Result<()> {
    if !super::json_on() {
        return Ok(());
    }
    event::thread_exit();
    let (reply, answer) = mpsc::sync_channel(1);
    send(Msg::Flush(reply));
    match answer.recv_timeout(Duration::from_secs(10)) {
        Ok(res) => res,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "kiwi: the trace collector did not answer",
        )),
    }
}

/// Writes the timeline file (as [`flush`] does) and stops recording: a
/// program can trace one phase of its run. [`Builder::trace_json`] starts a
/// new timeline.
///
/// [`Builder::trace_json`]: crate::Builder::trace_json
///
/// # Errors
///
/// As for [`flush`].
///
/// # Examples
///
/// ```
/// kiwi_runtime::trace::finish().unwrap();
/// ```
pub fn finish() -> io::Result<()> {
    let res = flush();
    super::set_json(false);
    res
}

/// The tracks' names and sort keys, by track id.
pub(crate) type Tracks = HashMap<u32, (String, u64)>;

struct Collector {
    path: Option<PathBuf>,
    capacity: usize,
    events: Vec<Event>,
    dropped: u64,
    tracks: Tracks,
    dirty: bool,
}

impl Collector {
    fn new() -> Collector {
        Collector {
            path: None,
            capacity: DEFAULT_CAPACITY,
            events: Vec::new(),
            dropped: 0,
            tracks: HashMap::new(),
            dirty: false,
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        loop {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(Msg::Track { id, name, sort }) => {
                    self.tracks.insert(id, (name, sort));
                }
                Ok(Msg::Events(mut events)) => {
                    self.events.append(&mut events);
                    self.dirty = true;
                    if self.events.len() > 2 * self.capacity {
                        self.trim();
                    }
                }
                Ok(Msg::Flush(reply)) => {
                    let _ = reply.send(self.write());
                }
                Ok(Msg::Reset { path, capacity }) => {
                    if self.dirty {
                        let _ = self.write();
                    }
                    self.events.clear();
                    self.dropped = 0;
                    self.path = Some(path);
                    self.capacity = capacity;
                    self.dirty = true;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.dirty {
                        let _ = self.write();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Keeps the newest `capacity` events, counting the rest as dropped.
    fn trim(&mut self) {
        self.events.sort_by_key(|e| e.ts);
        let excess = self.events.len().saturating_sub(self.capacity);
        if excess > 0 {
            self.events.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    fn write(&mut self) -> io::Result<()> {
        self.trim();
        self.dirty = false;
        let Some(path) = self.path.as_ref() else {
            return Ok(());
        };
        let labels = LABELS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let timeline = chrome::Timeline {
            events: &self.events,
            tracks: &self.tracks,
            labels: &labels,
            dropped: self.dropped,
            capacity: self.capacity,
        };
        write_atomically(path, |w| timeline.write(w))
    }
}

/// Writes `path` through a temporary file renamed over it, so that a reader
/// never sees half a file.
fn write_atomically(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let mut w = BufWriter::new(File::create(&tmp)?);
    body(&mut w)?;
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, path)
}
