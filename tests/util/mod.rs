//! What the integration tests share, one module per concern (as mio keeps
//! one `tests/util/`). Each test binary includes the whole tree with
//! `mod util;` and uses what it needs, hence the `allow(dead_code)`.
//!
//! - [`rt`]: the global deadline every test runs under, and drop tallies;
//! - [`net`]: a deadline-bounded runtime, a seeded generator, echo helpers;
//! - [`rel`]: the reliability suite's scale switch and process-wide counters;
//! - [`examples`]: starting an example program and driving it with real
//!   clients;
//! - [`stuck`]: a worker stuck right after the runtime was idle.
#![allow(dead_code)]

pub mod examples;
pub mod net;
pub mod rel;
pub mod rt;
pub mod stuck;
