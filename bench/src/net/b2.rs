//! B2: fixed-rate echo. 256 connections share a fixed total request rate
//! (open loop: request `k` is due at `start + k / rate` on connection
//! `k mod 256`, whether or not earlier replies came back). Latency is taken
//! from the due time, not the actual send, so a stalled server is not
//! forgiven (no coordinated omission). The generator busy-polls epoll on
//! CPU 1 to send on time. Figures: achieved rate, server CPU % and CPU-µs
//! per request, p50/p99/p99.9 latency.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::b1::figure;
use super::load::Epoll;
use super::proc::Server;
use crate::harness::{percentile, Better, Figure, Table};
use crate::procfs::{cpu_time, pin_current_thread};

const CONTENDERS: &[&str] = &["kiwi", "tokio", "smol", "c-epoll"];
const CONNS: usize = 256;
const SIZE: usize = 64;
const RATE: f64 = 20_000.0;
const WARMUP: Duration = Duration::from_millis(500);
const WINDOW: Duration = Duration::from_secs(2);

/// Runs B2 for `rounds` alternating rounds and returns the rendered table.
pub fn run(rounds: usize) -> io::Result<String> {
    let _ = pin_current_thread(1);
    let mut table = Table::new(
        &format!(
            "B2 fixed-rate echo: {CONNS} conns × {SIZE} B, {}k req/s total (server CPU 0, load CPU 1)",
            RATE / 1e3
        ),
        CONTENDERS,
    );
    table.run_rounds(rounds, |c| {
        let server = Server::start(CONTENDERS[c], "echo", 0, Some(0))?;
        measure(&server)
    })?;
    Ok(table.render())
}

struct Conn {
    stream: TcpStream,
    received: usize,
    /// Due times of the requests in flight, oldest first.
    due: VecDeque<Instant>,
}

fn measure(server: &Server) -> io::Result<Vec<Figure>> {
    let pid = server.pid();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let ep = Epoll::new()?;
    let mut conns = Vec::with_capacity(CONNS);
    for i in 0..CONNS {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        ep.add(stream.as_raw_fd(), i as u64)?;
        conns.push(Conn {
            stream,
            received: 0,
            due: VecDeque::new(),
        });
    }
    let msg = [0x5au8; SIZE];
    let mut scratch = vec![0u8; 64 * 1024];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let start = Instant::now();
    let (open, close) = (start + WARMUP, start + WARMUP + WINDOW);
    let interval = Duration::from_secs_f64(1.0 / RATE);
    let mut k: u32 = 0;
    let mut next = start;
    let mut cpu0 = None;
    let mut lat = Vec::with_capacity((RATE * 3.0) as usize);
    let mut done = 0u64;
    loop {
        let now = Instant::now();
        if cpu0.is_none() && now >= open {
            cpu0 = Some(cpu_time(&pid)?);
        }
        if now >= close {
            break;
        }
        while next <= now {
            let c = &mut conns[k as usize % CONNS];
            c.due.push_back(next);
            let mut off = 0;
            while off < SIZE {
                match c.stream.write(&msg[off..]) {
                    Ok(n) => off += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                    Err(e) => return Err(e),
                }
            }
            k += 1;
            next = start + interval * k;
        }
        let n = ep.wait(&mut events, 0)?;
        let now = Instant::now();
        for ev in &events[..n] {
            let c = &mut conns[ev.u64 as usize];
            loop {
                match c.stream.read(&mut scratch) {
                    Ok(0) => return Err(io::Error::other("server closed a connection")),
                    Ok(k) => c.received += k,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            while c.received >= SIZE {
                c.received -= SIZE;
                let due = c.due.pop_front().expect("a reply to a request");
                if due >= open {
                    done += 1;
                    lat.push((now - due).as_secs_f64() * 1e6);
                }
            }
        }
    }
    let cpu1 = cpu_time(&pid)?;
    let cpu = cpu1
        .total()
        .saturating_sub(cpu0.unwrap_or(cpu1).total())
        .as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let w = WINDOW.as_secs_f64();
    Ok(vec![
        figure("replies".into(), "rt/s", Better::Higher, done as f64 / w),
        figure("server CPU".into(), "%", Better::Lower, cpu / w * 100.0),
        figure(
            "server CPU per request".into(),
            "µs/rt",
            Better::Lower,
            cpu * 1e6 / done.max(1) as f64,
        ),
        figure("p50".into(), "µs", Better::Lower, percentile(&lat, 50.0)),
        figure("p99".into(), "µs", Better::Lower, percentile(&lat, 99.0)),
        figure("p99.9".into(), "µs", Better::Lower, percentile(&lat, 99.9)),
    ])
}
