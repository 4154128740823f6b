//! B1: TCP echo, closed loop — 1, 16, 64, 256 and 1000 connections × 64 B and
//! 1 KiB messages, against each server in turn (alternating rounds).
//!
//! Figures per configuration: round trips per second, server CPU-µs per round
//! trip (user + system from `/proc/PID/stat` over the window), p50 and p99
//! latency. Syscalls per round trip (`perf stat -e raw_syscalls:sys_enter -p`)
//! are not collected yet.

use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Stdio};
use std::time::Duration;

use super::load::{self, LoadConfig};
use crate::harness::{pinned_command, self_exe, Better, Figure, Table};
use crate::procfs::{cpu_time, pin_current_thread, CpuTime};

/// The servers compared, the first being the one the ratios are about. kiwi
/// goes first once `kiwi::net` lands.
pub const CONTENDERS: &[&str] = &["tokio", "smol", "c-epoll"];

const CONNS: &[usize] = &[1, 16, 64, 256, 1000];
const SIZES: &[usize] = &[64, 1024];
const WARMUP: Duration = Duration::from_millis(200);
const WINDOW: Duration = Duration::from_millis(500);

/// Runs B1 for `rounds` alternating rounds and returns the rendered table.
pub fn run(rounds: usize) -> io::Result<String> {
    // The load generator runs here, on the other CPU than the servers.
    let _ = pin_current_thread(1);
    let contenders: Vec<&str> = CONTENDERS
        .iter()
        .copied()
        .filter(|&c| c != "c-epoll" || !env!("KIWI_BENCH_ECHO_EPOLL").is_empty())
        .collect();
    let mut table = Table::new(
        "B1 TCP echo, closed loop (server on CPU 0, load on CPU 1)",
        &contenders,
    );
    table.run_rounds(rounds, |c| measure(contenders[c]))?;
    Ok(table.render())
}

/// A server process, killed and reaped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts server `kind` pinned to CPU 0 and waits until it listens.
fn start_server(kind: &str, port: u16) -> io::Result<Server> {
    let mut cmd = if kind == "c-epoll" {
        pinned_command(0, env!("KIWI_BENCH_ECHO_EPOLL"))
    } else {
        let mut c = pinned_command(0, &self_exe());
        c.arg("server").arg(kind);
        c
    };
    let mut server = Server(cmd.arg(port.to_string()).stdout(Stdio::piped()).spawn()?);
    let stdout = server.0.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if line.trim() != "listening" {
        return Err(io::Error::other(format!("server {kind} did not start")));
    }
    Ok(server)
}

/// A port that was free a moment ago.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// One round for one server: every configuration, on one server process.
fn measure(kind: &str) -> io::Result<Vec<Figure>> {
    let port = free_port()?;
    let server = start_server(kind, port)?;
    let pid = server.0.id().to_string();
    let mut figures = Vec::new();
    let mut fig = |name: String, unit: &str, better, value| {
        figures.push(Figure {
            name,
            unit: unit.to_string(),
            better,
            value,
        });
    };
    for &size in SIZES {
        for &conns in CONNS {
            let cfg = LoadConfig {
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                conns,
                size,
                warmup: WARMUP,
                window: WINDOW,
            };
            let mut cpu = [CpuTime::default(); 2];
            let r = load::run(&cfg, |open| {
                cpu[usize::from(!open)] = cpu_time(&pid).unwrap_or_default();
            })?;
            let cpu_us = (cpu[1].total().saturating_sub(cpu[0].total())).as_secs_f64() * 1e6;
            let label = format!("{conns} conn × {size} B");
            fig(
                format!("{label}: round trips"),
                "rt/s",
                Better::Higher,
                r.rate(),
            );
            fig(
                format!("{label}: server CPU"),
                "µs/rt",
                Better::Lower,
                cpu_us / r.round_trips.max(1) as f64,
            );
            fig(
                format!("{label}: p50"),
                "µs",
                Better::Lower,
                r.latency_us(50.0),
            );
            fig(
                format!("{label}: p99"),
                "µs",
                Better::Lower,
                r.latency_us(99.0),
            );
        }
    }
    let rss = crate::procfs::rss_bytes(&pid).unwrap_or(0) as f64 / (1024.0 * 1024.0);
    fig(
        "server RSS after all configurations".into(),
        "MiB",
        Better::Lower,
        rss,
    );
    drop(server);
    Ok(figures)
}
