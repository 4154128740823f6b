//! The reactor: one epoll instance per worker, and what it does with an edge.
//!
//! This is Kiwi's `Epoll` plus its `Channel`s. A descriptor is registered once,
//! edge-triggered for both directions, the first time a task polls it (lazily, so
//! that a socket accepted on one worker and handed to a task on another registers
//! where it is used). Its slab token, not its fd, is the epoll user data.
//!
//! When `epoll_wait` returns, each event is looked up by token; the matching
//! [`ScheduledIo`] records the edge (a new tick per direction) and wakes the
//! waiting tasks, and the [`Source`] gets a chance to act (a TCP stream flushes its
//! output buffer here: muduo's `handleWrite`). The wakers push the tasks onto the
//! run queue; nothing is polled from inside the reactor.
//!
//! Registrations hold a `Weak` to their reactor, the id of the task that
//! registered them, and when. A socket polled on another worker (by a stolen
//! task, by the other half of a split stream) stays where it is: the wakes
//! of a worker's reactor put their tasks on that worker (`worker/schedule.rs`),
//! so a stolen task comes back with its next edge, and nothing ping-pongs
//! between epolls. Three things move a socket to the polling thread's
//! reactor, `EPOLL_CTL_DEL` then `EPOLL_CTL_ADD` (which reports the current
//! readiness, so no edge is lost): its reactor is gone; it belongs to a
//! `block_on` thread, which will stop polling it soon; or the poller is the
//! task that registered it, at least `FOLLOW_AFTER`
//! (1 s) later. That last one is for balance over time: a connection first
//! polled on a busy worker is not tied to it for life, yet a socket moves at
//! most once a second, however often its task is stolen.
//!
//! A worker stuck in one long poll does not turn its reactor; an idle sibling
//! then does it for it ([`Reactor::rescue`], `worker/rescue.rs`).
//!
//! Why not let a stolen task take its sockets along, as kiwi first did? Each
//! move is two `epoll_ctl` calls, and under two workers' steady HTTP load
//! tasks are stolen often: hyper on two workers used 1.09–1.19× tokio's CPU
//! per request with moves, 0.98–1.05× without (docs/BENCHMARKS.md, "sockets
//! stay put").

mod registration;
mod scheduled_io;

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use registration::{FdSource, Io, Registration, Source};
pub use scheduled_io::{Direction, ReadyEvent, ScheduledIo, WaiterKey};

use crate::metrics::WorkerMetrics;
use crate::slab::Slab;
use crate::sys::epoll::{Epoll, Event};
use crate::trace;

/// The token of the worker's eventfd doorbell; it carries no readiness to record.
pub(crate) const DOORBELL: u64 = u64::MAX;

/// The token of the runtime's watch alarm (`worker/alarm.rs`): its edge only
/// ends a park, like the doorbell's.
pub(crate) const ALARM: u64 = u64::MAX - 1;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One epoll instance and its registrations.
pub struct Reactor {
    pub(crate) id: u64,
    epoll: Epoll,
    sources: Mutex<Slab<Arc<dyn Source>>>,
    /// A `block_on` thread's reactor: sockets polled elsewhere move away from it.
    pub(crate) is_block_on: bool,
    pub(crate) metrics: Arc<WorkerMetrics>,
}

/// Reusable buffers for one reactor turn: the kernel's event array (zeroed once,
/// then only overwritten by `epoll_wait`) and the sources it named.
pub(crate) struct Events {
    events: Box<[Event]>,
    ready: Vec<(Arc<dyn Source>, u32)>,
}

impl Events {
    pub(crate) fn with_capacity(n: usize) -> Events {
        Events {
            events: vec![Event { events: 0, u64: 0 }; n].into_boxed_slice(),
            ready: Vec::with_capacity(n),
        }
    }
}

impl Reactor {
    /// The reactor of `worker`, with its doorbell registered.
    pub(crate) fn for_worker(
        worker: &crate::worker::WorkerRemote,
        is_block_on: bool,
    ) -> io::Result<Reactor> {
        worker.with_doorbell(|doorbell| {
            let doorbell =
                doorbell.ok_or_else(|| io::Error::other("kiwi: the worker has exited"))?;
            Reactor::new(is_block_on, doorbell, worker.metrics.clone())
        })
    }

    pub(crate) fn new(
        is_block_on: bool,
        doorbell: BorrowedFd<'_>,
        metrics: Arc<WorkerMetrics>,
    ) -> io::Result<Reactor> {
        let epoll = Epoll::new()?;
        epoll.add_with(doorbell, DOORBELL, (libc::EPOLLIN | libc::EPOLLET) as u32)?;
        Ok(Reactor {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            epoll,
            sources: Mutex::new(Slab::new()),
            is_block_on,
            metrics,
        })
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, Slab<Arc<dyn Source>>> {
        // A panic never happens while the lock is held (only slab operations run
        // under it), but don't turn a poisoned lock into a second panic.
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `source` with `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`; returns its token.
    pub(crate) fn register(&self, source: Arc<dyn Source>) -> io::Result<u64> {
        let token = self.sources().insert(source.clone());
        if let Err(e) = self.epoll.add(source.fd(), token) {
            drop(self.sources().remove(token));
            return Err(e);
        }
        self.metrics.registrations.fetch_add(1, Ordering::Relaxed);
        Ok(token)
    }

    /// Removes the registration behind `token` (from any thread).
    pub(crate) fn deregister(&self, token: u64, fd: BorrowedFd<'_>) -> io::Result<()> {
        let removed = self.sources().remove(token);
        if removed.is_some() {
            self.metrics.registrations.fetch_sub(1, Ordering::Relaxed);
        }
        let res = self.epoll.delete(fd);
        // Drop the slab's reference outside the lock: it may be the last one.
        drop(removed);
        res
    }

    /// Waits for events (at most `timeout`), records them and wakes their tasks.
    /// Returns the number of events, the doorbell's included.
    pub(crate) fn turn(
        &self,
        timeout: Option<Duration>,
        buf: &mut Events,
        worker: usize,
    ) -> io::Result<usize> {
        // Odd while waiting (`WorkerMetrics::reactor_turns`). Only the owner
        // calls `turn`, so a plain load and store would do; `bump` is that.
        let turns = &self.metrics.reactor_turns;
        crate::metrics::bump(turns, 1);
        let waited = self.epoll.wait(&mut buf.events, timeout);
        crate::metrics::bump(turns, 1);
        let n = waited?;
        self.handle_events(n, buf, worker);
        Ok(n)
    }

    /// Adds the runtime's watch alarm (`worker/alarm.rs`), shared by every
    /// worker's epoll. `EPOLLEXCLUSIVE` makes an expiry wake one of the
    /// threads parked in them rather than all: the kernel walks the alarm's
    /// waiters and stops at the first epoll that has a thread waiting (the
    /// others just note the edge, and ignore it at their next turn).
    pub(crate) fn add_alarm(&self, alarm: BorrowedFd<'_>) -> io::Result<()> {
        let events = libc::EPOLLIN | libc::EPOLLET | libc::EPOLLEXCLUSIVE;
        self.epoll.add_with(alarm, ALARM, events as u32)
    }

    /// A turn taken by another worker, for an owner that has not turned its
    /// reactor for a while (one poll has run for milliseconds): collects the
    /// events with a zero timeout and wakes their tasks on the calling
    /// thread. Linux lets several threads wait on one epoll; each edge goes
    /// to one of them. If one of the edges was the owner's doorbell, which
    /// was meant for the owner, `ring_again` is called before anything else
    /// happens. Returns the number of events other than the doorbell's and
    /// the alarm's.
    pub(crate) fn rescue(
        &self,
        buf: &mut Events,
        worker: usize,
        ring_again: impl FnOnce(),
    ) -> io::Result<usize> {
        let n = self.epoll.wait(&mut buf.events, Some(Duration::ZERO))?;
        let tokens = || buf.events[..n].iter().map(|ev| ev.u64);
        if tokens().any(|t| t == DOORBELL) {
            ring_again();
        }
        let sockets = tokens().filter(|&t| t != DOORBELL && t != ALARM).count();
        self.handle_events(n, buf, worker);
        Ok(sockets)
    }

    fn handle_events(&self, n: usize, buf: &mut Events, worker: usize) {
        if n > 0 {
            let traced = trace::enabled().then(|| {
                trace::record(trace::Kind::Epoll, 0, trace::index(n), 0);
                trace::emit(|| format!("{}: epoll returned {n} event(s)", trace::worker(worker)));
                trace::now()
            });
            self.dispatch(&buf.events[..n], &mut buf.ready, worker);
            if let Some(start) = traced {
                trace::record_span(trace::Kind::Dispatch, start, 0, 0, 0);
            }
            self.metrics
                .epoll_events
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// Records a batch of events and wakes their tasks. A token whose
    /// registration left (or whose slot now holds a newer one, e.g. for a
    /// recycled fd number) finds nothing and is ignored.
    fn dispatch(&self, events: &[Event], ready: &mut Vec<(Arc<dyn Source>, u32)>, worker: usize) {
        {
            // Look every token up under one lock, then act outside it.
            let sources = self.sources();
            for ev in events {
                let (token, bits) = (ev.u64, ev.events);
                if token == DOORBELL || token == ALARM {
                    continue;
                }
                if let Some(src) = sources.get(token) {
                    ready.push((src.clone(), bits));
                }
            }
        }
        for (src, events) in ready.drain(..) {
            let io = src.scheduled_io();
            io.set_readiness(events, |w| {
                if trace::enabled() {
                    let fd = src.fd().as_raw_fd();
                    let task = crate::task::waker_task_id(w).map_or(0, |t| t.as_u64());
                    trace::record(trace::Kind::Ready, task, fd as u32, events);
                    let who = crate::task::waker_task_id(w)
                        .map_or("a foreign waker".to_string(), |t| format!("task {t}"));
                    trace::emit(|| {
                        format!(
                            "{}: fd {} ready ({events:#x}) woke {who}",
                            trace::worker(worker),
                            src.fd().as_raw_fd()
                        )
                    });
                }
            });
            src.on_ready(events);
        }
    }

    /// Removes every registration (the worker is exiting).
    pub(crate) fn clear(&self) {
        let all = self.sources().drain();
        self.metrics
            .registrations
            .fetch_sub(all.len() as u64, Ordering::Relaxed);
        for src in &all {
            // The epoll fd closes right after; only forget the location.
            *src.scheduled_io()
                .location
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None;
            src.scheduled_io().reactor_id.store(0, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("id", &self.id)
            .field("block_on", &self.is_block_on)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sys::eventfd::EventFd;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    /// A rescue (a sibling's turn, `worker/rescue.rs`) wakes the socket's
    /// waiter, from another thread, and reports a doorbell edge it took so
    /// that the rescuer can ring it again.
    #[test]
    fn a_rescue_from_another_thread_wakes_and_reports_the_doorbell() {
        use std::io::Write;
        let doorbell = EventFd::new().unwrap();
        let reactor = Arc::new(Reactor::new(false, doorbell.as_fd(), Arc::default()).unwrap());
        let (sock, mut peer) = UnixStream::pair().unwrap();
        sock.set_nonblocking(true).unwrap();
        let io = Arc::new(FdSource::new(sock.into()));
        let token = reactor.register(io.clone()).unwrap();
        // Drain the registration's initial writable edge.
        let mut events = Events::with_capacity(8);
        reactor.turn(Some(Duration::ZERO), &mut events, 0).unwrap();
        let turns = reactor.metrics.reactor_turns.load(Ordering::Relaxed);
        assert_eq!(turns, 2, "in and out of one epoll_wait: even, not waiting");

        struct Flag(std::sync::atomic::AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(Default::default()));
        let waker = std::task::Waker::from(flag.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(io
            .scheduled_io()
            .poll_ready(&mut cx, Direction::Read)
            .is_pending());
        peer.write_all(b"x").unwrap();
        doorbell.notify().unwrap();

        let r = reactor.clone();
        let (n, rang) = std::thread::spawn(move || {
            let mut rang = false;
            let n = r.rescue(&mut Events::with_capacity(8), 1, || rang = true);
            (n.unwrap(), rang)
        })
        .join()
        .unwrap();
        assert_eq!(
            (n, rang),
            (1, true),
            "the socket's edge, and the doorbell's"
        );
        assert!(flag.0.load(Ordering::SeqCst), "the waiter was woken");
        assert!(io
            .scheduled_io()
            .poll_ready(&mut cx, Direction::Read)
            .is_ready());
        let mut rang = false;
        let n = reactor.rescue(&mut events, 1, || rang = true).unwrap();
        assert_eq!((n, rang), (0, false), "each edge is taken once");
        reactor.deregister(token, io.fd()).unwrap();
    }

    /// Issue 7, "an fd recycled within one epoll batch": an event fetched for a
    /// registration that then left, whose fd number and slab slot were reused by
    /// a new socket before the batch was dispatched, must not wake the new one.
    #[test]
    fn recycled_fd_in_one_batch_does_not_wake_the_new_socket() {
        // Other tests in this binary open descriptors on other threads and may
        // take the freed number first: then try again.
        for _attempt in 0..100 {
            let doorbell = EventFd::new().unwrap();
            let reactor = Reactor::new(false, doorbell.as_fd(), Arc::default()).unwrap();
            let (old, _old_peer) = UnixStream::pair().unwrap();
            let old_fd = old.as_raw_fd();
            let old_io = Arc::new(FdSource::new(old.into()));
            let old_token = reactor.register(old_io.clone()).unwrap();
            // The batch epoll_wait returned before the old socket went away.
            let stale = [Event {
                events: libc::EPOLLIN as u32,
                u64: old_token,
            }];
            reactor.deregister(old_token, old_io.fd()).unwrap();
            drop(old_io); // closes the descriptor
                          // A new socket gets the same fd number (the kernel reuses the
                          // lowest free one) and the same slab slot.
            let (new, _new_peer) = UnixStream::pair().unwrap();
            if new.as_raw_fd() != old_fd {
                continue;
            }
            let new_io = Arc::new(FdSource::new(new.into()));
            let new_token = reactor.register(new_io.clone()).unwrap();
            assert_eq!(new_token as u32, old_token as u32, "same slot index");
            assert_ne!(new_token, old_token, "new generation");
            reactor.dispatch(&stale, &mut Vec::new(), 0);
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            assert!(
                new_io
                    .scheduled_io()
                    .poll_ready(&mut cx, Direction::Read)
                    .is_pending(),
                "stale event woke the new socket"
            );
            reactor.deregister(new_token, new_io.fd()).unwrap();
            return;
        }
        panic!("the freed fd number was never reused in 100 attempts");
    }
}
