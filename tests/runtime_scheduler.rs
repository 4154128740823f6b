//! The multi-worker scheduler: where a spawn goes, who steals, what never
//! moves, and the sockets of a stolen task when their worker is stuck.

mod util;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::AsyncTcpListener;
use util::rt::with_deadline;

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

/// Busy-waits for `d` of CPU (a task that never yields).
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// A spawn from inside a task runs on the spawner's worker: no cross-thread
/// hop per spawn (each link of the chain awaits the next, which sits in the
/// next-to-run slot, where nobody else can take it).
#[test]
fn a_spawn_on_a_worker_runs_on_that_worker() {
    with_deadline(20, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let hops = rt.block_on(async {
            kiwi::spawn(async {
                let mut hops = 0;
                for _ in 0..200 {
                    let here = thread_name();
                    let there = kiwi::spawn(async { thread_name() }).await.unwrap();
                    hops += usize::from(here != there);
                }
                hops
            })
            .await
            .unwrap()
        });
        assert_eq!(hops, 0, "spawned tasks hopped to another worker");
        let m = rt.handle().metrics();
        let eventfd: u64 = (0..2).map(|i| m.worker(i).eventfd_writes()).sum();
        assert!(
            eventfd < 20,
            "{eventfd} doorbell writes for 200 local spawns"
        );
    });
}

/// Spawns from outside the pool (here a plain thread) take turns, so every
/// worker gets some: an accept loop on the main thread spreads its connections.
///
/// Placement is what is asserted (each worker's `spawned` count), not where
/// each task ran: a worker that is slow to wake may rightly see idle workers
/// steal from it, and on a loaded machine one once had all 16 of its tasks
/// stolen, so "every worker ran one" failed while placement was right.
#[test]
fn spawns_from_outside_the_pool_reach_every_worker() {
    with_deadline(20, || {
        let rt = kiwi::Builder::new().workers(4).build().unwrap();
        let handle = rt.handle().clone();
        let names = std::thread::spawn(move || {
            let hs: Vec<_> = (0..64)
                .map(|_| handle.spawn(async { thread_name() }))
                .collect();
            kiwi::block_on(async {
                let mut names = HashSet::new();
                for h in hs {
                    names.insert(h.await.unwrap());
                }
                names
            })
        })
        .join()
        .unwrap();
        assert!(
            names.iter().all(|n| n.starts_with("kiwi-worker")),
            "ran on {names:?}"
        );
        let m = rt.handle().metrics();
        for i in 0..4 {
            assert_eq!(m.worker(i).spawned(), 16, "worker {i}'s share");
        }
    });
}

/// A task that yields goes to the back of the queue, behind the tasks already
/// there; it does not take the next-to-run slot, or it would run again at once.
#[test]
fn yield_now_goes_behind_queued_tasks() {
    with_deadline(20, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        let order = rt.block_on(async {
            kiwi::spawn(async {
                let order = Arc::new(Mutex::new(Vec::new()));
                for i in 0..3 {
                    let o = order.clone();
                    drop(kiwi::spawn(async move { o.lock().unwrap().push(i) }));
                }
                order.lock().unwrap().push(100);
                kiwi::yield_now().await;
                order.lock().unwrap().push(200);
                Arc::try_unwrap(order).unwrap().into_inner().unwrap()
            })
            .await
            .unwrap()
        });
        // The spawns ran while the task yielded: the newest from the
        // next-to-run slot first, then the older ones from the queue.
        assert_eq!(order.first(), Some(&100));
        assert_eq!(order.last(), Some(&200));
        assert_eq!(order.len(), 5);
    });
}

/// Two tasks that wake each other through the next-to-run slot cannot keep
/// a third one waiting: the slot is bypassed after a few polls in a row.
#[test]
fn ping_pong_through_the_next_slot_does_not_starve_the_queue() {
    with_deadline(20, || {
        let rt = kiwi::Builder::new().workers(1).build().unwrap();
        rt.block_on(async {
            kiwi::spawn(async {
                let stop = Arc::new(AtomicBool::new(false));
                let (a_tx, a_rx) = async_channel::bounded::<()>(1);
                let (b_tx, b_rx) = async_channel::bounded::<()>(1);
                let s = stop.clone();
                let ping = kiwi::spawn(async move {
                    let mut n = 0u64;
                    while !s.load(Ordering::Relaxed) {
                        a_tx.send(()).await.unwrap();
                        b_rx.recv().await.unwrap();
                        n += 1;
                    }
                    drop(a_tx);
                    n
                });
                let pong = kiwi::spawn(async move {
                    while a_rx.recv().await.is_ok() {
                        if b_tx.send(()).await.is_err() {
                            break;
                        }
                    }
                });
                // This task is the third: it yields to the pair, and must get
                // its turn back while they keep waking each other.
                kiwi::yield_now().await;
                stop.store(true, Ordering::Relaxed);
                let rounds = ping.await.unwrap();
                pong.await.unwrap();
                // With the slot capped at a few polls in a row, the queue gets
                // its turn within a few rounds; uncapped, only after the pair
                // happens to stop (millions of rounds, seconds later).
                assert!(rounds >= 1, "the pair never ran");
                assert!(rounds < 1000, "the yielded task waited {rounds} rounds");
            })
            .await
            .unwrap();
        });
    });
}

/// A skewed load, every task spawned from inside one task on one worker,
/// spreads: the idle worker steals, and the work runs on both threads.
#[test]
fn an_idle_worker_steals_from_a_busy_one() {
    with_deadline(30, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let threads = rt.block_on(async {
            kiwi::spawn(async {
                // Let the other worker go to sleep first: then only a notify
                // from this one can bring it back.
                kiwi::time::sleep(Duration::from_millis(50)).await;
                let hs: Vec<_> = (0..16)
                    .map(|_| {
                        kiwi::spawn(async {
                            spin(Duration::from_millis(5));
                            thread_name()
                        })
                    })
                    .collect();
                let mut threads = HashSet::new();
                for h in hs {
                    threads.insert(h.await.unwrap());
                }
                threads
            })
            .await
            .unwrap()
        });
        assert_eq!(threads.len(), 2, "all the work ran on {threads:?}");
        let m = rt.handle().metrics();
        let steals: u64 = (0..2).map(|i| m.worker(i).steals()).sum();
        let notifies: u64 = (0..2).map(|i| m.worker(i).notifies()).sum();
        assert!(steals >= 1, "no steal recorded");
        assert!(notifies >= 1, "nobody woke the idle worker");
    });
}

/// `spawn_local` tasks are never stolen: while their worker is busy, they
/// wait for it, however idle the other worker is.
#[test]
fn local_tasks_are_never_stolen() {
    with_deadline(30, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let ok = rt.block_on(async {
            kiwi::spawn(async {
                let home = thread_name();
                let ran_elsewhere = Arc::new(AtomicUsize::new(0));
                let hs: Vec<_> = (0..32)
                    .map(|_| {
                        let home = home.clone();
                        let elsewhere = ran_elsewhere.clone();
                        kiwi::spawn_local(async move {
                            let not_send = Rc::new(());
                            kiwi::yield_now().await;
                            drop(not_send);
                            if thread_name() != home {
                                elsewhere.fetch_add(1, Ordering::Relaxed);
                            }
                        })
                    })
                    .collect();
                // Keep this worker busy long enough for a thief to try.
                spin(Duration::from_millis(50));
                for h in hs {
                    h.await.unwrap();
                }
                ran_elsewhere.load(Ordering::Relaxed)
            })
            .await
            .unwrap()
        });
        assert_eq!(ok, 0, "local tasks ran on another worker");
    });
}

/// One run of the blocked-worker scenario: 8 echo connections whose handlers
/// did a round trip (registering their sockets), then are all woken by a task
/// that blocks its worker for 200 ms. Returns, per connection, the thread that
/// registered it, the thread that served it during the block, and the round
/// trip time its client measured then; and the blocked worker's thread.
fn blocked_worker_scenario(
    conns: usize,
    age: Duration,
) -> (Vec<(String, String, Duration)>, String, u64, u64) {
    let rt = kiwi::Builder::new().workers(2).build().unwrap();
    let listener = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let blocking = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(vec![(String::new(), String::new()); conns]));
    let registered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..conns)
        .map(|i| {
            let blocking = blocking.clone();
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut buf = [0u8; 1];
                s.write_all(&[i as u8]).unwrap();
                s.read_exact(&mut buf).unwrap();
                while !blocking.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                // The round trip measured while a worker is blocked.
                std::thread::sleep(Duration::from_millis(20));
                let t0 = Instant::now();
                s.write_all(&[i as u8]).unwrap();
                s.read_exact(&mut buf).unwrap();
                t0.elapsed()
            })
        })
        .collect();
    let (b, s, r) = (blocking.clone(), seen.clone(), registered.clone());
    let blocked = rt.block_on(async move {
        kiwi::spawn(async move {
            let mut gos = Vec::new();
            for _ in 0..conns {
                let (mut conn, _) = listener.accept().await.unwrap();
                let (go_tx, go_rx) = async_channel::bounded::<()>(1);
                gos.push(go_tx);
                let (seen, registered) = (s.clone(), r.clone());
                drop(kiwi::spawn(async move {
                    // The socket registers with the reactor of the thread
                    // that first polls it: this one, in this very poll. (The
                    // thread that finishes the read may be another, if the
                    // task was stolen while it waited for the byte; naming
                    // that one made a_stolen_tasks_old_sockets_follow_it
                    // expect a move that had no reason to happen.)
                    let registered_on = thread_name();
                    let mut buf = [0u8; 1];
                    conn.read_exact(&mut buf).await.unwrap();
                    let i = buf[0] as usize;
                    seen.lock().unwrap()[i].0 = registered_on;
                    conn.write_all(&buf).await.unwrap();
                    registered.fetch_add(1, Ordering::SeqCst);
                    go_rx.recv().await.unwrap();
                    conn.read_exact(&mut buf).await.unwrap();
                    seen.lock().unwrap()[i].1 = thread_name();
                    conn.write_all(&buf).await.unwrap();
                }));
            }
            while r.load(Ordering::SeqCst) < conns {
                kiwi::time::sleep(Duration::from_millis(1)).await;
            }
            // How old the registrations are when their tasks are stolen.
            kiwi::time::sleep(age).await;
            // Wake every handler from here, then block this worker: the
            // handlers that live here are queued on it, and the other worker
            // must steal them to serve their clients.
            for go in &gos {
                go.try_send(()).unwrap();
            }
            b.store(true, Ordering::Release);
            spin(Duration::from_millis(200));
            thread_name()
        })
        .await
        .unwrap()
    });
    let rtts: Vec<Duration> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let seen = seen.lock().unwrap().clone();
    let m = rt.handle().metrics();
    let moves = (0..2).map(|i| m.worker(i).registration_moves()).sum();
    let rescues = (0..2).map(|i| m.worker(i).reactor_rescues()).sum();
    let runs = seen
        .into_iter()
        .zip(rtts)
        .map(|((reg, served), rtt)| (reg, served, rtt))
        .collect();
    (runs, blocked, moves, rescues)
}

/// The runs of the blocked-worker scenario whose handler was registered on the
/// blocked worker and served by the other one.
fn stolen_from<'a>(
    runs: &'a [(String, String, Duration)],
    blocked: &str,
) -> Vec<&'a (String, String, Duration)> {
    runs.iter()
        .filter(|(reg, served, _)| reg == blocked && served != blocked)
        .collect()
}

/// Each of those runs got its echo well within the 200 ms block.
fn assert_echoed_promptly(moved: &[&(String, String, Duration)]) {
    for (reg, served, rtt) in moved {
        assert!(
            *rtt < Duration::from_millis(120),
            "a handler registered on {reg} and served on {served} waited {rtt:?} for its echo"
        );
    }
}

/// Issue 11, item 5: while one worker is blocked for 200 ms inside a poll,
/// the echo replies of connections whose tasks the other worker took are not
/// delayed. Their sockets stay registered with the blocked worker's reactor;
/// the other worker notices that it has not turned it for 2 ms and turns it
/// for it (`runtime/src/worker/rescue.rs`). Without that rescue the echoes
/// wait about 180 ms.
///
/// Which worker blocks, and where each handler registered, depends on the
/// run; the scenario is repeated until the blocked worker held at least two
/// woken handlers (one may sit in its next-to-run slot, which nobody steals).
#[test]
fn a_stolen_tasks_sockets_do_not_wait_for_a_blocked_worker() {
    with_deadline(60, || {
        for attempt in 0..10 {
            let t0 = Instant::now();
            let (runs, blocked, moves, rescues) = blocked_worker_scenario(8, Duration::ZERO);
            let stuck_there = runs.iter().filter(|(reg, _, _)| *reg == blocked).count();
            if stuck_there < 2 {
                continue; // the other worker had them from the start
            }
            let moved = stolen_from(&runs, &blocked);
            assert!(
                !moved.is_empty(),
                "attempt {attempt}: {stuck_there} handlers were queued on the blocked \
                 {blocked}, and none was taken by the other worker: {runs:?}"
            );
            assert_echoed_promptly(&moved);
            assert!(rescues >= 1, "served without a rescue: {runs:?}");
            // The sockets stayed with the blocked worker's reactor (a
            // registration younger than FOLLOW_AFTER, 1 s, never moves).
            if t0.elapsed() < Duration::from_millis(900) {
                assert_eq!(moves, 0, "a stolen task's socket moved epolls");
            }
            return;
        }
        panic!("in 10 attempts the blocked worker never held two handlers");
    });
}

/// A registration older than a second follows the task that made it: the
/// handlers of the blocked-worker scenario, stolen 1.1 s after they
/// registered, take their sockets to the thief's reactor (so a connection
/// first polled on a busy worker is not tied to it for life), and their
/// echoes are not delayed.
#[test]
fn a_stolen_tasks_old_sockets_follow_it() {
    with_deadline(60, || {
        for attempt in 0..10 {
            let age = Duration::from_millis(1100);
            let (runs, blocked, moves, _) = blocked_worker_scenario(8, age);
            let moved = stolen_from(&runs, &blocked);
            if moved.is_empty() {
                continue; // no handler of the blocked worker was stolen
            }
            assert!(
                moves >= moved.len() as u64,
                "attempt {attempt}: {} stolen handlers, {moves} registration moves",
                moved.len()
            );
            assert_echoed_promptly(&moved);
            return;
        }
        panic!("in 10 attempts no handler of the blocked worker was stolen");
    });
}

/// The rescue when no worker is parked: one worker is blocked for 200 ms
/// inside a poll while the other is kept busy by tasks that only yield (so it
/// never parks, and no watcher exists). A connection whose socket is
/// registered with the blocked worker must still get its echo promptly: the
/// busy worker looks at its sibling's reactor at its fairness ticks and
/// rescues it (`runtime/src/worker/rescue.rs`).
#[test]
fn a_busy_worker_rescues_a_blocked_siblings_sockets() {
    with_deadline(60, || {
        for attempt in 0..10 {
            let rt = kiwi::Builder::new().workers(2).build().unwrap();
            let listener = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
            let addr = listener.local_addr().unwrap();
            let (blocking, stop) = (
                Arc::new(AtomicBool::new(false)),
                Arc::new(AtomicBool::new(false)),
            );
            let (b, st) = (blocking.clone(), stop.clone());
            let started = blocking.clone();
            let client = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut buf = [0u8; 1];
                s.write_all(b"a").unwrap();
                s.read_exact(&mut buf).unwrap();
                while !started.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(20));
                let t0 = Instant::now();
                s.write_all(b"b").unwrap();
                s.read_exact(&mut buf).unwrap();
                t0.elapsed()
            });
            // (worker that registered the socket, worker that blocked,
            //  workers the yielders ran on, worker that served the echo)
            let seen = Arc::new(Mutex::new((
                String::new(),
                String::new(),
                HashSet::new(),
                String::new(),
            )));
            let s2 = seen.clone();
            rt.block_on(async move {
                let (mut conn, _) = listener.accept().await.unwrap();
                let handler = kiwi::spawn(async move {
                    let mut buf = [0u8; 1];
                    conn.read_exact(&mut buf).await.unwrap();
                    s2.lock().unwrap().0 = thread_name();
                    conn.write_all(&buf).await.unwrap();
                    // Block this worker from a task of its own, after
                    // giving the other worker tasks that keep it busy.
                    let (s3, b2, st2) = (s2.clone(), b.clone(), st.clone());
                    drop(kiwi::spawn(async move {
                        for _ in 0..4 {
                            let (s4, st3) = (s3.clone(), st2.clone());
                            drop(kiwi::spawn(async move {
                                while !st3.load(Ordering::Acquire) {
                                    s4.lock().unwrap().2.insert(thread_name());
                                    kiwi::yield_now().await;
                                }
                            }));
                        }
                        // Let the sibling steal some yielders first.
                        spin(Duration::from_millis(5));
                        s3.lock().unwrap().1 = thread_name();
                        b2.store(true, Ordering::Release);
                        spin(Duration::from_millis(200));
                    }));
                    conn.read_exact(&mut buf).await.unwrap();
                    s2.lock().unwrap().3 = thread_name();
                    conn.write_all(&buf).await.unwrap();
                });
                handler.await.unwrap();
            });
            let rtt = client.join().unwrap();
            stop.store(true, Ordering::Release);
            let (registered, blocked, yielders, served) = seen.lock().unwrap().clone();
            let m = rt.handle().metrics();
            let rescues: u64 = (0..2).map(|i| m.worker(i).reactor_rescues()).sum();
            drop(rt);
            if registered != blocked || !yielders.iter().any(|w| *w != blocked) {
                continue; // the layout this test needs did not happen
            }
            assert_ne!(
                served, blocked,
                "attempt {attempt}: served by the blocked worker"
            );
            assert!(rescues >= 1, "attempt {attempt}: no rescue");
            assert!(
                rtt < Duration::from_millis(120),
                "attempt {attempt}: the echo waited {rtt:?} for a blocked worker"
            );
            return;
        }
        panic!("in 10 attempts the socket never sat on the blocked worker with the other one busy");
    });
}

/// A burst of readiness after the runtime was idle, whose last task then
/// blocks its worker for 200 ms: the rest of the burst, queued on that
/// worker's ring, must be shared at once. Edges wake no sibling while a parked
/// sibling watches (it is up within 2 ms and steals); after idleness nobody
/// watches, so the burst must wake one (`Worker::schedule_next`). Without
/// that, the other echoes wait out the whole block.
#[test]
fn a_burst_after_idleness_is_shared_before_its_worker_blocks() {
    with_deadline(60, || {
        const CONNS: usize = 9;
        let rt = kiwi::Builder::new()
            .workers(2)
            .thread_name("burst")
            .build()
            .unwrap();
        let listener = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        // Per connection, the worker that polled its first read (where its
        // socket is registered, so where its edges arrive).
        let home = Arc::new(Mutex::new(vec![String::new(); CONNS]));
        let h = home.clone();
        rt.spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                let home = h.clone();
                drop(kiwi::spawn(async move {
                    let mut b = [0u8; 1];
                    conn.read_exact(&mut b).await.unwrap();
                    home.lock().unwrap()[b[0] as usize] = thread_name();
                    conn.write_all(&b).await.unwrap();
                    while conn.read_exact(&mut b).await.is_ok() {
                        if b[0] == b'B' {
                            spin(Duration::from_millis(200));
                        }
                        conn.write_all(&b).await.unwrap();
                    }
                }));
            }
        });
        let mut clients: Vec<_> = (0..CONNS)
            .map(|i| {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s.set_nodelay(true).unwrap();
                s.write_all(&[i as u8]).unwrap();
                s.read_exact(&mut [0u8; 1]).unwrap();
                s
            })
            .collect();
        // The worker holding most sockets; one of them will block it.
        let home = home.lock().unwrap().clone();
        let busiest = home
            .iter()
            .max_by_key(|w| home.iter().filter(|x| x == w).count())
            .unwrap()
            .clone();
        let mut mine: Vec<usize> = (0..CONNS).filter(|&i| home[i] == busiest).collect();
        let blocker = mine.pop().unwrap();
        assert!(mine.len() >= 4, "pigeonhole: {home:?}");
        // Idle long enough that no parked worker watches any more.
        std::thread::sleep(Duration::from_millis(50));
        // The burst: the others first, the blocker last, so that its task is
        // the one in the next-to-run slot when the edges are dispatched.
        let t0 = Instant::now();
        for &i in &mine {
            clients[i].write_all(b"x").unwrap();
        }
        clients[blocker].write_all(b"B").unwrap();
        let mut late = Vec::new();
        for &i in &mine {
            clients[i].read_exact(&mut [0u8; 1]).unwrap();
            let rtt = t0.elapsed();
            if rtt >= Duration::from_millis(120) {
                late.push((i, rtt));
            }
        }
        clients[blocker].read_exact(&mut [0u8; 1]).unwrap();
        assert!(
            late.is_empty(),
            "echoes waited for the blocked worker: {late:?}"
        );
        drop(clients);
        drop(rt);
    });
}

/// The rescue after idleness: both workers are parked, with nothing to do,
/// when a byte wakes one of them, and the one task it wakes blocks that
/// worker for 300 ms. Another connection, whose socket is registered there,
/// must still get its echo promptly. Nobody was watching (nobody was awake
/// to watch), so the worker that woke sets the runtime's alarm on its way
/// out of `epoll_wait`: a timer in every worker's epoll that wakes one parked
/// sibling 2 ms later, which then watches and rescues (`rescue.rs`). Without
/// the alarm the echo waits out the whole block.
#[test]
fn a_worker_stuck_right_after_the_runtime_was_idle_is_rescued() {
    with_deadline(60, || {
        for attempt in 0..10 {
            let rt = kiwi::Builder::new().workers(2).build().unwrap();
            let (rtt, layout) = util::stuck::stuck_after_idle(&rt);
            let m = rt.handle().metrics();
            let rescues: u64 = (0..2).map(|i| m.worker(i).reactor_rescues()).sum();
            drop(rt);
            if !layout {
                continue; // the layout this test needs did not happen
            }
            assert!(
                rtt < Duration::from_millis(150),
                "attempt {attempt}: the echo waited {rtt:?} for a worker blocked \
                 right after the runtime was idle ({rescues} rescues)"
            );
            assert!(rescues >= 1, "attempt {attempt}: served without a rescue");
            return;
        }
        panic!("in 10 attempts both sockets never sat on the worker that blocked");
    });
}

/// Regression (found in review of the alarm): a worker woken by the alarm
/// on an idle runtime found nothing to run, yet saw nobody watching and
/// armed the alarm again, so an idle runtime woke a worker every 2 ms
/// forever (463 parks a second). An idle runtime must stay asleep: after a
/// burst of work and a moment to settle, no worker parks again for 500 ms.
#[test]
fn an_idle_runtime_stays_asleep_after_work() {
    with_deadline(20, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        // Work on both workers, each of which arms the alarm as it wakes.
        rt.block_on(async {
            let hs: Vec<_> = (0..64)
                .map(|_| kiwi::spawn(async { spin(Duration::from_micros(200)) }))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        let m = rt.handle().metrics();
        let parks = || (0..2).map(|i| m.worker(i).parks()).sum::<u64>();
        // The alarm set by that work expires within 2 ms, and its wake-up
        // parks once more; the watcher's 2 ms turns end as the work does.
        std::thread::sleep(Duration::from_millis(100));
        let before = parks();
        std::thread::sleep(Duration::from_millis(500));
        let woke = parks() - before;
        assert!(woke <= 2, "an idle runtime parked {woke} times in 500 ms");
    });
}
