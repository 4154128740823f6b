//! `kiwi-timeline`: draws a kiwi runtime's timeline as an SVG picture, with
//! no browser.
//!
//! kiwi records its timeline with `KIWI_TRACE=json:PATH` (or
//! `Builder::trace_json`) as Chrome trace-event JSON, which Perfetto and
//! `chrome://tracing` open as they are. This crate reads that file back
//! ([`Timeline::parse`]) and draws it ([`render`]): one lane per worker,
//! poll slices coloured by task, park gaps, wake, steal and rescue arrows,
//! and a time axis. A picture in a README or a terminal-only machine needs no viewer.
//!
//! ```text
//! KIWI_TRACE=json:target/trace.json cargo run --example tour
//! cargo run -p kiwi-timeline -- target/trace.json -o target/trace.svg
//! ```
//!
//! It is a separate crate, not part of the runtime, so that it may use
//! `serde_json`: the runtime crates depend on nothing but libc and the
//! futures traits.

mod model;
mod svg;

pub use model::{Flow, Instant, Slice, Timeline, Track};
pub use svg::{layout, render};
