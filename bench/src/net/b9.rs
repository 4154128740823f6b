//! B9: the same hyper 1.x HTTP/1.1 service on kiwi (`kiwi-hyper`'s `KiwiIo`
//! and `KiwiTimer`) and on tokio (hyper-util's `TokioIo` and `TokioTimer`):
//! `wrk -t1 -c256 -d3s`, depth 1 and pipelined 16 deep, as in B3.
//!
//! - One worker: kiwi's single-threaded runtime against tokio
//!   `current_thread`, the server pinned to CPU 0 and wrk to CPU 1.
//! - Two workers: kiwi `Builder::workers(2)` against tokio `multi_thread`
//!   with 2 workers, nothing pinned (as B8: the workers need both cores).
//!
//! The figure that matters is server CPU per request (from `/proc`): hyper
//! does the parsing and formatting, so what differs is the runtime under it
//! and the adapter (kiwi's read is one extra copy, out of the stream's buffer
//! into hyper's).
//!
//! The same two configurations then serve one axum `Router`: `axum::serve` on
//! tokio against the equivalent code on kiwi (see [`super::axum`]).

use std::io;

use super::b3::{wrk, wrk_available, wrk_figures};
use super::b8::unpin_current_thread;
use super::proc::{perf_available, Server};
use crate::harness::Table;

const CONTENDERS: &[&str] = &["kiwi", "tokio"];

/// Runs B9 for `rounds` alternating rounds and returns the rendered tables.
pub fn run(rounds: usize) -> io::Result<String> {
    if !wrk_available() {
        return Ok("\n### B9 hyper\n\nskipped: `wrk` is not installed.\n".into());
    }
    let perf = perf_available();
    let mut out = String::new();
    let configs = [(0, Some(0), Some(1)), (2, None, None)];
    for (app, (workers, server_cpu, wrk_cpu)) in ["hyper", "axum"]
        .into_iter()
        .flat_map(|app| configs.map(|c| (app, c)))
    {
        if workers > 0 {
            unpin_current_thread();
        }
        let title = match workers {
            0 => format!("B9 {app} on one worker, wrk -t1 -c256 -d3s (server CPU 0, wrk CPU 1)"),
            n => format!("B9 {app} on {n} workers, wrk -t1 -c256 -d3s (unpinned)"),
        };
        let mut table = Table::new(&title, CONTENDERS);
        table.run_rounds(rounds, |c| {
            let server = Server::start(CONTENDERS[c], app, workers, server_cpu)?;
            let mut figures = Vec::new();
            for (label, pipeline) in [("depth 1", false), ("pipelined 16", true)] {
                let r = wrk(&server, wrk_cpu, pipeline, perf)?;
                figures.extend(wrk_figures(label, &r));
            }
            Ok(figures)
        })?;
        out.push_str(&table.render());
    }
    Ok(out)
}
