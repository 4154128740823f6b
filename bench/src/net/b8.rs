//! B8: two workers, unpinned. kiwi `Builder::workers(2)` against tokio
//! `multi_thread` with 2 workers (the `block_on` thread runs the accept loop
//! in both); neither the server nor the load generator is pinned, so they
//! share both cores. Echo: the closed-loop generator, 256 conns × 64 B. HTTP:
//! `wrk -t1 -c256 -d3s`, depth 1. The point is the balance across workers,
//! not absolute speed: each worker's share of busy time over the window, from
//! the runtimes' own counters (kiwi `WorkerMetrics::busy_time`, tokio's
//! stable `worker_total_busy_duration`), and for kiwi also its share of task
//! polls (tokio counts polls only under `tokio_unstable`). Both runtimes'
//! server CPU per op comes from `/proc` as in B1 and B3. For kiwi only, what
//! sharing costs, summed over both workers and divided by the window's round
//! trips or requests: eventfd writes, cross-thread wakes (tasks received
//! through a worker's remote queue), registration moves, reactor rescues and
//! steals; tokio
//! has no stable counterparts. wrk connects inside its window, so the HTTP
//! figures include its 256 connections' spawns from the accept loop.

use std::io;

use super::b1::{echo_point, figure};
use super::b3::{wrk, wrk_available, wrk_figures};
use super::proc::Server;
use super::servers::KIWI_COUNTERS;
use crate::harness::{Better, Figure, Table};

const CONTENDERS: &[&str] = &["kiwi", "tokio"];
const WORKERS: usize = 2;

/// Lets the calling thread run on every CPU again (B1 pinned it to CPU 1).
pub(super) fn unpin_current_thread() {
    // SAFETY: cpu_set_t is plain data; we set bits in our own copy.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..crate::procfs::online_cpus() {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Each worker's share of `values`, as figures named `{label}: worker i
/// share of {what}`.
fn shares(label: &str, what: &str, values: &[u64]) -> Vec<Figure> {
    let total: u64 = values.iter().sum();
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            figure(
                format!("{label}: worker {i} share of {what}"),
                "%",
                Better::Higher,
                v as f64 * 100.0 / total.max(1) as f64,
            )
        })
        .collect()
}

/// The figures from a window's counter deltas (see [`super::servers`]) over
/// `ops` round trips or requests: each worker's share of busy time (both
/// runtimes); for kiwi, each worker's share of polls and the total polls,
/// then every other counter summed over the workers, per op (`unit`).
fn counter_figures(label: &str, delta: &[u64], ops: u64, unit: &str) -> Vec<Figure> {
    let groups: Vec<&[u64]> = delta.chunks_exact(WORKERS).collect();
    let Some((busy, kiwi)) = groups.split_first() else {
        return Vec::new();
    };
    let mut f = shares(label, "busy time", busy);
    for (&(name, _), values) in KIWI_COUNTERS.iter().zip(kiwi) {
        let total = values.iter().sum::<u64>() as f64;
        if name == "polls" {
            f.extend(shares(label, name, values));
            f.push(figure(
                format!("{label}: polls, all workers"),
                "polls",
                Better::Lower,
                total,
            ));
        } else {
            f.push(figure(
                format!("{label}: {name}, all workers"),
                unit,
                Better::Lower,
                total / ops.max(1) as f64,
            ));
        }
    }
    f
}

/// Runs B8 for `rounds` alternating rounds and returns the rendered table.
pub fn run(rounds: usize) -> io::Result<String> {
    unpin_current_thread();
    let http = wrk_available();
    let mut table = Table::new(
        "B8 two workers, unpinned, load sharing the cores (balance, not speed)",
        CONTENDERS,
    );
    table.run_rounds(rounds, |c| {
        let mut figures = Vec::new();
        let mut server = Server::start(CONTENDERS[c], "echo", WORKERS, None)?;
        let p = echo_point(&mut server, "echo 256 conn × 64 B", 256, 64, false)?;
        figures.extend(p.figures.into_iter().filter(|f| !f.name.ends_with(": p50")));
        figures.extend(counter_figures("echo", &p.counters, p.round_trips, "/rt"));
        drop(server);
        if http {
            let mut server = Server::start(CONTENDERS[c], "http", WORKERS, None)?;
            let p0 = server.counters()?;
            let r = wrk(&server, None, false, false)?;
            let p1 = server.counters()?;
            figures.extend(wrk_figures("http depth 1", &r));
            let delta: Vec<u64> = p1.iter().zip(&p0).map(|(b, a)| b - a).collect();
            figures.extend(counter_figures("http", &delta, r.requests, "/req"));
        }
        Ok(figures)
    })?;
    Ok(table.render())
}
