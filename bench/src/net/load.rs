//! A closed-loop TCP echo load generator on one thread with raw epoll.
//!
//! Each of `conns` connections keeps exactly one message of `size` bytes in
//! flight: send, wait until all `size` bytes came back, record the round trip,
//! send again. Edge-triggered epoll, reads until `EAGAIN`. It talks to any
//! echo server by address, so every runtime meets the same load.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The echo server.
    pub addr: SocketAddr,
    /// Connections, each with one message in flight.
    pub conns: usize,
    /// Message size in bytes.
    pub size: usize,
    /// Unmeasured run before the window.
    pub warmup: Duration,
    /// The measured window.
    pub window: Duration,
}

/// What the window saw.
#[derive(Debug)]
pub struct LoadResult {
    /// Round trips completed inside the window.
    pub round_trips: u64,
    /// Length of the window.
    pub elapsed: Duration,
    /// Latency of each round trip completed inside the window, sorted, in ns.
    pub latencies_ns: Vec<u64>,
}

impl LoadResult {
    /// Round trips per second.
    pub fn rate(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64()
    }
    /// The `p`-th percentile latency in µs.
    pub fn latency_us(&self, p: f64) -> f64 {
        let v: Vec<f64> = self.latencies_ns.iter().map(|&n| n as f64 / 1e3).collect();
        crate::harness::percentile(&v, p)
    }
}

struct Conn {
    stream: TcpStream,
    received: usize,
    sent_at: Instant,
}

/// An epoll instance, closed on drop.
pub(crate) struct Epoll(i32);

impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        // SAFETY: no pointers involved.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll(fd))
    }
    pub(crate) fn add(&self, fd: i32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        if unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    pub(crate) fn wait(
        &self,
        events: &mut [libc::epoll_event],
        timeout_ms: i32,
    ) -> io::Result<usize> {
        // SAFETY: `events` is writable for `events.len()` entries.
        let n = unsafe {
            libc::epoll_wait(self.0, events.as_mut_ptr(), events.len() as i32, timeout_ms)
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            };
        }
        Ok(n as usize)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

/// Runs the load; `on_window(true)` is called when the measured window opens
/// and `on_window(false)` when it closes (e.g. to read the server's CPU time).
pub fn run(cfg: &LoadConfig, mut on_window: impl FnMut(bool)) -> io::Result<LoadResult> {
    let ep = Epoll::new()?;
    let msg = vec![0x5au8; cfg.size];
    let mut scratch = vec![0u8; 64 * 1024];
    let mut conns = Vec::with_capacity(cfg.conns);
    for i in 0..cfg.conns {
        let stream = TcpStream::connect(cfg.addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        ep.add(stream.as_raw_fd(), i as u64)?;
        conns.push(Conn {
            stream,
            received: 0,
            sent_at: Instant::now(),
        });
    }
    for c in &mut conns {
        send(c, &msg)?;
    }
    let start = Instant::now();
    let (open, close) = (start + cfg.warmup, start + cfg.warmup + cfg.window);
    let mut measuring = false;
    let mut opened_at = start;
    let mut round_trips = 0u64;
    let mut latencies = Vec::with_capacity(1 << 20);
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    loop {
        let now = Instant::now();
        if !measuring && now >= open {
            measuring = true;
            opened_at = now;
            on_window(true);
        }
        if now >= close {
            on_window(false);
            let elapsed = now - opened_at;
            latencies.sort_unstable();
            return Ok(LoadResult {
                round_trips,
                elapsed,
                latencies_ns: latencies,
            });
        }
        let n = ep.wait(&mut events, 10)?;
        for ev in &events[..n] {
            let c = &mut conns[ev.u64 as usize];
            loop {
                match c.stream.read(&mut scratch) {
                    Ok(0) => {
                        return Err(io::Error::new(
                            ErrorKind::UnexpectedEof,
                            "server closed a connection",
                        ))
                    }
                    Ok(k) => c.received += k,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            if c.received >= cfg.size {
                // One message in flight: a complete echo is exactly `size` bytes.
                c.received -= cfg.size;
                let now = Instant::now();
                if measuring {
                    round_trips += 1;
                    latencies.push((now - c.sent_at).as_nanos() as u64);
                }
                send(c, &msg)?;
            }
        }
    }
}

/// Sends one message; with one small message in flight the socket buffer has
/// room, so a short write is an error rather than something to wait for.
fn send(c: &mut Conn, msg: &[u8]) -> io::Result<()> {
    c.sent_at = Instant::now();
    let mut off = 0;
    while off < msg.len() {
        match c.stream.write(&msg[off..]) {
            Ok(n) => off += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
