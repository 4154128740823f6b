//! B10: a TCP proxy in front of an HTTP server, wrk through it. The proxy
//! (see [`super::proxy`]) runs pinned to CPU 0, single-threaded; the upstream
//! (kiwi's `http` server, or `big` with 1 MiB bodies) and wrk share CPU 1.
//! Figures are the *proxy's*: CPU per request and syscalls per request.
//!
//! - small: `Hello, World!` responses, `wrk -t1 -c256 -d3s`;
//! - 1 MiB: 1 MiB response bodies, `wrk -t1 -c16 -d3s`.
//!
//! Copies per byte are not measured but counted from the code: the buffered
//! proxies (kiwi's `copy_bidirectional`, tokio's) copy each byte from the
//! kernel into user memory and back (two copies); `splice_bidirectional`
//! moves page references, with no copy through user memory.

use std::io;

use super::b3::{wrk_available, wrk_conns, wrk_figures};
use super::proc::{perf_available, Server};
use crate::harness::Table;

const CONTENDERS: &[&str] = &["kiwi splice", "kiwi buffered", "tokio"];

/// Runs B10 for `rounds` alternating rounds and returns the rendered tables.
pub fn run(rounds: usize) -> io::Result<String> {
    if !wrk_available() {
        return Ok("\n### B10 proxy\n\nskipped: `wrk` is not installed.\n".into());
    }
    let perf = perf_available();
    let mut out = String::new();
    for (label, app, conns) in [("small", "http", 256), ("1 MiB", "big", 16)] {
        let title = format!(
            "B10 proxy, {label} responses, wrk -t1 -c{conns} -d3s (proxy CPU 0; upstream and wrk CPU 1)"
        );
        let mut table = Table::new(&title, CONTENDERS);
        table.run_rounds(rounds, |c| {
            let upstream = Server::start("kiwi", app, 0, Some(1))?;
            let (kind, mode) = match c {
                0 => ("kiwi", "proxy-splice"),
                1 => ("kiwi", "proxy-buffered"),
                _ => ("tokio", "proxy-buffered"),
            };
            let proxy = Server::start(kind, &format!("{mode}:{}", upstream.port), 0, Some(0))?;
            let r = wrk_conns(&proxy, Some(1), conns, false, perf)?;
            Ok(wrk_figures(label, &r))
        })?;
        out.push_str(&table.render());
    }
    Ok(out)
}
