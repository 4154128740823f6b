//! Scheduler stress through the public API only: it must hold on the
//! round-robin scheduler and keep holding once work stealing moves tasks between
//! workers (DESIGN.md, "Spawn placement and work stealing").
//!
//! Bug classes guarded against: an output lost or delivered twice, a future
//! leaked or dropped twice, a lost wake-up (a hang, which the deadlines turn
//! into a failure), a moved task whose socket keeps waiting on a busy worker's
//! reactor, a `spawn_local` future polled or dropped off its thread, and a
//! shutdown that misses a task while spawns race it.
//!
//! Each test prints its seed and puts it in its assertion messages;
//! `KIWI_SEED=0x...` replays the same choices (thread interleavings still vary).
//! `KIWI_STRESS=1` scales the counts up.

mod util;

use std::cell::Cell;
use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle as Thread, ThreadId};
use std::time::{Duration, Instant};

use async_channel::{bounded, Receiver, Sender};
use kiwi::net::AsyncTcpListener;
use kiwi::{Handle, JoinHandle};
use util::rel::{checked_echo_client as client, cpu_load, jitter, jittery_echo as echo};
use util::rel::{lock, scale, seed, spin, with_deadline, Rng, Tally, TallyGuard as Guard};

/// Each test's global deadline, in seconds.
fn deadline() -> u64 {
    scale(60, 300) as u64
}

fn runtime(workers: usize) -> kiwi::Runtime {
    kiwi::Builder::new().workers(workers).build().unwrap()
}

/// `fut`, holding `g` until it completes or is dropped.
async fn guarded<F: Future>(g: Guard, fut: F) -> F::Output {
    let _g = g;
    fut.await
}

/// What the watcher does with a storm task's JoinHandle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Join,
    /// Aborted by the spawner right after `spawn`: Ok or cancelled.
    AbortEarly,
    /// Aborted after a few yields: Ok or cancelled.
    AbortLater,
    /// Aborted once `is_finished`: must still be Ok.
    AbortDone,
    /// Waits on a channel nobody sends to: only the abort ends it, so cancelled.
    AbortPending,
}

/// What a storm task does between two bursts of jitter.
#[derive(Debug)]
enum Shape {
    Leaf,
    FanOut(usize),
    Chain(usize),
    PingPong(u64),
    Partner(Receiver<u64>, Sender<u64>),
    Blocking(usize),
    Pending,
    Notify(Sender<()>),
    Local,
}

/// Where a spawn came from: the root future, a task, a plain thread, a blocking-pool closure.
#[derive(Clone, Copy)]
enum Src {
    Root,
    Task,
    Thread,
    Blocking,
}

#[derive(Default)]
struct Storm {
    ctx: String,
    budget: usize,
    /// Percent of spawns on a worker (or the root) that are `spawn_local`.
    local_pct: usize,
    next_id: AtomicUsize,
    /// Unresolved tasks, plus spawners still running (root, threads, blocking closures).
    outstanding: AtomicUsize,
    /// Per id: fate and shape, for failure messages.
    kind: Vec<OnceLock<String>>,
    delivered: Vec<AtomicU8>,
    by_src: [AtomicUsize; 4],
    /// Per fate: [Ok, cancelled].
    outcomes: [[AtomicUsize; 2]; 5],
    panics: AtomicUsize,
    failures: Mutex<Vec<String>>,
    tally: Arc<Tally>,
    locals: AtomicUsize,
    local_checks: AtomicUsize,
}

impl Storm {
    fn new(ctx: String, budget: usize, local_pct: usize) -> Arc<Storm> {
        let kind = (0..budget).map(|_| OnceLock::new()).collect();
        let delivered = (0..budget).map(|_| AtomicU8::new(0)).collect();
        let s = Storm {
            ctx,
            budget,
            local_pct,
            kind,
            delivered,
            ..Default::default()
        };
        Arc::new(s)
    }

    fn spawned(&self) -> usize {
        self.next_id.load(SeqCst).min(self.budget)
    }

    fn describe(&self, id: usize) -> String {
        format!("task {id} ({})", self.kind[id].get().map_or("?", |s| s))
    }

    fn fail(&self, what: String) {
        lock(&self.failures).push(format!("{}: {what}", self.ctx));
    }

    /// Called at each resume point of a local future.
    fn check_thread(&self, owner: ThreadId) {
        let counter = match std::thread::current().id() == owner {
            true => &self.local_checks,
            false => &self.tally.wrong_thread,
        };
        counter.fetch_add(1, SeqCst);
    }
}

/// Spawns one storm task through `h`, and a task that watches its JoinHandle;
/// false once the budget is spent.
fn spawn_one(st: &Arc<Storm>, h: &Handle, rng: &mut Rng, src: Src, given: Option<Shape>) -> bool {
    let id = st.next_id.fetch_add(1, SeqCst);
    if id >= st.budget {
        return false;
    }
    st.outstanding.fetch_add(1, SeqCst);
    st.by_src[src as usize].fetch_add(1, SeqCst);
    let mut fate = match rng.range(0, 99) {
        0..=5 => Fate::AbortEarly,
        6..=11 => Fate::AbortLater,
        12..=17 => Fate::AbortDone,
        18..=22 => Fate::AbortPending,
        _ => Fate::Join,
    };
    let on_worker = matches!(src, Src::Root | Src::Task); // where spawn_local works
    let shape = match given {
        Some(s) => {
            if fate == Fate::AbortPending {
                fate = Fate::AbortLater;
            }
            s
        }
        None if fate == Fate::AbortPending => Shape::Pending,
        None if on_worker && rng.range(1, 100) <= st.local_pct => Shape::Local,
        None => match rng.range(0, 99) {
            0..=34 => Shape::Leaf,
            35..=54 => Shape::FanOut(rng.range(2, 5)),
            55..=66 => Shape::Chain(rng.range(2, 8)),
            67..=84 => Shape::PingPong(rng.range(1, 12) as u64),
            _ => Shape::Blocking(rng.range(1, 3)),
        },
    };
    let _ = st.kind[id].set(format!("{fate:?}, {shape:?}"));
    let seed = rng.next_u64();
    let jh = if let Shape::Local = shape {
        local_task(st.clone(), id, seed)
    } else {
        let g = st.tally.guard("task", None);
        h.spawn(guarded(g, body(st.clone(), id, shape, seed)))
    };
    if fate == Fate::AbortEarly {
        jh.abort();
    }
    let g = st.tally.guard("watcher", None);
    drop(h.spawn(watch(st.clone(), id, fate, jh, seed, g)));
    true
}

type BoxFuture = Pin<Box<dyn Future<Output = usize> + Send>>;

fn body(st: Arc<Storm>, id: usize, shape: Shape, seed: u64) -> BoxFuture {
    Box::pin(async move {
        let mut rng = Rng::new(seed);
        let h = Handle::current();
        jitter(&mut rng).await;
        match shape {
            Shape::Leaf | Shape::Local => {}
            Shape::FanOut(n) => {
                for _ in 0..n {
                    spawn_one(&st, &h, &mut rng, Src::Task, None);
                }
            }
            Shape::Chain(n) => {
                let next = (n > 1).then(|| Shape::Chain(n - 1));
                spawn_one(&st, &h, &mut rng, Src::Task, next);
            }
            Shape::PingPong(rounds) => {
                let ((to_tx, to_rx), (back_tx, back_rx)) = (bounded(1), bounded(1));
                let partner = Some(Shape::Partner(to_rx, back_tx));
                spawn_one(&st, &h, &mut rng, Src::Task, partner);
                // An aborted partner closes its channels: stop there.
                for i in 0..rounds {
                    if to_tx.send(i).await.is_err() {
                        break;
                    }
                    match back_rx.recv().await {
                        Ok(v) if v == i + 1 => jitter(&mut rng).await,
                        Ok(v) => st.fail(format!("task {id} sent {i}, got {v} back")),
                        Err(_) => break,
                    }
                }
            }
            Shape::Partner(rx, tx) => {
                while let Ok(v) = rx.recv().await {
                    jitter(&mut rng).await;
                    if tx.send(v + 1).await.is_err() {
                        break;
                    }
                }
            }
            Shape::Blocking(n) => {
                // The closure may outlive this task (if it is aborted): it counts
                // as a spawner until it has returned or been dropped.
                struct Done(Arc<Storm>);
                impl Drop for Done {
                    fn drop(&mut self) {
                        self.0.outstanding.fetch_sub(1, SeqCst);
                    }
                }
                st.outstanding.fetch_add(1, SeqCst);
                let (done, s) = (Done(st.clone()), rng.next_u64());
                let res = kiwi::spawn_blocking(move || {
                    let mut rng = Rng::new(s);
                    spin(rng.range(5, 200));
                    for _ in 0..n {
                        spawn_one(&done.0, &Handle::current(), &mut rng, Src::Blocking, None);
                    }
                    n
                });
                match res.await {
                    Ok(v) if v == n => {}
                    other => st.fail(format!("task {id}: spawn_blocking gave {other:?}")),
                }
            }
            Shape::Pending => {
                // Its waker waits in the channel; nothing will ever send.
                let (_tx, rx) = bounded::<()>(1);
                let _ = rx.recv().await;
                st.fail(format!("pending task {id} woke up"));
            }
            Shape::Notify(tx) => {
                let _ = tx.send(()).await;
            }
        }
        jitter(&mut rng).await;
        id
    })
}

/// A `!Send` task (it holds an `Rc`) on this thread; it checks at every
/// resume point, and its guard checks in its drop, that it is on this thread.
fn local_task(st: Arc<Storm>, id: usize, seed: u64) -> JoinHandle<usize> {
    st.locals.fetch_add(1, SeqCst);
    let owner = std::thread::current().id();
    let (g, rc) = (st.tally.guard("local", Some(owner)), Rc::new(Cell::new(0)));
    kiwi::spawn_local(async move {
        let (_g, mut rng, h) = (g, Rng::new(seed), Handle::current());
        for _ in 0..rng.range(1, 4) {
            st.check_thread(owner);
            rc.set(rc.get() + 1);
            match rng.range(0, 2) {
                0 => jitter(&mut rng).await,
                1 => {
                    // Woken by a Send task on another worker (or by its drop).
                    let (tx, rx) = bounded(1);
                    spawn_one(&st, &h, &mut rng, Src::Task, Some(Shape::Notify(tx)));
                    let _ = rx.recv().await;
                }
                _ => {
                    spawn_one(&st, &h, &mut rng, Src::Task, Some(Shape::Local));
                }
            }
        }
        st.check_thread(owner);
        id
    })
}

/// Applies `fate` to `jh`, checks what it resolves to, and records the delivery.
async fn watch(st: Arc<Storm>, id: usize, fate: Fate, jh: JoinHandle<usize>, seed: u64, g: Guard) {
    let mut rng = Rng::new(seed ^ 0x5741_5443_4845_5200);
    if let Fate::AbortLater | Fate::AbortPending = fate {
        for _ in 0..rng.range(0, 6) {
            kiwi::yield_now().await;
        }
        if rng.range(0, 3) == 0 {
            kiwi::time::sleep(Duration::from_millis(1)).await;
        }
        jh.abort_handle().abort();
    } else if fate == Fate::AbortDone {
        while !jh.is_finished() {
            kiwi::time::sleep(Duration::from_micros(rng.range(1, 1000) as u64)).await;
        }
        jh.abort();
    }
    let res = jh.await;
    let cancelled = matches!(&res, Err(e) if e.is_cancelled());
    if matches!(&res, Err(e) if e.is_panic()) {
        st.panics.fetch_add(1, SeqCst);
    }
    let ok = match (&res, fate) {
        (Ok(v), _) => *v == id && fate != Fate::AbortPending,
        (Err(_), Fate::AbortEarly | Fate::AbortLater | Fate::AbortPending) => cancelled,
        (Err(_), Fate::Join | Fate::AbortDone) => false,
    };
    if !ok {
        st.fail(format!("{} resolved to {res:?}", st.describe(id)));
    }
    st.outcomes[fate as usize][cancelled as usize].fetch_add(1, SeqCst);
    st.delivered[id].fetch_add(1, SeqCst);
    // Dropped before the count goes down: once `outstanding` is zero, every
    // future of the storm must already be gone.
    drop(g);
    st.outstanding.fetch_sub(1, SeqCst);
}

/// Two plain threads spawn through a `Handle` (up to `n` tasks each, pausing up
/// to `pause_us` between spawns) until the budget is spent or the runtime is
/// closed. Each counts as outstanding until it returns.
fn spawn_threads(
    st: &Arc<Storm>,
    h: &Handle,
    seed: u64,
    n: usize,
    pause_us: usize,
) -> Vec<Thread<()>> {
    let spawner = |t: u64| {
        let (st, h) = (st.clone(), h.clone());
        st.outstanding.fetch_add(1, SeqCst);
        let mut rng = Rng::new(seed ^ t.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        std::thread::spawn(move || {
            for _ in 0..n {
                if h.is_closed() || !spawn_one(&st, &h, &mut rng, Src::Thread, None) {
                    break;
                }
                match rng.range(0, 3) {
                    0 => std::thread::yield_now(),
                    1 => std::thread::sleep(Duration::from_micros(rng.range(0, pause_us) as u64)),
                    _ => {}
                }
            }
            st.outstanding.fetch_sub(1, SeqCst);
        })
    };
    vec![spawner(1), spawner(2)]
}

/// Runs a storm to completion on `workers` workers; checks every delivery and drop.
fn storm(workers: usize, base: u64, local_pct: usize) -> Arc<Storm> {
    let (t0, seed) = (Instant::now(), base.wrapping_add(workers as u64));
    let ctx = format!("KIWI_SEED={base:#x}, {workers} workers");
    let budget = scale(4000, 40_000);
    let st = Storm::new(ctx.clone(), budget, local_pct);
    let rt = runtime(workers);
    st.outstanding.fetch_add(1, SeqCst); // the root
    let threads = spawn_threads(&st, rt.handle(), seed, budget / 25, 0);
    let mut rng = Rng::new(seed);
    let s = st.clone();
    rt.block_on(async move {
        let h = Handle::current();
        for _ in 0..budget / 20 {
            spawn_one(&s, &h, &mut rng, Src::Root, None);
            if rng.range(0, 6) == 0 {
                kiwi::yield_now().await;
            }
        }
        s.outstanding.fetch_sub(1, SeqCst);
        let start = Instant::now();
        while s.outstanding.load(SeqCst) > 0 {
            if start.elapsed() > Duration::from_secs(deadline() / 2) {
                let stuck: Vec<String> = (0..s.spawned())
                    .filter(|&i| s.delivered[i].load(SeqCst) == 0)
                    .take(12)
                    .map(|i| s.describe(i))
                    .collect();
                let n = s.outstanding.load(SeqCst);
                panic!(
                    "{}: {n} outstanding after {:?} (lost wake-up?): {stuck:?}",
                    s.ctx,
                    start.elapsed()
                );
            }
            kiwi::time::sleep(Duration::from_millis(1)).await;
        }
    });
    threads.into_iter().for_each(|t| t.join().unwrap());
    let spawned = st.spawned();
    let mut problems = lock(&st.failures).clone();
    for i in 0..spawned {
        let n = st.delivered[i].load(SeqCst);
        if n != 1 {
            problems.push(format!("{} delivered {n} times", st.describe(i)));
        }
    }
    let by_src = st.by_src.each_ref().map(|c| c.load(SeqCst));
    if spawned < 1000 || by_src.contains(&0) {
        problems.push("a thin storm: too few tasks, or a spawn path never taken".into());
    }
    let outcomes = st
        .outcomes
        .each_ref()
        .map(|o| o.each_ref().map(|n| n.load(SeqCst)));
    if outcomes[Fate::AbortPending as usize][1] == 0 {
        problems.push("no abort landed".into());
    }
    let summary = format!(
        "{ctx}: {spawned} tasks from root/task/thread/blocking {by_src:?}, [Ok, cancelled] \
         by fate {outcomes:?}, {} of them local",
        st.locals.load(SeqCst)
    );
    let n = problems.len();
    assert!(
        n == 0,
        "{summary}; {n} problems: {:#?}",
        &problems[..n.min(12)]
    );
    st.tally
        .assert_balanced(&format!("{ctx}, every JoinHandle resolved"));
    drop(rt);
    st.tally.assert_balanced(&format!("{ctx}, runtime dropped"));
    eprintln!("{summary}; {:?}", t0.elapsed());
    st
}

/// Thousands of tasks spawned from the root, from tasks (fan-outs, chains,
/// ping-pong partners), from plain threads and from blocking-pool closures,
/// waking each other through channels, yielding and spinning, a quarter of them
/// aborted before their first poll, while pending, at a random moment, or after
/// completing: every output comes back exactly once through its JoinHandle with
/// the right value (abort after completion included), every abort that lands
/// reads as cancelled, and every future is dropped exactly once, by the time its
/// JoinHandle resolves.
#[test]
fn storm_delivers_every_output_once_and_drops_every_future_once() {
    let seed = seed("storm");
    with_deadline(deadline(), move || {
        for workers in [2, 3, 4] {
            storm(workers, seed, 0);
        }
    });
}

/// The same storm with a quarter of the spawns from workers being `!Send`
/// `spawn_local` tasks (some woken from other workers, some aborted from other
/// threads): each is polled and dropped only on the thread that spawned it.
#[test]
fn spawn_local_tasks_stay_on_their_thread_in_a_storm() {
    let seed = seed("spawn_local storm");
    with_deadline(deadline(), move || {
        for workers in [2, 3, 4] {
            let st = storm(workers, seed, 25);
            let (locals, checks) = (st.locals.load(SeqCst), st.local_checks.load(SeqCst));
            assert!(
                locals > 100 && checks > locals,
                "{}: {locals} local tasks, {checks} checks",
                st.ctx
            );
        }
    });
}

type Io = JoinHandle<io::Result<usize>>;

/// Binds a loopback listener and spawns, each future holding a guard of
/// `tally`: a server that accepts `conns` connections, echoes each from its own
/// task, and returns the bytes echoed once all have closed; and `conns` clients
/// that each check `rounds` round trips byte for byte.
async fn echo_pairs(tally: &Arc<Tally>, seed: u64, conns: u64, rounds: usize) -> (Io, Vec<Io>) {
    let listener = AsyncTcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (t, g) = (tally.clone(), tally.guard("acceptor", None));
    let server = kiwi::spawn(async move {
        let (_g, echoed, mut hs) = (g, Arc::new(AtomicUsize::new(0)), Vec::new());
        for i in 0..conns {
            let (s, _) = listener.accept().await?;
            let (g, e) = (t.guard("echo", None), echoed.clone());
            hs.push(kiwi::spawn(guarded(g, echo(s, seed ^ i, e))));
        }
        for h in hs {
            h.await.unwrap()?;
        }
        Ok(echoed.load(SeqCst))
    });
    let client = |i: u64| {
        let g = tally.guard("client", None);
        kiwi::spawn(guarded(g, client(addr, seed.wrapping_add(i), rounds)))
    };
    (server, (0..conns).map(client).collect())
}

/// 64 loopback connections, each served by a task that echoes with random
/// yields and CPU bursts, while CPU-bound tasks spawned from one task keep a
/// worker busy (so that tasks holding registered sockets are stolen, and polled
/// on a worker whose reactor does not hold their sockets):
/// every client gets every byte back unchanged, then a clean EOF; the server
/// echoed exactly the bytes the clients sent; every future is dropped once.
#[test]
fn tasks_holding_sockets_echo_every_byte_while_one_worker_is_loaded() {
    let seed = seed("sockets");
    with_deadline(deadline(), move || {
        for workers in [2, 3, 4] {
            let (t0, ctx) = (
                Instant::now(),
                format!("KIWI_SEED={seed:#x}, {workers} workers"),
            );
            let (rt, tally) = (runtime(workers), Arc::new(Tally::default()));
            let (c, t) = (ctx.clone(), tally.clone());
            let (sent, turns) = rt.block_on(async move {
                let stop = Arc::new(AtomicBool::new(false));
                let load = kiwi::spawn(cpu_load(2 * workers, stop.clone()));
                let (server, clients) = echo_pairs(&t, seed, 64, scale(10, 100)).await;
                let mut sent = 0;
                for (i, client) in clients.into_iter().enumerate() {
                    match client.await {
                        Ok(Ok(n)) => sent += n,
                        other => panic!("{c}: client {i}: {other:?}"),
                    }
                }
                stop.store(true, SeqCst);
                let echoed = server.await.unwrap();
                assert_eq!(echoed.unwrap(), sent, "{c}: bytes echoed");
                (sent, load.await.unwrap())
            });
            assert!(turns > 0, "{ctx}: the CPU load never ran");
            drop(rt);
            tally.assert_balanced(&ctx);
            eprintln!(
                "{ctx}: echoed {sent} bytes, {turns} CPU turns, {:?}",
                t0.elapsed()
            );
        }
    });
}

/// 200 tasks spinning 0.5 to 1.5 ms, all spawned from inside one task: every
/// output comes back exactly once, and every worker polled some of them.
#[test]
fn skewed_load_spawned_from_one_task_finishes_and_every_worker_polls() {
    let seed = seed("skewed");
    with_deadline(deadline(), move || {
        const TASKS: usize = 200;
        for workers in [2, 3, 4] {
            let (t0, ctx) = (
                Instant::now(),
                format!("KIWI_SEED={seed:#x}, {workers} workers"),
            );
            let rt = runtime(workers);
            let m = rt.handle().metrics();
            let before: Vec<u64> = (0..workers).map(|i| m.worker(i).polls()).collect();
            let mut rng = Rng::new(seed.wrapping_add(workers as u64));
            let spins: Vec<usize> = (0..TASKS).map(|_| rng.range(500, 1500)).collect();
            let out = rt.block_on(rt.spawn(async move {
                let task = |i: usize, us| async move {
                    spin(us);
                    (i, std::thread::current().id())
                };
                let hs = spins
                    .into_iter()
                    .enumerate()
                    .map(|(i, us)| kiwi::spawn(task(i, us)));
                let mut out = Vec::new();
                for h in hs.collect::<Vec<_>>() {
                    out.push(h.await.unwrap());
                }
                out
            }));
            let out = out.unwrap();
            let ids: HashSet<usize> = out.iter().map(|&(i, _)| i).collect();
            assert!(
                ids.len() == TASKS && out.len() == TASKS,
                "{ctx}: every output once"
            );
            let threads: HashSet<ThreadId> = out.iter().map(|&(_, t)| t).collect();
            let polls: Vec<u64> = (0..workers).map(|i| m.worker(i).polls()).collect();
            let polls: Vec<u64> = polls.iter().zip(before).map(|(a, b)| a - b).collect();
            // Round-robin placement spreads these spawns over the workers. With
            // work stealing they all start on the spawning task's worker, and the
            // idle workers must steal them: then this also holds for a skewed load.
            let on = threads.len();
            assert_eq!(
                on, workers,
                "{ctx}: the tasks ran on {on} workers; polls per worker {polls:?}"
            );
            assert!(
                polls.iter().all(|&p| p > 0),
                "{ctx}: polls per worker {polls:?}"
            );
            eprintln!(
                "{ctx}: {TASKS} tasks in {:?}, polls per worker {polls:?}",
                t0.elapsed()
            );
        }
    });
}

/// The runtime is dropped 5 to 60 ms into a storm (spawns from plain threads
/// still racing it, tasks pending, local tasks, sockets mid-echo): the drop
/// returns promptly and every future, including those spawned through the
/// `Handle` after the drop began, is dropped exactly once, and local ones on
/// their own thread. Repeated with different seeds and worker counts.
#[test]
fn dropping_the_runtime_mid_storm_drops_every_future_once() {
    let base = seed("shutdown");
    with_deadline(deadline(), move || {
        for rep in 0..scale(6, 30) as u64 {
            let (seed, workers) = (base.wrapping_add(rep), 2 + rep as usize % 3);
            let ctx = format!("KIWI_SEED={base:#x}, round {rep}, {workers} workers");
            let st = Storm::new(ctx.clone(), scale(20_000, 100_000), 15);
            let rt = runtime(workers);
            let threads = spawn_threads(&st, rt.handle(), seed, usize::MAX, 200);
            let mut rng = Rng::new(seed);
            let (s, ms) = (st.clone(), rng.range(5, 60) as u64);
            rt.block_on(async move {
                let h = Handle::current();
                drop(echo_pairs(&s.tally, seed, 16, usize::MAX).await); // never end
                for _ in 0..200 {
                    spawn_one(&s, &h, &mut rng, Src::Root, None);
                }
                kiwi::time::sleep(Duration::from_millis(ms)).await;
            });
            let (live, spawned) = (st.tally.live(), st.spawned());
            assert!(live > 0, "{ctx}: the storm was over before the drop");
            let t0 = Instant::now();
            drop(rt);
            let took = t0.elapsed();
            threads.into_iter().for_each(|t| t.join().unwrap());
            assert!(
                took < Duration::from_secs(5),
                "{ctx}: dropping the runtime took {took:?}"
            );
            assert_eq!(st.panics.load(SeqCst), 0, "{ctx}: tasks panicked");
            st.tally
                .assert_balanced(&format!("{ctx}, runtime dropped after {ms} ms"));
            eprintln!(
                "{ctx}: dropped {ms} ms in, {live} futures alive, {spawned} tasks, in {took:?}"
            );
        }
    });
}
