//! Per-descriptor readiness and the wakers waiting on it (Kiwi's `Channel`).
//!
//! Each direction (read, write) keeps one `AtomicU64`:
//!
//! ```text
//!  63                                 3    2       1       0
//! +------------------------------------+-------+--------+-------+
//! |  tick: events seen so far (61 bit) | ERROR | CLOSED | READY |
//! +------------------------------------+-------+--------+-------+
//! ```
//!
//! An edge from epoll bumps the tick and sets `READY` (plus `CLOSED` on hang-up,
//! `ERROR` on `EPOLLERR`). An operation that got `WouldBlock` clears `READY`, but
//! only if the tick is still the one it saw when it started: if an edge arrived
//! meanwhile, clearing would erase readiness nobody consumed, and with
//! edge-triggered epoll no second edge would come. The tick is full-width, so it
//! never wraps back to an old value (tokio issues 6133, 8054 and 8331 came from
//! narrow ticks and stale clears). `CLOSED` is never cleared; `ERROR` is cleared
//! with `READY` (a datagram socket's error is reported once).
//!
//! Waiting: `&mut` operations (a stream's read and write) use one `AtomicWaker`
//! per direction; a stream has one reader and one writer. `&self` operations (a
//! shared listener's accept, a shared UDP socket, `AsyncFd::readable`) may be
//! awaited by several tasks at once, so each direction also has a waiter list, and
//! an edge wakes every waiter: none may overwrite another's waker.

use crate::slab::Slab;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, Weak};
use std::task::{Context, Poll, Waker};

use futures_util::task::AtomicWaker;

use super::Reactor;

const READY: u64 = 1 << 0;
const CLOSED: u64 = 1 << 1;
const ERROR: u64 = 1 << 2;
const TICK: u64 = 1 << 3;

/// A direction of readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Readable (`EPOLLIN`, and hang-ups that make a read return 0 or an error).
    Read = 0,
    /// Writable (`EPOLLOUT`, and hang-ups and errors that make a write fail).
    Write = 1,
}

/// A snapshot of one direction's readiness, taken when an operation started.
/// Hand it back to `clear_readiness` after a `WouldBlock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    pub(crate) direction: Direction,
    pub(crate) word: u64,
}

impl ReadyEvent {
    /// True if a hang-up was seen: reads will return EOF or an error, writes fail.
    pub fn is_closed(&self) -> bool {
        self.word & CLOSED != 0
    }

    /// True if epoll reported an error condition (`EPOLLERR`).
    pub fn is_error(&self) -> bool {
        self.word & ERROR != 0
    }

    /// The direction this event is about.
    pub fn direction(&self) -> Direction {
        self.direction
    }
}

/// A key into a direction's waiter list, held by one `&self` operation's future.
#[derive(Debug, Default)]
pub struct WaiterKey(Option<u64>);

/// Readiness and wakers of one registered descriptor.
#[derive(Debug)]
pub struct ScheduledIo {
    readiness: [AtomicU64; 2],
    slots: [AtomicWaker; 2],
    /// Set (forever) once any `&self` operation waited, so that the reactor skips
    /// the waiter-list lock for the common stream that never has one.
    has_waiters: AtomicBool,
    waiters: Mutex<Option<Box<[WaiterList; 2]>>>,
    /// Which reactor this is registered with (0: none); checked on every poll.
    pub(crate) reactor_id: AtomicU64,
    pub(crate) location: Mutex<Option<Location>>,
}

/// Where a registration lives: a reactor (weakly: when its thread is gone the
/// registration moves) and the slab token there.
#[derive(Debug)]
pub(crate) struct Location {
    pub(crate) reactor: Weak<Reactor>,
    pub(crate) token: u64,
    /// The task that registered it there (its id, 0 outside a task), and
    /// when: a task stolen for good takes its sockets along, at most once
    /// per [`FOLLOW_AFTER`](super::registration::FOLLOW_AFTER).
    pub(crate) task: u64,
    pub(crate) since: std::time::Instant,
}

/// One direction's waiters: a slot per future that holds a [`WaiterKey`]; its
/// waker is taken (the slot stays, empty) when an edge wakes it.
#[derive(Debug)]
struct WaiterList {
    wakers: Slab<Option<Waker>>,
}

impl Default for WaiterList {
    fn default() -> WaiterList {
        WaiterList {
            wakers: Slab::new(),
        }
    }
}

impl Default for ScheduledIo {
    fn default() -> ScheduledIo {
        ScheduledIo::new()
    }
}

impl ScheduledIo {
    /// State for a descriptor not yet registered with any reactor. The
    /// descriptor itself belongs to the [`Source`](super::Source) that holds
    /// this.
    pub fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: [AtomicU64::new(0), AtomicU64::new(0)],
            slots: [AtomicWaker::new(), AtomicWaker::new()],
            has_waiters: AtomicBool::new(false),
            waiters: Mutex::new(None),
            reactor_id: AtomicU64::new(0),
            location: Mutex::new(None),
        }
    }

    /// Records an epoll event and wakes whoever waits for it. Returns how many
    /// wakers were woken; `woke` sees each kiwi task woken (for the trace log).
    pub(crate) fn set_readiness(&self, events: u32, mut woke: impl FnMut(&Waker)) -> usize {
        let ev = |flag: i32| events & flag as u32 != 0;
        let hup = ev(libc::EPOLLHUP);
        let err = if ev(libc::EPOLLERR) { ERROR } else { 0 };
        let read = ev(libc::EPOLLIN) || ev(libc::EPOLLRDHUP) || hup || err != 0;
        let write = ev(libc::EPOLLOUT) || hup || err != 0;
        let read_bits = READY
            | err
            | if hup || ev(libc::EPOLLRDHUP) {
                CLOSED
            } else {
                0
            };
        let write_bits = READY | err | if hup { CLOSED } else { 0 };
        let mut woken = 0;
        for (dir, on, bits) in [(0, read, read_bits), (1, write, write_bits)] {
            if !on {
                continue;
            }
            // One RMW: a new tick and the bits together. SeqCst pairs with the
            // waiter registration below (see `poll_ready_keyed`).
            let _ = self.readiness[dir].fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                Some(w.wrapping_add(TICK) | bits)
            });
            if let Some(w) = self.slots[dir].take() {
                woke(&w);
                w.wake();
                woken += 1;
            }
            if self.has_waiters.load(Ordering::SeqCst) {
                woken += self.wake_waiters(dir, &mut woke);
            }
        }
        woken
    }

    fn wake_waiters(&self, dir: usize, woke: &mut impl FnMut(&Waker)) -> usize {
        let taken: Vec<Waker> = {
            let mut guard = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            let Some(lists) = guard.as_mut() else {
                return 0;
            };
            lists[dir]
                .wakers
                .values_mut()
                .filter_map(Option::take)
                .collect()
        };
        // Wake outside the lock: a waker may run code that touches this socket.
        let n = taken.len();
        for w in taken {
            woke(&w);
            w.wake();
        }
        n
    }

    fn snapshot(&self, dir: Direction) -> Option<ReadyEvent> {
        let word = self.readiness[dir as usize].load(Ordering::SeqCst);
        (word & (READY | CLOSED | ERROR) != 0).then_some(ReadyEvent {
            direction: dir,
            word,
        })
    }

    /// Readiness for a `&mut` operation: one waker slot per direction, so the
    /// latest poller's waker replaces the previous one.
    pub fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<ReadyEvent> {
        if let Some(ev) = self.snapshot(dir) {
            return Poll::Ready(ev);
        }
        self.slots[dir as usize].register(cx.waker());
        // An edge between the check and the registration found no waker: look again.
        match self.snapshot(dir) {
            Some(ev) => Poll::Ready(ev),
            None => Poll::Pending,
        }
    }

    /// Readiness for a `&self` operation: the future keeps `key` (its place in the
    /// waiter list) across polls and must call [`ScheduledIo::remove_waiter`] when
    /// it is dropped.
    pub fn poll_ready_keyed(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        key: &mut WaiterKey,
    ) -> Poll<ReadyEvent> {
        if let Some(ev) = self.snapshot(dir) {
            return Poll::Ready(ev);
        }
        {
            let mut guard = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            let list = &mut guard.get_or_insert_with(Default::default)[dir as usize];
            match key.0.and_then(|k| list.wakers.get_mut(k)) {
                Some(Some(w)) if w.will_wake(cx.waker()) => {}
                Some(slot) => *slot = Some(cx.waker().clone()),
                None => key.0 = Some(list.wakers.insert(Some(cx.waker().clone()))),
            }
        }
        // Store-then-load on both sides (this flag then readiness; the reactor:
        // readiness then this flag), all SeqCst: one of the two sees the other.
        self.has_waiters.store(true, Ordering::SeqCst);
        match self.snapshot(dir) {
            Some(ev) => Poll::Ready(ev),
            None => Poll::Pending,
        }
    }

    /// Gives back a waiter-list place (call from the future's `Drop`, and when it
    /// completes).
    pub fn remove_waiter(&self, dir: Direction, key: &mut WaiterKey) {
        let Some(k) = key.0.take() else { return };
        let mut guard = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lists) = guard.as_mut() {
            lists[dir as usize].wakers.remove(k);
        }
    }

    /// Marks `dir` ready without an edge, for a descriptor known to be ready when
    /// it is wrapped: a connected socket is writable, so its first write should
    /// try the syscall instead of waiting for the reactor's first turn. A wrong
    /// guess costs one `EAGAIN`, which clears it as usual.
    pub fn assume_ready(&self, dir: Direction) {
        self.readiness[dir as usize].fetch_or(READY, Ordering::SeqCst);
    }

    /// After `WouldBlock`: forget readiness, unless a newer edge came since `ev`.
    pub fn clear_readiness(&self, ev: ReadyEvent) {
        let cell = &self.readiness[ev.direction as usize];
        // Clearing only works if the word is unchanged since the snapshot; a
        // failed exchange means a newer edge, which must survive.
        // `ERROR` goes with `READY`: on a datagram socket an error (an ICMP port
        // unreachable) is reported once, by the next operation, and is then gone;
        // kept, it would make every later wait return at once and the operation
        // loop spin on `WouldBlock` (pinned by tests/net_regressions.rs::
        // udp_recv_spun_after_an_icmp_error). A stream whose error is
        // real keeps failing its operations, which never say `WouldBlock`.
        // `CLOSED` stays: a hang-up is final.
        let _ = cell.compare_exchange(
            ev.word,
            ev.word & !(READY | ERROR),
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn ready_bits(io: &ScheduledIo, dir: Direction) -> Option<ReadyEvent> {
        io.snapshot(dir)
    }

    #[test]
    fn stale_clear_keeps_newer_edge() {
        let io = ScheduledIo::new();
        io.set_readiness(libc::EPOLLIN as u32, |_| {});
        let ev = ready_bits(&io, Direction::Read).unwrap();
        // A new edge arrives while the operation runs...
        io.set_readiness(libc::EPOLLIN as u32, |_| {});
        // ...so its WouldBlock must not clear.
        io.clear_readiness(ev);
        assert!(ready_bits(&io, Direction::Read).is_some());
        let ev2 = ready_bits(&io, Direction::Read).unwrap();
        io.clear_readiness(ev2);
        assert!(ready_bits(&io, Direction::Read).is_none());
        assert!(ready_bits(&io, Direction::Write).is_none());
    }

    #[test]
    fn closed_is_never_cleared() {
        let io = ScheduledIo::new();
        io.set_readiness((libc::EPOLLIN | libc::EPOLLRDHUP) as u32, |_| {});
        let ev = ready_bits(&io, Direction::Read).unwrap();
        assert!(ev.is_closed());
        io.clear_readiness(ev);
        assert!(ready_bits(&io, Direction::Read).unwrap().is_closed());
    }

    #[test]
    fn every_shared_waiter_is_woken() {
        use std::sync::atomic::AtomicUsize;
        use std::sync::Arc;
        let io = ScheduledIo::new();
        let count = Arc::new(AtomicUsize::new(0));
        let mut keys: Vec<WaiterKey> = (0..8).map(|_| WaiterKey::default()).collect();
        for key in &mut keys {
            let c = count.clone();
            let waker: Waker = Arc::new(Counter(c)).into();
            let mut cx = Context::from_waker(&waker);
            assert!(io
                .poll_ready_keyed(&mut cx, Direction::Read, key)
                .is_pending());
        }
        assert_eq!(io.set_readiness(libc::EPOLLIN as u32, |_| {}), 8);
        assert_eq!(count.load(Ordering::SeqCst), 8);
        for key in &mut keys {
            io.remove_waiter(Direction::Read, key);
        }

        struct Counter(Arc<AtomicUsize>);
        impl std::task::Wake for Counter {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}
