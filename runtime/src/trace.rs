//! Trace mode for learners: a readable log of what the runtime does.
//!
//! Turn it on with the environment variable `KIWI_TRACE=1` (read when a runtime
//! is built) or with `Builder::trace`. Lines go to stderr, or to the sink given
//! to `Builder::trace_sink`. They cover epoll returns, readiness that woke a task,
//! doorbell writes and skips, timers fired and cascaded, and task spawns, polls and
//! completions. When off, each trace point costs one relaxed load of a global flag
//! and a predictable branch, and formats nothing.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static ON: AtomicBool = AtomicBool::new(false);
static SINK: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

/// True if trace mode is on.
#[inline]
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Writes one line built by `line`, if trace mode is on.
#[inline]
pub fn emit(line: impl FnOnce() -> String) {
    if enabled() {
        write_line(&line());
    }
}

#[cold]
fn write_line(line: &str) {
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("?");
    // A broken sink must not break the runtime: trace output is best effort.
    let _ = match sink.as_mut() {
        Some(w) => writeln!(w, "[kiwi {name}] {line}"),
        None => writeln!(std::io::stderr(), "[kiwi {name}] {line}"),
    };
}

/// Turns trace mode on or off for the whole process (the sink stays as set).
///
/// # Examples
///
/// ```
/// kiwi_runtime::trace::set_enabled(false);
/// assert!(!kiwi_runtime::trace::enabled());
/// ```
pub fn set_enabled(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Turns trace mode on, writing to `sink` (stderr if `None`). Process-wide.
pub(crate) fn enable(sink: Option<Box<dyn Write + Send>>) {
    if let Some(s) = sink {
        *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
    }
    ON.store(true, Ordering::Relaxed);
}

/// Turns trace mode on if `KIWI_TRACE` is set to something other than `0`.
pub(crate) fn enable_from_env() {
    if std::env::var_os("KIWI_TRACE").is_some_and(|v| v != "0" && !v.is_empty()) {
        enable(None);
    }
}

/// How the log names a worker: `worker N`, or `block_on` for a `block_on` thread.
pub(crate) fn worker(index: usize) -> String {
    if index == usize::MAX {
        "block_on".to_string()
    } else {
        format!("worker {index}")
    }
}
