//! Reliability, shutdown with work in flight (issue 7, item 7).
//!
//! Bug class guarded against: a runtime drop that hangs (a worker parked with
//! nobody to wake it, a drop-flush waiting out its 30 s linger), a task future
//! dropped twice, never, or on the wrong thread (a `!Send` future's contract,
//! and any future's destructor touching thread-local reactor state), a
//! descriptor left open by a cancelled task or an abandoned drop-flush, and a
//! JoinHandle that hangs or reports success for a cancelled task.
//!
//! In flight when the runtime is dropped: 1,000 tasks mid-I/O (250 clients
//! blocked reading, 250 servers blocked reading, 250 servers blocked writing to
//! a client that does not read, 250 such clients asleep), 10,000 pending timers
//! in 100 tasks, and 50 drop-flushes whose peer never reads. Its own binary
//! (descriptor counts).

mod util;

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};
use util::rel::{open_fds, with_deadline};

const PAIRS: usize = 500;
const TIMER_TASKS: usize = 100;
const TIMERS_PER_TASK: usize = 100;
const DROP_FLUSHES: usize = 50;

/// A drop off the runtime's workers: task id, first poller, dropping thread.
type WrongThread = (usize, Option<String>, Option<String>);

/// Drop counts per task id, and the drops that happened on the wrong thread.
struct Log {
    drops: Vec<AtomicU32>,
    started: AtomicUsize,
    wrong_thread: Mutex<Vec<WrongThread>>,
}

/// Lives inside a task's future; remembers the thread of the first poll.
struct Tracker {
    id: usize,
    owner: Option<String>,
    log: Arc<Log>,
}

impl Tracker {
    /// Call at the start of the task's body (its first poll).
    fn start(&mut self) {
        self.owner = std::thread::current().name().map(str::to_owned);
        self.log.started.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.log.drops[self.id].fetch_add(1, Ordering::SeqCst);
        let here = std::thread::current().name().map(str::to_owned);
        // These are `Send` tasks: with work stealing any worker of the runtime
        // may own one when the runtime shuts down, and drop its future. What
        // must never happen is a drop on some other thread (the one dropping
        // the runtime, say). Local tasks keep to their own worker; see
        // tests/runtime_tasks.rs.
        let on_a_worker = here.as_deref().is_some_and(|n| n.starts_with("own-"));
        if !on_a_worker || self.owner.is_none() {
            self.log
                .wrong_thread
                .lock()
                .unwrap()
                .push((self.id, self.owner.clone(), here));
        }
    }
}

#[test]
fn runtime_dropped_with_io_timers_and_drop_flushes_in_flight() {
    let _serial = serial();
    with_deadline(60, || {
        let total = 2 * PAIRS + TIMER_TASKS;
        let log = Arc::new(Log {
            drops: (0..total).map(|_| AtomicU32::new(0)).collect(),
            started: AtomicUsize::new(0),
            wrong_thread: Mutex::default(),
        });
        let tracker = |id| Tracker {
            id,
            owner: None,
            log: log.clone(),
        };
        let baseline = open_fds();
        let rt = kiwi::Builder::new()
            .workers(2)
            .thread_name("own")
            .build()
            .unwrap();
        let m = rt.handle().metrics();
        let mut handles = Vec::new();

        // 1,000 tasks mid-I/O.
        let listener = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stx, srx) = std::sync::mpsc::channel();
        let mut ids = PAIRS..2 * PAIRS;
        let acceptor_log = log.clone();
        let server_ids: Vec<usize> = ids.by_ref().collect();
        let acceptor = rt.spawn(async move {
            let _keep = acceptor_log;
            for id in server_ids {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut t = Tracker {
                    id,
                    owner: None,
                    log: _keep.clone(),
                };
                let _ = stx.send(kiwi::spawn(async move {
                    t.start();
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).await.unwrap();
                    if b[0] == b'R' {
                        // Blocked reading: the client reads but sends nothing more.
                        let _ = s.read(&mut b).await;
                    } else {
                        // Blocked writing: the client never reads.
                        let chunk = vec![7u8; 64 * 1024];
                        while s.write_all(&chunk).await.is_ok() {}
                    }
                    drop(t);
                }));
            }
            std::future::pending::<()>().await
        });
        for id in 0..PAIRS {
            let mut t = tracker(id);
            handles.push(rt.spawn(async move {
                t.start();
                let mut s = AsyncTcpStream::connect(addr).await.unwrap();
                // Tells the server its role: it must not write to a reader.
                let reader = id % 2 == 0;
                s.write_all(if reader { b"R" } else { b"S" }).await.unwrap();
                if reader {
                    let mut b = [0u8; 1];
                    let _ = s.read(&mut b).await; // blocked: the server is silent
                } else {
                    kiwi::time::sleep(Duration::from_secs(3600)).await; // never reads
                }
                drop(t);
            }));
        }
        // 10,000 pending timers, from 1 s to Duration::MAX.
        for j in 0..TIMER_TASKS {
            let mut t = tracker(2 * PAIRS + j);
            handles.push(rt.spawn(async move {
                t.start();
                let sleeps = (0..TIMERS_PER_TASK).map(|k| {
                    let d = match k % 4 {
                        0 => Duration::from_secs(1 + k as u64),
                        1 => Duration::from_secs(600 + k as u64),
                        2 => Duration::from_secs(86_400 * 30),
                        _ => Duration::MAX,
                    };
                    kiwi::time::sleep(d)
                });
                futures_util::future::join_all(sleeps).await;
                drop(t);
            }));
        }
        // 50 drop-flushes whose peer never reads: their bytes stay queued.
        let sink = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
        let sink_addr = sink.local_addr().unwrap();
        let sink_task = rt.spawn(async move {
            let mut held = Vec::new();
            loop {
                let (s, _) = sink.accept().await.unwrap();
                util::rel::set_int_opt(&s, libc::SOL_SOCKET, libc::SO_RCVBUF, 4096);
                held.push(s);
            }
        });
        rt.block_on(async move {
            for _ in 0..DROP_FLUSHES {
                let mut s = AsyncTcpStream::connect(sink_addr).await.unwrap();
                let big = vec![1u8; 4 << 20];
                let _ = kiwi::time::timeout(Duration::from_millis(20), s.write_all(&big)).await;
                assert!(s.queued() > 0, "nothing queued: the drop would not flush");
                drop(s);
            }
        });
        handles.extend(srx.iter().take(PAIRS));
        util::rel::wait_until(Duration::from_secs(20), "every task started", || {
            log.started.load(Ordering::SeqCst) == total
        });
        // Let the writers fill their queues and the readers park.
        std::thread::sleep(Duration::from_millis(100));
        let pending_flushes = m.io().drop_flushes_pending();
        assert_eq!(pending_flushes, DROP_FLUSHES as u64);
        assert!(log.drops.iter().all(|d| d.load(Ordering::SeqCst) == 0));
        let fds_in_flight = open_fds();

        let t0 = Instant::now();
        drop(rt);
        let took = t0.elapsed();

        let abandoned = m.io().drop_flushes_abandoned();
        let drops: Vec<u32> = log.drops.iter().map(|d| d.load(Ordering::SeqCst)).collect();
        let wrong = log.wrong_thread.lock().unwrap().clone();
        let owners_ok = wrong.is_empty();
        // Sockets, epolls and timers are gone with the runtime. The workers'
        // doorbell eventfds are not while JoinHandles live (see
        // `doorbell_eventfd_outlives_runtime_while_join_handles_live`).
        let eventfds_left = eventfds();
        let after_drop = open_fds();
        let (cancelled, completed) = kiwi::block_on(async move {
            let (mut cancelled, mut completed) = (0, 0);
            // handles: clients 0..500, timer tasks 500..600, servers 600..1100.
            for (i, h) in handles.into_iter().enumerate() {
                match h.await {
                    Err(e) if e.is_cancelled() => cancelled += 1,
                    Err(e) => panic!("task failed instead of being cancelled: {e}"),
                    // KNOWN BUG (see `task_completes_during_shutdown_instead_of_being_cancelled`):
                    // an I/O task woken by its peer's cancellation on the other
                    // worker may still run to completion. Tolerated here, counted.
                    Ok(()) if !(PAIRS..PAIRS + TIMER_TASKS).contains(&i) => completed += 1,
                    Ok(()) => panic!("timer task #{i} completed instead of being cancelled"),
                }
            }
            (cancelled, completed)
        });
        let acceptor_cancelled = kiwi::block_on(acceptor).unwrap_err().is_cancelled();
        let sink_cancelled = kiwi::block_on(sink_task).unwrap_err().is_cancelled();
        let after = open_fds();
        eprintln!(
            "shutdown: {total} tracked tasks ({} mid-I/O, {} timers pending), {pending_flushes} \
             drop-flushes pending, {fds_in_flight} descriptors open; drop took {took:?}; \
             {abandoned} drop-flushes abandoned; drops once each: {}; wrong-thread drops: {}; \
             {cancelled} JoinHandles cancelled, {completed} completed during shutdown; fds {baseline} -> {after_drop} (+{eventfds_left} \
             doorbell eventfds while the JoinHandles lived) -> {after} once they were dropped",
            2 * PAIRS,
            TIMER_TASKS * TIMERS_PER_TASK,
            drops.iter().all(|&d| d == 1),
            wrong.len()
        );
        assert!(
            took < Duration::from_secs(1),
            "dropping the runtime took {took:?}"
        );
        assert_eq!(
            abandoned, DROP_FLUSHES as u64,
            "abandoned drop-flushes counted"
        );
        for (id, d) in drops.iter().enumerate() {
            assert_eq!(*d, 1, "task {id}'s future dropped {d} times");
        }
        assert!(
            owners_ok,
            "futures dropped off the runtime's workers: {wrong:?}"
        );
        assert_eq!(cancelled + completed, total);
        assert_eq!(
            completed, 0,
            "tasks completed during shutdown instead of being cancelled"
        );
        assert!(acceptor_cancelled && sink_cancelled);
        if after != baseline || after_drop != baseline {
            util::rel::dump_fds();
        }
        assert_eq!(
            after_drop, baseline,
            "descriptors left after the runtime was dropped"
        );
        assert_eq!(eventfds_left, 0, "worker doorbells outlived the runtime");
        assert_eq!(
            after, baseline,
            "descriptors left after the JoinHandles were dropped"
        );
    });
}

/// The tests here count the process's descriptors, so they run one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Open eventfds of this process.
fn eventfds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().contains("eventfd"))
        })
        .count()
}

/// Regression (found by this suite, fixed by closing the doorbell when its
/// worker exits): each worker's
/// doorbell eventfd lives in `WorkerShared` (runtime/src/worker/shared.rs,
/// field `doorbell`), which every task header references through an `Arc`.
/// A JoinHandle (or a waker) kept after the runtime is dropped therefore keeps
/// its worker's eventfd open, one descriptor per worker, until the last handle
/// goes. Nothing can ring it any more (the remote queue is closed), so the
/// runtime could close it at shutdown. Run alone (descriptor counts are
/// process-wide): `cargo test --test reliability_shutdown -- --ignored`.
#[test]
fn doorbell_eventfd_outlives_runtime_while_join_handles_live() {
    let _serial = serial();
    with_deadline(10, || {
        let baseline = open_fds();
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let handles: Vec<_> = (0..4)
            .map(|_| rt.spawn(std::future::pending::<()>()))
            .collect();
        rt.block_on(kiwi::time::sleep(Duration::from_millis(10)));
        drop(rt);
        let after = open_fds();
        drop(handles);
        assert_eq!(
            after, baseline,
            "descriptors held past the runtime by JoinHandles"
        );
    });
}

/// Regression (found by this suite, fixed by checking the runtime-wide closing
/// flag before every poll): dropping a runtime
/// does not stop every worker from polling before tasks are dropped. Each worker
/// checks its `stop` flag only between batches (runtime/src/worker/mod.rs, the
/// run loop's `self.shared.stop.load(..)` check, after up to
/// MAINTENANCE_INTERVAL polls), then drops its own tasks; meanwhile the other
/// worker keeps polling. A task whose peer (here: the other end of a socket, on
/// the other worker) is dropped by the first worker is woken (EOF) and runs to
/// completion, so its JoinHandle reports `Ok` instead of cancelled. Fix idea:
/// a two-phase shutdown (every worker stops polling, then tasks are dropped),
/// or refuse to poll once `stop` is set. The race needs the workers out of
/// step: it shows under CPU load (the main test above hit it in 5 of 30 runs
/// with a spinning process alongside, always the first server task); idle, this
/// repro may pass.
#[test]
fn task_completes_during_shutdown_instead_of_being_cancelled() {
    let _serial = serial();
    with_deadline(60, || {
        let mut completed = 0;
        for _ in 0..20 {
            let rt = kiwi::Builder::new().workers(2).build().unwrap();
            let listener = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
            let addr = listener.local_addr().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            rt.spawn(async move {
                loop {
                    let (mut s, _) = listener.accept().await.unwrap();
                    let _ = tx.send(kiwi::spawn(async move {
                        let mut b = [0u8; 1];
                        let _ = s.read(&mut b).await; // ends at the peer's EOF
                    }));
                }
            });
            let mut handles: Vec<_> = (0..200)
                .map(|_| {
                    rt.spawn(async move {
                        let mut s = AsyncTcpStream::connect(addr).await.unwrap();
                        let mut b = [0u8; 1];
                        let _ = s.read(&mut b).await; // the server never writes
                    })
                })
                .collect();
            handles.extend(rx.iter().take(200));
            rt.block_on(kiwi::time::sleep(Duration::from_millis(50)));
            drop(rt);
            completed += kiwi::block_on(async move {
                let mut n = 0;
                for h in handles {
                    if h.await.is_ok() {
                        n += 1;
                    }
                }
                n
            });
        }
        assert_eq!(
            completed, 0,
            "tasks completed during shutdown instead of being cancelled"
        );
    });
}

/// A `Send` task enters the runtime's registry only at its first `Pending`
/// (`task::new_send_unbound`), so a task never polled is reachable only
/// through its queue entry. Shutdown must drop such futures too, exactly once,
/// wherever the entry waits: a worker's next-to-run slot, its ring, the shared
/// overflow queue (a ring holds 256), and the remote queues of spawns from
/// outside. Both workers are held inside a task while the runtime is dropped,
/// so none of the 1,000 tasks is ever polled.
#[test]
fn never_polled_tasks_in_every_queue_are_dropped_once_at_shutdown() {
    let _serial = serial();
    with_deadline(60, || {
        const INSIDE: usize = 350; // per worker: slot, ring, and overflow
        const OUTSIDE: usize = 300;
        let total = 2 * INSIDE + OUTSIDE;
        let drops: Arc<Vec<AtomicU32>> = Arc::new((0..total).map(|_| AtomicU32::new(0)).collect());
        let polled = Arc::new(AtomicUsize::new(0));
        struct Counted(usize, Arc<Vec<AtomicU32>>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.1[self.0].fetch_add(1, Ordering::SeqCst);
            }
        }
        let task = |id: usize| {
            let counted = Counted(id, drops.clone());
            let polled = polled.clone();
            async move {
                let _counted = counted;
                polled.fetch_add(1, Ordering::SeqCst);
            }
        };

        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let both_in = Arc::new(std::sync::Barrier::new(3));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let mut handles = Vec::new();
        let (inner_tx, inner_rx) = std::sync::mpsc::channel();
        for w in 0..2 {
            // Spawned from outside: one to each worker's remote queue, which
            // nobody steals from, so each holds its own worker.
            let (both_in, release_rx, inner_tx) =
                (both_in.clone(), release_rx.clone(), inner_tx.clone());
            let spawn_inside: Vec<_> = (0..INSIDE).map(|i| task(w * INSIDE + i)).collect();
            handles.push(rt.spawn(async move {
                both_in.wait();
                let inner: Vec<_> = spawn_inside.into_iter().map(kiwi::spawn).collect();
                inner_tx.send(inner).unwrap();
                // Holds this worker until the runtime is being dropped.
                let _ = release_rx.lock().unwrap().recv();
            }));
        }
        both_in.wait();
        handles.extend((0..OUTSIDE).map(|i| rt.spawn(task(2 * INSIDE + i))));
        for _ in 0..2 {
            handles.extend(inner_rx.recv().unwrap());
        }
        // Let go of the workers only once the drop below has closed the runtime.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(release_tx);
        });
        drop(rt);
        releaser.join().unwrap();

        assert_eq!(
            polled.load(Ordering::SeqCst),
            0,
            "a task ran after shutdown began"
        );
        let wrong: Vec<_> = (0..total)
            .map(|i| (i, drops[i].load(Ordering::SeqCst)))
            .filter(|&(_, n)| n != 1)
            .collect();
        assert!(
            wrong.is_empty(),
            "{} futures not dropped exactly once; the first (id, drops): {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(8)]
        );
        let results = kiwi::block_on(async move {
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await);
            }
            out
        });
        // The two holders completed; every other task was cancelled.
        let cancelled = results
            .iter()
            .filter(|r| r.as_ref().is_err_and(|e| e.is_cancelled()))
            .count();
        assert_eq!(cancelled, total);
    });
}
