//! `Builder`: how many workers, their names, and the trace log.

use std::fmt;
use std::io;
use std::sync::atomic::Ordering;

use crate::runtime::{Runtime, NEXT_RUNTIME_ID};
use crate::trace;
use crate::worker::start::{self, Config};

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
        start::pool(Config {
            workers: n,
            thread_name: self.thread_name.clone(),
            runtime_id: NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed),
        })
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
