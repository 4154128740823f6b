//! Loom models of the task state machine: wakes, aborts and `JoinHandle` drops
//! racing with the owner's polls. Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p kiwi-runtime --lib --release loom`.
//!
//! Each model checks, over every interleaving loom explores: the future is
//! dropped exactly once and on the owner thread; the output is dropped exactly
//! once; the task is freed exactly once (its scheduler value is dropped with it).

use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

use super::raw::Header;
use super::registry::Shards;
use super::{new_send_unbound, new_task, waker_task_id, JoinHandle, Notified, Schedule, Task};

/// Counts what happened to one task.
#[derive(Default)]
struct Log {
    future_drops: AtomicUsize,
    future_drops_off_owner: AtomicUsize,
    output_drops: AtomicUsize,
    freed: AtomicUsize,
}

/// The owner: a run queue and a one-slot registry, both behind loom mutexes.
struct Owner {
    queue: Mutex<Vec<Notified<Sched>>>,
    registry: Shards,
    owner_thread: Mutex<Option<thread::ThreadId>>,
}

struct Sched {
    owner: Arc<Owner>,
    log: Arc<Log>,
}

impl Schedule for Sched {
    fn schedule(&self, task: Notified<Self>) {
        self.owner.queue.lock().unwrap().push(task);
    }
    fn yield_now(&self, task: Notified<Self>) {
        self.schedule(task);
    }
    fn release(&self, task: NonNull<Header>) -> bool {
        super::registry::take_unregistered(task)
            || self
                .owner
                .registry
                .remove(task)
                .map(Task::into_raw)
                .is_some()
    }
    fn bind(&self, task: Task) -> Result<(), Task> {
        self.owner.registry.insert(task)
    }
}

impl Drop for Sched {
    fn drop(&mut self) {
        self.log.freed.fetch_add(1, Ordering::SeqCst);
    }
}

struct Output(Arc<Log>);
impl Drop for Output {
    fn drop(&mut self) {
        self.0.output_drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pending on the first poll (handing its waker out), ready on the second.
struct TwoPolls {
    polls: usize,
    waker_out: Arc<Mutex<Option<Waker>>>,
    log: Arc<Log>,
    owner: Arc<Owner>,
}

impl Future for TwoPolls {
    type Output = Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        self.polls += 1;
        if self.polls == 1 {
            *self.waker_out.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(Output(self.log.clone()))
        }
    }
}

impl Drop for TwoPolls {
    fn drop(&mut self) {
        self.log.future_drops.fetch_add(1, Ordering::SeqCst);
        if *self.owner.owner_thread.lock().unwrap() != Some(thread::current().id()) {
            self.log
                .future_drops_off_owner
                .fetch_add(1, Ordering::SeqCst);
        }
    }
}

type Setup = (
    Arc<Owner>,
    Arc<Log>,
    Arc<Mutex<Option<Waker>>>,
    JoinHandle<Output>,
);

fn setup() -> Setup {
    setup_with(true)
}

/// `registered`: the spawner registers the task (a local task, as
/// `spawn_local` does); otherwise it is made unbound and enters the registry
/// at its first `Pending` (a `Send` task, as `Handle::spawn` does).
fn setup_with(registered: bool) -> Setup {
    let owner = Arc::new(Owner {
        queue: Mutex::new(Vec::new()),
        registry: Shards::new(1),
        owner_thread: Mutex::new(Some(thread::current().id())),
    });
    let log = Arc::new(Log::default());
    let waker_out = Arc::new(Mutex::new(None));
    let fut = TwoPolls {
        polls: 0,
        waker_out: waker_out.clone(),
        log: log.clone(),
        owner: owner.clone(),
    };
    let sched = Sched {
        owner: owner.clone(),
        log: log.clone(),
    };
    let (notified, join) = if registered {
        // SAFETY: everything runs under loom's model; the owner is this thread.
        let (registered, notified, join) = unsafe { new_task(fut, sched, 0) };
        // The spawner registers the task before queuing it.
        assert!(owner.registry.insert(registered).is_ok());
        (notified, join)
    } else {
        new_send_unbound(fut, sched, 0)
    };
    owner.queue.lock().unwrap().push(notified);
    (owner, log, waker_out, join)
}

/// The owner's loop: run queued entries until none is left.
fn run_owner(owner: &Owner) {
    loop {
        let next = owner.queue.lock().unwrap().pop();
        match next {
            Some(t) => t.run(),
            None => break,
        }
    }
}

fn noop_poll<T>(join: &mut JoinHandle<T>) -> Poll<Result<T, super::JoinError>> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(join).poll(&mut cx)
}

#[test]
fn loom_wake_from_another_thread_races_the_poll() {
    loom::model(|| {
        let (owner, log, waker_out, mut join) = setup();
        run_owner(&owner); // first poll: Pending, waker handed out
        let w = waker_out
            .lock()
            .unwrap()
            .take()
            .expect("first poll stored a waker");
        let waker_thread = thread::spawn(move || w.wake());
        // The owner keeps running whatever is queued while the wake happens.
        run_owner(&owner);
        waker_thread.join().unwrap();
        run_owner(&owner);
        match noop_poll(&mut join) {
            Poll::Ready(Ok(out)) => drop(out),
            other => panic!("task did not complete: {:?}", other.map(|r| r.map(|_| ()))),
        }
        drop(join);
        assert_eq!(log.future_drops.load(Ordering::SeqCst), 1);
        assert_eq!(log.future_drops_off_owner.load(Ordering::SeqCst), 0);
        assert_eq!(log.output_drops.load(Ordering::SeqCst), 1);
        assert_eq!(log.freed.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn loom_abort_from_another_thread_drops_future_on_owner() {
    loom::model(|| {
        let (owner, log, waker_out, mut join) = setup();
        let abort = join.abort_handle();
        let aborter = thread::spawn(move || abort.abort());
        run_owner(&owner);
        aborter.join().unwrap();
        run_owner(&owner);
        // Either the abort came first (cancelled) or the first poll did, after
        // which the abort queued the task for its owner to cancel.
        match noop_poll(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            other => panic!(
                "expected cancellation, got {:?}",
                other.map(|r| r.map(|_| ()))
            ),
        }
        drop(waker_out.lock().unwrap().take());
        drop(join);
        assert_eq!(log.future_drops.load(Ordering::SeqCst), 1);
        assert_eq!(log.future_drops_off_owner.load(Ordering::SeqCst), 0);
        assert_eq!(log.output_drops.load(Ordering::SeqCst), 0);
        assert_eq!(log.freed.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn loom_join_handle_dropped_while_task_completes() {
    loom::model(|| {
        let (owner, log, waker_out, join) = setup();
        run_owner(&owner);
        let w = waker_out.lock().unwrap().take().unwrap();
        w.wake();
        let dropper = thread::spawn(move || drop(join));
        run_owner(&owner);
        dropper.join().unwrap();
        assert_eq!(log.future_drops.load(Ordering::SeqCst), 1);
        assert_eq!(
            log.output_drops.load(Ordering::SeqCst),
            1,
            "output dropped exactly once"
        );
        assert_eq!(log.freed.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn loom_last_waker_dropped_on_another_thread() {
    loom::model(|| {
        let (owner, log, waker_out, mut join) = setup();
        run_owner(&owner);
        let w = waker_out.lock().unwrap().take().unwrap();
        let w2 = w.clone();
        let t = thread::spawn(move || drop(w2));
        w.wake();
        run_owner(&owner);
        t.join().unwrap();
        assert!(matches!(noop_poll(&mut join), Poll::Ready(Ok(_))));
        drop(join);
        assert_eq!(log.future_drops_off_owner.load(Ordering::SeqCst), 0);
        assert_eq!(log.freed.load(Ordering::SeqCst), 1);
    });
}

/// Regression model: a `JoinHandle` re-polled with another
/// waker reads the join-waker cell while the owner completes the task; the owner
/// used to `take()` the waker out of the cell (a write racing that read).
#[test]
fn loom_join_handle_repoll_races_completion() {
    use std::task::{RawWaker, RawWakerVTable};
    static NOOP: RawWakerVTable =
        RawWakerVTable::new(|p| RawWaker::new(p, &NOOP), |_| {}, |_| {}, |_| {});
    fn distinct_waker(tag: &'static u8) -> Waker {
        // SAFETY: the vtable's functions ignore the data pointer.
        unsafe { Waker::from_raw(RawWaker::new(tag as *const u8 as *const (), &NOOP)) }
    }
    static A: u8 = 1;
    static B: u8 = 2;
    loom::model(|| {
        let (owner, log, waker_out, mut join) = setup();
        // The handle registers waker A.
        let wa = distinct_waker(&A);
        assert!(Pin::new(&mut join)
            .poll(&mut Context::from_waker(&wa))
            .is_pending());
        run_owner(&owner);
        let w = waker_out.lock().unwrap().take().unwrap();
        w.wake();
        // Re-poll with waker B on another thread while the owner completes it.
        let poller = thread::spawn(move || {
            let wb = distinct_waker(&B);
            let mut join = join;
            let r = Pin::new(&mut join).poll(&mut Context::from_waker(&wb));
            (join, r.is_ready())
        });
        run_owner(&owner);
        let (mut join, ready) = poller.join().unwrap();
        if !ready {
            assert!(matches!(noop_poll(&mut join), Poll::Ready(Ok(_))));
        }
        drop(join);
        assert_eq!(log.future_drops.load(Ordering::SeqCst), 1);
        assert_eq!(log.output_drops.load(Ordering::SeqCst), 1);
        assert_eq!(log.freed.load(Ordering::SeqCst), 1);
    });
}

/// A `Send` task's shutdown races its poll on another worker: one thread runs
/// the queue entry (a wake came in), another drains the registry and shuts
/// every task down, as a worker does when the runtime ends. The future is
/// dropped exactly once, by one of them, and the task is freed exactly once.
#[test]
fn loom_registry_shutdown_races_a_poll_elsewhere() {
    loom::model(|| {
        let (owner, log, waker_out, join) = setup();
        run_owner(&owner);
        let w = waker_out.lock().unwrap().take().unwrap();
        w.wake();
        let poller = {
            let owner = owner.clone();
            thread::spawn(move || run_owner(&owner))
        };
        for task in owner.registry.close_and_drain() {
            task.shutdown();
        }
        poller.join().unwrap();
        run_owner(&owner);
        drop(join);
        assert_eq!(log.future_drops.load(Ordering::SeqCst), 1);
        assert!(log.output_drops.load(Ordering::SeqCst) <= 1);
        assert_eq!(log.freed.load(Ordering::SeqCst), 1);
    });
}

/// A completion on one thread removes the task from the registry while
/// another thread drains it for shutdown: the registry's reference is
/// dropped exactly once, whoever gets it.
#[test]
fn loom_registry_remove_races_shutdown_drain() {
    loom::model(|| {
        let (owner, log, waker_out, mut join) = setup();
        run_owner(&owner);
        let w = waker_out.lock().unwrap().take().unwrap();
        w.wake();
        let drainer = {
            let owner = owner.clone();
            thread::spawn(move || owner.registry.close_and_drain())
        };
        run_owner(&owner);
        for task in drainer.join().unwrap() {
            task.shutdown();
        }
        match noop_poll(&mut join) {
            Poll::Ready(Ok(out)) => drop(out),
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Pending => panic!("the task neither completed nor was cancelled"),
        }
        drop(join);
        assert_eq!(log.future_drops.load(Ordering::SeqCst), 1);
        assert_eq!(log.freed.load(Ordering::SeqCst), 1);
    });
}

/// An unbound task's first `Pending` enters the registry while another
/// thread closes and drains it for shutdown: either the drain finds the task
/// (and cancels it, now or when the poll ends) or the closed registry
/// refuses it (and the poller cancels it). Either way the future is dropped
/// exactly once, with no further poll, and the task is freed exactly once.
#[test]
fn loom_unbound_first_pending_races_shutdown_drain() {
    loom::model(|| {
        let (owner, log, waker_out, mut join) = setup_with(false);
        let drainer = {
            let owner = owner.clone();
            thread::spawn(move || {
                for task in owner.registry.close_and_drain() {
                    task.shutdown();
                }
            })
        };
        run_owner(&owner);
        drainer.join().unwrap();
        assert_eq!(log.future_drops.load(Ordering::SeqCst), 1);
        match noop_poll(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("the task was not cancelled"),
        }
        drop(waker_out.lock().unwrap().take());
        drop(join);
        assert_eq!(log.freed.load(Ordering::SeqCst), 1);
    });
}

/// The trace reads a task's id through a waker on the reactor's thread while
/// the owner polls and completes the task. The id is written once, before
/// the task is shared, so the read needs no synchronisation; the old registry
/// slot it replaces was written by the owner meanwhile (a data race).
#[test]
fn loom_waker_task_id_read_races_the_owner() {
    loom::model(|| {
        let (owner, log, waker_out, join) = setup();
        let id = join.id();
        run_owner(&owner);
        let w = waker_out.lock().unwrap().take().unwrap();
        let reader = thread::spawn(move || {
            assert_eq!(waker_task_id(&w), Some(id));
            w.wake();
        });
        run_owner(&owner);
        reader.join().unwrap();
        run_owner(&owner);
        drop(join);
        assert_eq!(log.freed.load(Ordering::SeqCst), 1);
    });
}
