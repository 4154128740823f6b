//! Worker start-up, in one place: the pool's threads (`Builder::build`), the
//! one-worker runtime of `kiwi::block_on`, and the worker a `block_on` runs on
//! the calling thread. `Builder`, `Runtime` and `Handle` only configure and
//! hand out; everything that creates a worker is here.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;

use super::alarm::Alarm;
use super::{Worker, WorkerRemote};
use crate::blocking::{Hooks, PoolConfig};
use crate::handle::Handle;
use crate::reactor::Reactor;
use crate::runtime::Runtime;
use crate::{context, trace};

/// What `Builder::build` decided.
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) thread_name: String,
    pub(crate) runtime_id: u64,
    pub(crate) hooks: Hooks,
    pub(crate) blocking: PoolConfig,
    pub(crate) event_interval: u32,
}

/// Starts a pool of `config.workers` threads.
pub(crate) fn pool(config: Config) -> io::Result<Runtime> {
    let mut shared = Vec::with_capacity(config.workers);
    let mut rings = Vec::with_capacity(config.workers);
    for i in 0..config.workers {
        let (s, ring) = WorkerRemote::new(i, config.runtime_id)?;
        shared.push(Arc::new(s));
        rings.push(ring);
    }
    let handle = Handle::from_parts(
        config.runtime_id,
        shared,
        config.blocking,
        config.event_interval,
    );
    // Every reactor (an epoll fd) is made here, on the calling thread, so that
    // running out of descriptors is an error from `build`, not a worker that
    // silently cannot start.
    let reactors = handle
        .inner
        .workers
        .iter()
        .map(|w| Reactor::for_worker(w, false).map(Arc::new))
        .collect::<io::Result<Vec<_>>>()?;
    for (w, r) in handle.inner.workers.iter().zip(&reactors) {
        w.set_reactor(r);
    }
    // Siblings watch each other; the alarm covers the moment after idleness
    // when nobody is awake to (`alarm.rs`). One timer in every epoll.
    if reactors.len() >= 2 {
        let alarm = Alarm::new()?;
        for r in &reactors {
            alarm.add_to(r)?;
        }
        let _ = handle.inner.watcher.alarm.set(alarm);
    }
    let mut threads = Vec::with_capacity(config.workers);
    let parts = handle
        .inner
        .workers
        .clone()
        .into_iter()
        .zip(rings)
        .zip(reactors);
    for ((shared, ring), reactor) in parts {
        let h = handle.clone();
        let hooks = config.hooks.clone();
        let name = format!("{}-{}", config.thread_name, shared.index);
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            // Dropped last: on_thread_stop runs after the worker shut down.
            let _hooks = hooks.enter();
            trace::set_role(trace::Role::Worker(shared.index));
            let worker = Rc::new(Worker::new(shared, ring, h, reactor));
            let _context = context::enter_worker(&worker);
            // Shut down even if the loop unwinds (a foreign waker that panics
            // inside the reactor), so that every task is still dropped.
            let _shutdown = ShutdownOnDrop(&worker);
            worker.run::<std::future::Pending<()>>(None);
        });
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                // Stop the ones already started before reporting the error.
                drop(Runtime::from_parts(handle, threads));
                return Err(e);
            }
        }
    }
    Ok(Runtime::from_parts(handle, threads))
}

/// A one-worker runtime whose only worker will be the calling thread
/// (`kiwi::block_on`), and that worker's shared half and ring.
pub(crate) fn current_thread(runtime_id: u64) -> io::Result<(Handle, Arc<WorkerRemote>, Ring)> {
    let (shared, ring) = WorkerRemote::new(0, runtime_id)?;
    let shared = Arc::new(shared);
    let handle = Handle::from_parts(
        runtime_id,
        vec![shared.clone()],
        PoolConfig::named("kiwi-blocking".into()),
        super::EVENT_INTERVAL,
    );
    Ok((handle, shared, ring))
}

/// The owner's end of a worker's run queue.
pub(crate) type Ring = crate::task::ring::Local<super::SendTask>;

/// Runs `future` on the calling thread with a fresh worker; `own` is that
/// worker when it belongs to the pool (`kiwi::block_on`'s one-worker runtime),
/// `None` for `Runtime::block_on`, whose thread gets a worker of its own,
/// outside the pool.
pub(crate) fn block_on<F: Future>(
    handle: &Handle,
    future: F,
    own: Option<(Arc<WorkerRemote>, Ring)>,
) -> F::Output {
    if context::with_worker(|w| w.is_some()) {
        panic!(
            "kiwi: block_on called on a thread that already runs a kiwi worker or block_on; \
             it would block that thread's tasks. Use .await instead, or spawn_blocking for a \
             thread that may block"
        );
    }
    let (shared, ring) = match own {
        Some(own) => own,
        None => {
            let (s, ring) = WorkerRemote::new(usize::MAX, handle.inner.id)
                .expect("kiwi: block_on could not create its eventfd");
            (Arc::new(s), ring)
        }
    };
    let reactor = Reactor::for_worker(&shared, true)
        .expect("kiwi: block_on could not create its epoll instance");
    let worker = Rc::new(Worker::new(shared, ring, handle.clone(), Arc::new(reactor)));
    let _context = context::enter_worker(&worker);
    trace::set_role(trace::Role::BlockOn);
    let future = pin!(future);
    // Local tasks still on this thread are dropped before returning, and also
    // when the root future panics: otherwise a `spawn_local` task whose waker
    // lives on another thread would be freed (and its `!Send` future dropped)
    // there, by the last waker.
    let shutdown = ShutdownOnDrop(&worker);
    let out = worker.run(Some(future));
    drop(shutdown);
    out.expect("the loop only returns when the root future is ready")
}

/// Shuts a worker down when dropped, on the normal path and on unwind alike.
struct ShutdownOnDrop<'a>(&'a Worker);

impl Drop for ShutdownOnDrop<'_> {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}
