//! `Builder`: how many workers, their names, and the trace log.

use std::fmt;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::handle::Handle;
use crate::reactor::Reactor;
use crate::runtime::{worker_main, Runtime, NEXT_RUNTIME_ID};
use crate::trace;
use crate::worker::WorkerShared;

/// Configures and builds a [`Runtime`].
///
/// # Examples
///
/// ```
/// let rt = kiwi_runtime::Builder::new().workers(2).thread_name("my-worker").build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Builder {
    workers: Option<usize>,
    thread_name: String,
    trace: bool,
    trace_sink: Option<Box<dyn io::Write + Send>>,
}

impl Builder {
    /// A builder with the defaults: one worker per available core.
    pub fn new() -> Builder {
        Builder {
            workers: None,
            thread_name: "kiwi-worker".into(),
            trace: false,
            trace_sink: None,
        }
    }

    /// Sets the number of worker threads (at least 1).
    pub fn workers(&mut self, n: usize) -> &mut Builder {
        self.workers = Some(n);
        self
    }

    /// Names the worker threads `NAME-0`, `NAME-1`, … (blocking threads get
    /// `NAME-blocking`).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.thread_name = name.into();
        self
    }

    /// Turns the learners' trace log on (process-wide), written to stderr. The
    /// environment variable `KIWI_TRACE=1` does the same.
    pub fn trace(&mut self, on: bool) -> &mut Builder {
        self.trace = on;
        self
    }

    /// Turns the trace log on, written to `sink` instead of stderr.
    pub fn trace_sink(&mut self, sink: impl io::Write + Send + 'static) -> &mut Builder {
        self.trace = true;
        self.trace_sink = Some(Box::new(sink));
        self
    }

    /// Starts the runtime's worker threads.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `workers(0)`; otherwise the error of creating an
    /// eventfd, an epoll instance or a thread.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let n = match self.workers {
            Some(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "kiwi: workers(0): a runtime needs at least one worker",
                ))
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        self.apply_trace();
        let id = NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed);
        let workers = (0..n)
            .map(|i| WorkerShared::new(i, id).map(Arc::new))
            .collect::<io::Result<Vec<_>>>()?;
        let handle = Handle::from_parts(id, workers, format!("{}-blocking", self.thread_name));
        let mut threads = Vec::with_capacity(n);
        // Every reactor (an epoll fd) is made here, on the calling thread, so that
        // running out of descriptors is an error from `build`, not a worker that
        // silently cannot start.
        let reactors = handle
            .inner
            .workers
            .iter()
            .map(|w| Reactor::for_worker(w, false).map(Arc::new))
            .collect::<io::Result<Vec<_>>>()?;
        for (shared, reactor) in handle.inner.workers.clone().into_iter().zip(reactors) {
            let h = handle.clone();
            let name = format!("{}-{}", self.thread_name, shared.index);
            let spawned = std::thread::Builder::new()
                .name(name)
                .spawn(move || worker_main(shared, h, reactor));
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

    fn apply_trace(&mut self) {
        if self.trace {
            trace::enable(self.trace_sink.take());
        } else {
            trace::enable_from_env();
        }
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .finish()
    }
}
