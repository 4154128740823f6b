//! Trace mode: the runtime tells you what it does, as a log or as a timeline.
//!
//! There are two outputs, and either, both or neither may be on:
//!
//! - **The text log** (`KIWI_TRACE=1`, `Builder::trace`, `Builder::trace_sink`):
//!   one line per event, `[kiwi NAME] worker 0: polling task 3`, on stderr or
//!   the sink. It reads well for one spawn and badly for a thousand.
//! - **The timeline** (`KIWI_TRACE=json:PATH`, `Builder::trace_json`): the
//!   same events, each with a timestamp, the thread's track and the task id,
//!   written as Chrome trace-event JSON that Perfetto (ui.perfetto.dev) and
//!   `chrome://tracing` open as they are, and that the `kiwi-timeline` tool
//!   draws as an SVG picture. A poll is a slice named by its task; a park, a
//!   wake, a steal, an eventfd write, an epoll return and a timer firing are
//!   instants; an arrow leads from each wake (or spawn) to the poll it caused.
//!
//! # What it costs
//!
//! Every trace point in the runtime is written as
//!
//! ```text
//! if trace::enabled() { ...build and record the event... }
//! ```
//!
//! and `enabled` is one relaxed load of a global byte. With tracing off that
//! is the whole cost: a load that stays in cache and a branch the CPU learns
//! never to take (`docs/BENCHMARKS.md` measures it on B1 and B4). Nothing is
//! formatted, no clock is read.
//!
//! # How the timeline is collected without slowing the workers down
//!
//! A worker must never wait for a disk. Each thread appends its events to a
//! buffer of its own (`event.rs`: no lock, no syscall but the clock read);
//! a full buffer, or the thread's exit, hands the whole buffer to a collector
//! thread over a channel (`collector.rs`). The collector keeps the newest
//! events in a bounded ring, so that a long run cannot fill memory or the disk:
//! the oldest are dropped, and the file says how many. It writes the file
//! (`chrome.rs`) every second while events arrive, and when a runtime shuts
//! down, which waits for that write, on the thread that drops the runtime.
//!
//! Tracing is process-wide, like the environment variable that turns it on:
//! every runtime of the process records into the same file, one track per
//! thread.

mod chrome;
mod collector;
mod event;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

pub(crate) use collector::start_json;
pub use collector::{finish, flush};
pub(crate) use event::{now, record, record_span, set_role, thread_exit, Kind, Role};

/// The text log is on.
const TEXT: u8 = 1;
/// The timeline is recorded.
const JSON: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(0);
static SINK: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

/// True if trace mode is on: the text log, the timeline, or both.
///
/// # Examples
///
/// ```
/// kiwi_runtime::trace::set_enabled(false);
/// assert!(!kiwi_runtime::trace::enabled());
/// ```
#[inline]
pub fn enabled() -> bool {
    MODE.load(Ordering::Relaxed) != 0
}

/// True if the timeline records (read only behind [`enabled`]).
#[inline]
fn json_on() -> bool {
    MODE.load(Ordering::Relaxed) & JSON != 0
}

/// Writes one line built by `line`, if the text log is on.
#[inline]
pub fn emit(line: impl FnOnce() -> String) {
    if enabled() && MODE.load(Ordering::Relaxed) & TEXT != 0 {
        write_line(&line());
    }
}

/// A trace point: records the event `kind` on the timeline and writes the
/// line built by `line` to the text log, whichever is on. Off, this is one
/// relaxed load.
#[inline]
pub(crate) fn point(kind: Kind, task: u64, a: u32, b: u32, line: impl FnOnce() -> String) {
    if enabled() {
        record(kind, task, a, b);
        if MODE.load(Ordering::Relaxed) & TEXT != 0 {
            write_line(&line());
        }
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

/// Turns the text log on or off for the whole process (the sink stays as set;
/// a timeline being recorded goes on).
///
/// # Examples
///
/// ```
/// kiwi_runtime::trace::set_enabled(false);
/// assert!(!kiwi_runtime::trace::enabled());
/// ```
pub fn set_enabled(on: bool) {
    if on {
        MODE.fetch_or(TEXT, Ordering::Relaxed);
    } else {
        MODE.fetch_and(!TEXT, Ordering::Relaxed);
    }
}

/// Turns the text log on, writing to `sink` (stderr if `None`). Process-wide.
pub(crate) fn enable(sink: Option<Box<dyn Write + Send>>) {
    if let Some(s) = sink {
        *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
    }
    MODE.fetch_or(TEXT, Ordering::Relaxed);
}

/// Turns the timeline on or off (the collector has its file).
fn set_json(on: bool) {
    if on {
        MODE.fetch_or(JSON, Ordering::Relaxed);
    } else {
        MODE.fetch_and(!JSON, Ordering::Relaxed);
    }
}

/// What `KIWI_TRACE` asks for.
#[derive(Debug, PartialEq, Eq)]
enum EnvMode {
    Off,
    Text,
    Json(PathBuf),
}

/// The values `KIWI_TRACE` accepts, for the error message.
const ACCEPTED: &str = "`1` (text log on stderr), `json:PATH` (Chrome trace-event JSON \
                       timeline written to PATH), `0` or unset (off)";

/// Reads `KIWI_TRACE`: `Err` names the value it did not understand.
fn parse_env(value: Option<&std::ffi::OsStr>) -> Result<EnvMode, String> {
    let Some(value) = value else {
        return Ok(EnvMode::Off);
    };
    let text = value.to_string_lossy();
    match &*text {
        "" | "0" => Ok(EnvMode::Off),
        "1" => Ok(EnvMode::Text),
        _ => match text.strip_prefix("json:") {
            Some(path) if !path.is_empty() => {
                // Keep non-UTF-8 paths intact: strip the prefix from the bytes.
                use std::os::unix::ffi::OsStrExt;
                let bytes = &value.as_bytes()["json:".len()..];
                Ok(EnvMode::Json(PathBuf::from(std::ffi::OsStr::from_bytes(
                    bytes,
                ))))
            }
            _ => Err(format!(
                "kiwi: KIWI_TRACE={text:?} is not understood; accepted values: {ACCEPTED}. \
                 Running untraced."
            )),
        },
    }
}

/// Applies `KIWI_TRACE`, once per process: a bad value or an unwritable path
/// is reported once on stderr, and the runtime runs untraced.
pub(crate) fn enable_from_env() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(
        || match parse_env(std::env::var_os("KIWI_TRACE").as_deref()) {
            Ok(EnvMode::Off) => {}
            Ok(EnvMode::Text) => enable(None),
            Ok(EnvMode::Json(path)) => start_json(path, None),
            Err(message) => report(&message),
        },
    );
}

/// A configuration error, said once on stderr: trace mode is opt-in, and a
/// runtime that refused to start over it would be worse than one untraced.
fn report(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// How the log names a worker: `worker N`, or `block_on` for a `block_on` thread.
pub(crate) fn worker(index: usize) -> String {
    if index == usize::MAX {
        "block_on".to_string()
    } else {
        format!("worker {index}")
    }
}

/// A worker index as an event field (`u32::MAX` for a `block_on` thread).
pub(crate) fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Marks this instant on the calling thread's track of the timeline, with a
/// label (the tour marks its steps; `kiwi-timeline --from/--to` crops to
/// marks). Does nothing while no timeline is recorded.
///
/// # Examples
///
/// ```
/// kiwi_runtime::trace::mark("step 1: spawn");
/// ```
pub fn mark(label: &'static str) {
    if enabled() {
        event::mark(label);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn env_values() {
        assert_eq!(parse_env(None), Ok(EnvMode::Off));
        assert_eq!(parse_env(Some(OsStr::new("0"))), Ok(EnvMode::Off));
        assert_eq!(parse_env(Some(OsStr::new(""))), Ok(EnvMode::Off));
        assert_eq!(parse_env(Some(OsStr::new("1"))), Ok(EnvMode::Text));
        assert_eq!(
            parse_env(Some(OsStr::new("json:/tmp/t.json"))),
            Ok(EnvMode::Json("/tmp/t.json".into()))
        );
        for bad in ["yes", "json:", "json", "2"] {
            let err = parse_env(Some(OsStr::new(bad))).unwrap_err();
            assert!(err.contains("json:PATH") && err.contains("`1`"), "{err}");
            assert!(err.contains(bad), "{err}");
        }
    }
}
