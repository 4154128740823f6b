//! B1: TCP echo, closed loop, against each server in turn (alternating
//! rounds), server on CPU 0 and the load generator on CPU 1.
//!
//! Default points: issue 4's row (50 connections × 512 B), 1 × 64 B and
//! 256 × 1 KiB; `--full` adds the whole matrix 1, 16, 64, 256, 1000
//! connections × 64 B and 1 KiB. Figures per point: round trips per second,
//! server CPU-µs per round trip (user + system from `/proc/PID/stat` over the
//! window), syscalls per round trip (`perf stat -e raw_syscalls:sys_enter -p`
//! over exactly the window, all threads), p50 and p99 latency.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::load::{self, LoadConfig};
use super::proc::{perf_available, PerfStat, Server};
use crate::harness::{Better, Figure, Table};
use crate::procfs::{cpu_time, pin_current_thread, CpuTime};

/// The echo servers compared; the ratios are kiwi/other.
pub const CONTENDERS: &[&str] = &["kiwi", "tokio", "smol", "c-epoll"];

const DEFAULT_POINTS: &[(usize, usize)] = &[(50, 512), (1, 64), (256, 1024)];
const WARMUP: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_secs(2);

/// The points of the full matrix, issue 4's row first.
fn full_points() -> Vec<(usize, usize)> {
    let mut v = vec![(50, 512)];
    for size in [64, 1024] {
        for conns in [1, 16, 64, 256, 1000] {
            v.push((conns, size));
        }
    }
    v
}

/// Runs B1 for `rounds` alternating rounds and returns the rendered table.
pub fn run(rounds: usize, full: bool) -> io::Result<String> {
    // The load generator runs here, on the other CPU than the servers.
    let _ = pin_current_thread(1);
    let contenders: Vec<&str> = CONTENDERS
        .iter()
        .copied()
        .filter(|&c| c != "c-epoll" || !env!("KIWI_BENCH_ECHO_EPOLL").is_empty())
        .collect();
    let points = if full {
        full_points()
    } else {
        DEFAULT_POINTS.to_vec()
    };
    let perf = perf_available();
    if !perf {
        eprintln!("  perf stat -e raw_syscalls:sys_enter unavailable: no syscall counts");
    }
    let mut table = Table::new(
        "B1 TCP echo, closed loop (server on CPU 0, load on CPU 1)",
        &contenders,
    );
    table.run_rounds(rounds, |c| {
        let mut server = Server::start(contenders[c], "echo", 0, Some(0))?;
        let mut figures = Vec::new();
        for &(conns, size) in &points {
            let label = format!("{conns} conn × {size} B");
            figures.extend(echo_point(&mut server, &label, conns, size, perf)?.figures);
        }
        Ok(figures)
    })?;
    Ok(table.render())
}

/// Makes a [`Figure`].
pub fn figure(name: String, unit: &str, better: Better, value: f64) -> Figure {
    Figure {
        name,
        unit: unit.to_string(),
        better,
        value,
    }
}

/// What [`echo_point`] measured.
pub struct EchoPoint {
    /// Its figures, prefixed by its label.
    pub figures: Vec<Figure>,
    /// The server's counters (see [`super::servers`]) over the window.
    pub counters: Vec<u64>,
    /// Round trips completed inside the window.
    pub round_trips: u64,
}

/// One closed-loop point against `server`, figures prefixed by `label`.
pub fn echo_point(
    server: &mut Server,
    label: &str,
    conns: usize,
    size: usize,
    perf: bool,
) -> io::Result<EchoPoint> {
    let pid = server.pid();
    let counted = server.has_counters();
    let cfg = LoadConfig {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, server.port)),
        conns,
        size,
        warmup: WARMUP,
        window: WINDOW,
    };
    let mut stat = if perf {
        Some(PerfStat::attach(&pid)?)
    } else {
        None
    };
    let mut cpu = [CpuTime::default(); 2];
    let mut counters: [Vec<u64>; 2] = Default::default();
    let mut err = Ok(());
    let r = load::run(&cfg, |open| {
        // Order: nothing the harness itself makes the server do (answering
        // the counters request) falls inside the CPU or syscall window.
        let i = usize::from(!open);
        if open && counted {
            counters[0] = server.counters().unwrap_or_default();
        }
        if let (false, Some(s)) = (open, &mut stat) {
            if let Err(e) = s.disable() {
                err = Err(e);
            }
        }
        cpu[i] = cpu_time(&pid).unwrap_or_default();
        if let (true, Some(s)) = (open, &mut stat) {
            if let Err(e) = s.enable() {
                err = Err(e);
            }
        }
        if !open && counted {
            counters[1] = server.counters().unwrap_or_default();
        }
    })?;
    err?;
    let syscalls = stat.map(PerfStat::finish).transpose()?;
    let rts = r.round_trips.max(1) as f64;
    let cpu_us = (cpu[1].total().saturating_sub(cpu[0].total())).as_secs_f64() * 1e6;
    let mut f = vec![
        figure(
            format!("{label}: round trips"),
            "rt/s",
            Better::Higher,
            r.rate(),
        ),
        figure(
            format!("{label}: server CPU"),
            "µs/rt",
            Better::Lower,
            cpu_us / rts,
        ),
    ];
    if let Some(n) = syscalls {
        f.push(figure(
            format!("{label}: syscalls"),
            "/rt",
            Better::Lower,
            n as f64 / rts,
        ));
    }
    f.push(figure(
        format!("{label}: p50"),
        "µs",
        Better::Lower,
        r.latency_us(50.0),
    ));
    f.push(figure(
        format!("{label}: p99"),
        "µs",
        Better::Lower,
        r.latency_us(99.0),
    ));
    let delta = counters[1]
        .iter()
        .zip(&counters[0])
        .map(|(b, a)| b - a)
        .collect();
    Ok(EchoPoint {
        figures: f,
        counters: delta,
        round_trips: r.round_trips,
    })
}
