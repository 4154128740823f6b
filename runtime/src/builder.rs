//! `Builder`: how many workers, their names and hooks, the blocking pool's
//! limits, the fairness interval, and the trace log.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::blocking::{Hooks, PoolConfig, KEEP_ALIVE, MAX_THREADS};
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
    trace_json: Option<PathBuf>,
    trace_json_capacity: Option<usize>,
    hooks: Hooks,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
    event_interval: u32,
}

impl Builder {
    /// A builder with the defaults: one worker per available core, at most
    /// 512 blocking threads kept 10 s when idle, a fairness look every 61
    /// polls.
    pub fn new() -> Builder {
        Builder {
            workers: None,
            thread_name: "kiwi-worker".into(),
            trace: false,
            trace_sink: None,
            trace_json: None,
            trace_json_capacity: None,
            hooks: Hooks::default(),
            max_blocking_threads: MAX_THREADS,
            thread_keep_alive: KEEP_ALIVE,
            event_interval: crate::worker::EVENT_INTERVAL,
        }
    }

    /// Runs `f` on every thread of the runtime (workers and blocking-pool
    /// threads) when it starts, before it runs any task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let rt = kiwi_runtime::Builder::new()
    ///     .workers(2)
    ///     .on_thread_start(move || { s.fetch_add(1, Ordering::SeqCst); })
    ///     .build()?;
    /// rt.block_on(async { kiwi_runtime::spawn_blocking(|| ()).await.unwrap() });
    /// drop(rt);
    /// assert_eq!(started.load(Ordering::SeqCst), 3); // two workers, one blocking thread
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_thread_start(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Builder {
        self.hooks.on_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on every thread of the runtime when it stops, after it ran
    /// its last task (also when the thread unwinds).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let s = stopped.clone();
    /// let rt = kiwi_runtime::Builder::new()
    ///     .workers(2)
    ///     .on_thread_stop(move || { s.fetch_add(1, Ordering::SeqCst); })
    ///     .build()?;
    /// drop(rt); // joins the workers
    /// assert_eq!(stopped.load(Ordering::SeqCst), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_thread_stop(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Builder {
        self.hooks.on_stop = Some(Arc::new(f));
        self
    }

    /// The most threads the blocking pool runs at once (default 512); more
    /// `spawn_blocking` jobs wait in its queue. `build` refuses 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().max_blocking_threads(1).build()?;
    /// let a = rt.spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(20)));
    /// let b = rt.spawn_blocking(|| ());
    /// assert_eq!(rt.handle().metrics().num_blocking_threads(), 1);
    /// rt.block_on(async { a.await.unwrap(); b.await.unwrap() });
    /// assert!(kiwi_runtime::Builder::new().max_blocking_threads(0).build().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it exits
    /// (default 10 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kiwi_runtime::Builder::new()
    ///     .thread_keep_alive(Duration::from_millis(10))
    ///     .build()?;
    /// rt.block_on(async { kiwi_runtime::spawn_blocking(|| ()).await.unwrap() });
    /// std::thread::sleep(Duration::from_millis(200));
    /// assert_eq!(rt.handle().metrics().num_blocking_threads(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.thread_keep_alive = keep_alive;
        self
    }

    /// Task polls between two looks of a worker at its remote queue's
    /// arrivals, its reactor (without waiting) and its timers, and at the
    /// runtime's shared queue first (default 61, as in tokio and Go). Lower
    /// hears sockets and timers sooner on a busy worker and costs more
    /// `epoll_wait` calls; `build` refuses 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().event_interval(31).build()?;
    /// assert_eq!(rt.block_on(async { 1 }), 1);
    /// assert!(kiwi_runtime::Builder::new().event_interval(0).build().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn event_interval(&mut self, polls: u32) -> &mut Builder {
        self.event_interval = polls;
        self
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

    /// Records the runtime's timeline (process-wide, like `KIWI_TRACE=json:PATH`)
    /// and writes it to `path` as Chrome trace-event JSON: one track per
    /// thread, a slice per task poll, instants for parks, wakes, steals,
    /// eventfd writes, epoll returns and timer firings, and an arrow from
    /// each wake to the poll it caused. Open it in Perfetto
    /// (ui.perfetto.dev) or `chrome://tracing`, or draw it with
    /// `cargo run -p kiwi-timeline -- PATH`.
    ///
    /// The file is rewritten every second while events arrive, and when the
    /// runtime shuts down. If `path` cannot be written, `build` says so once
    /// on stderr and the runtime runs untraced.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("kiwi-doc-{}.json", std::process::id()));
    /// let rt = kiwi_runtime::Builder::new().workers(2).trace_json(&path).build()?;
    /// rt.block_on(async { kiwi_runtime::spawn(async { 1 }).await.unwrap() });
    /// drop(rt);
    /// let json = std::fs::read_to_string(&path)?;
    /// // The spawned task ran on one of the two workers, which got a lane.
    /// assert!(json.contains("\"name\":\"worker "));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn trace_json(&mut self, path: impl Into<PathBuf>) -> &mut Builder {
        self.trace_json = Some(path.into());
        self
    }

    /// How many events the timeline keeps (default 262 144, a file of at most
    /// about 60 MB): beyond it the oldest are dropped, and the file records
    /// how many (`otherData.kiwi_dropped_events`). Takes effect with
    /// [`trace_json`](Builder::trace_json).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("kiwi-doc-cap-{}.json", std::process::id()));
    /// let rt = kiwi_runtime::Builder::new().trace_json(&path).trace_json_capacity(10).build()?;
    /// drop(rt);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn trace_json_capacity(&mut self, events: usize) -> &mut Builder {
        self.trace_json_capacity = Some(events);
        self
    }

    /// Starts the runtime's worker threads.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `workers(0)`, `max_blocking_threads(0)` or
    /// `event_interval(0)`; otherwise the error of creating an eventfd, an
    /// epoll instance or a thread.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let invalid = |what: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        let n = match self.workers {
            Some(0) => return invalid("kiwi: workers(0): a runtime needs at least one worker"),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if self.max_blocking_threads == 0 {
            return invalid(
                "kiwi: max_blocking_threads(0): spawn_blocking needs at least one thread",
            );
        }
        if self.event_interval == 0 {
            return invalid("kiwi: event_interval(0): the interval counts polls, at least 1");
        }
        self.apply_trace();
        start::pool(Config {
            workers: n,
            thread_name: self.thread_name.clone(),
            runtime_id: NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed),
            hooks: self.hooks.clone(),
            blocking: PoolConfig {
                thread_name: format!("{}-blocking", self.thread_name),
                max_threads: self.max_blocking_threads,
                keep_alive: self.thread_keep_alive,
                hooks: self.hooks.clone(),
            },
            event_interval: self.event_interval,
        })
    }

    fn apply_trace(&mut self) {
        if self.trace {
            trace::enable(self.trace_sink.take());
        } else {
            trace::enable_from_env();
        }
        // After the environment's: the builder's path wins.
        if let Some(path) = self.trace_json.take() {
            trace::start_json(path, self.trace_json_capacity);
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
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("event_interval", &self.event_interval)
            .finish_non_exhaustive()
    }
}
