//! Timeline events, and the per-thread buffer that records them.
//!
//! An [`Event`] is plain data: 40 bytes, no allocation, no string. Recording
//! one reads the clock and pushes onto a `Vec` owned by the calling thread, so
//! a worker never takes a lock to trace. When the buffer holds [`CHUNK`]
//! events, or the thread ends (its thread-local is dropped, or the runtime
//! calls [`thread_exit`] first), the buffer goes to the collector thread in
//! one channel send.
//!
//! A thread's *role* names its track: the worker loop, `block_on` and the
//! blocking pool set it when their thread starts. A thread with no role (a
//! plain thread that wakes a task) gets a track named after the thread.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use super::collector::{self, Msg};

/// Events a thread buffers before it hands them to the collector.
pub(crate) const CHUNK: usize = 4096;

/// What happened. Slices (with a duration) and instants share one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A task poll (slice). `a`: 1 if it ran from the next-to-run (LIFO) slot.
    Poll,
    /// A poll of `block_on`'s root future (slice).
    Root,
    /// A job on a blocking-pool thread (slice).
    Blocking,
    /// The reactor handing out one `epoll_wait`'s events (slice).
    Dispatch,
    /// The timer wheel firing due timers (slice). `a`: fired, `b`: cascaded.
    Timers,
    /// `epoll_wait` returned `a` events.
    Epoll,
    /// The worker is about to sleep in `epoll_wait`.
    Park,
    /// The worker woke from `epoll_wait`.
    Unpark,
    /// `task` was made runnable by a waker (flow start).
    Wake,
    /// `task` was spawned (flow start, like a wake).
    Spawn,
    /// Readiness on fd `a` (bits `b`) woke `task`.
    Ready,
    /// This worker stole `b` tasks from worker `a`.
    Steal,
    /// This worker woke parked worker `a` to share work.
    Notify,
    /// An eventfd write to wake parked worker `a`.
    EventfdWrite,
    /// A doorbell ring skipped: worker `a` was awake.
    EventfdSkip,
    /// This worker took `b` events from stuck worker `a`'s reactor.
    Rescue,
    /// This worker set the watch alarm (`worker/alarm.rs`).
    Alarm,
    /// A label from `trace::mark`: `a` indexes the label table.
    Mark,
}

/// One recorded event. Times are nanoseconds since the trace's epoch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    pub(crate) ts: u64,
    pub(crate) dur: u64,
    pub(crate) task: u64,
    pub(crate) track: u32,
    pub(crate) a: u32,
    pub(crate) b: u32,
    pub(crate) kind: Kind,
}

/// What a thread does, which names its track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A pool worker, by index.
    Worker(usize),
    /// A thread running `block_on`.
    BlockOn,
    /// A blocking-pool thread.
    Blocking,
}

/// Where the times count from: the first use of the clock.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Now, in nanoseconds since the trace's epoch.
pub(crate) fn now() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

static NEXT_TRACK: AtomicU32 = AtomicU32::new(1);
static NEXT_BLOCKING: AtomicU32 = AtomicU32::new(0);

/// Labels of `trace::mark`, by index (marks are rare: a lock is fine).
pub(crate) static LABELS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

struct ThreadBuf {
    role: Option<Role>,
    /// 0 until the first event registers the track with the collector.
    track: u32,
    events: Vec<Event>,
}

impl ThreadBuf {
    fn track(&mut self) -> u32 {
        if self.track == 0 {
            self.track = NEXT_TRACK.fetch_add(1, Ordering::Relaxed);
            let (name, sort) = match self.role {
                Some(Role::Worker(i)) => (format!("worker {i}"), i as u64),
                Some(Role::BlockOn) => ("block_on".to_string(), 1 << 20),
                Some(Role::Blocking) => {
                    let n = NEXT_BLOCKING.fetch_add(1, Ordering::Relaxed);
                    (format!("blocking {n}"), (1 << 21) + u64::from(n))
                }
                None => {
                    let t = std::thread::current();
                    let name = t
                        .name()
                        .map_or("other thread".into(), |n| format!("thread {n}"));
                    (name, 1 << 22)
                }
            };
            collector::send(Msg::Track {
                id: self.track,
                name,
                sort,
            });
        }
        self.track
    }

    fn push(&mut self, mut ev: Event) {
        ev.track = self.track();
        if self.events.capacity() == 0 {
            self.events.reserve_exact(CHUNK);
        }
        self.events.push(ev);
        if self.events.len() >= CHUNK {
            self.hand_off();
        }
    }

    fn hand_off(&mut self) {
        if !self.events.is_empty() {
            collector::send(Msg::Events(std::mem::take(&mut self.events)));
        }
    }
}

impl Drop for ThreadBuf {
    fn drop(&mut self) {
        self.hand_off();
    }
}

thread_local! {
    static BUF: RefCell<ThreadBuf> = const {
        RefCell::new(ThreadBuf { role: None, track: 0, events: Vec::new() })
    };
}

/// Names the calling thread's track (from its next event on).
pub(crate) fn set_role(role: Role) {
    let _ = BUF.try_with(|b| {
        let mut b = b.borrow_mut();
        if b.role != Some(role) {
            b.hand_off();
            b.role = Some(role);
            b.track = 0;
        }
    });
}

/// Hands the calling thread's events to the collector now (the thread is
/// about to end, or a flush wants everything).
pub(crate) fn thread_exit() {
    let _ = BUF.try_with(|b| b.borrow_mut().hand_off());
}

/// Records a slice that began at `start` (from [`now`]) and ends now, if
/// the timeline records.
pub(crate) fn record_span(kind: Kind, start: u64, task: u64, a: u32, b: u32) {
    if !super::json_on() {
        return;
    }
    let end = now();
    push(Event {
        ts: start,
        dur: end.saturating_sub(start),
        task,
        track: 0,
        a,
        b,
        kind,
    });
}

/// Records an instant, if the timeline records.
pub(crate) fn record(kind: Kind, task: u64, a: u32, b: u32) {
    if !super::json_on() {
        return;
    }
    push(Event {
        ts: now(),
        dur: 0,
        task,
        track: 0,
        a,
        b,
        kind,
    });
}

fn push(ev: Event) {
    // A thread-local already destroyed (an event from another destructor at
    // thread exit) loses the event: tracing is best effort.
    let _ = BUF.try_with(|b| {
        if let Ok(mut b) = b.try_borrow_mut() {
            b.push(ev);
        }
    });
}

/// Records a `trace::mark` label.
pub(crate) fn mark(label: &'static str) {
    if !super::json_on() {
        return;
    }
    let index = {
        let mut labels = LABELS.lock().unwrap_or_else(|e| e.into_inner());
        match labels.iter().position(|l| *l == label) {
            Some(i) => i,
            None => {
                labels.push(label);
                labels.len() - 1
            }
        }
    };
    record(Kind::Mark, 0, index as u32, 0);
}
