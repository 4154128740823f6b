//! B7: idle connections. The server (its own process, CPU 0) runs one task
//! per connection parked on a 1-byte read; this process (CPU 1) opens 100
//! warm-up connections, reads the server's `VmRSS`, opens 10,000 more, waits
//! until the server holds all their descriptors, lets it settle, and reads
//! `VmRSS` again. Figure: user-space RSS per connection, (after − before) /
//! 10,000 (the kernel's socket memory is not in RSS). Both processes raise
//! their soft `RLIMIT_NOFILE` to the hard limit (20,000 here).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::b1::figure;
use super::proc::Server;
use super::servers::raise_nofile_limit;
use crate::harness::{Better, Figure, Table};
use crate::procfs::{pin_current_thread, rss_bytes};

const CONTENDERS: &[&str] = &["kiwi", "tokio", "smol"];
const WARM: usize = 100;
const CONNS: usize = 10_000;

/// Runs B7 for `rounds` alternating rounds and returns the rendered table.
pub fn run(rounds: usize) -> io::Result<String> {
    let _ = pin_current_thread(1);
    raise_nofile_limit();
    let mut table = Table::new(
        &format!("B7 idle connections: {CONNS}, each a task parked on a 1-byte read"),
        CONTENDERS,
    );
    table.run_rounds(rounds, |c| {
        let server = Server::start(CONTENDERS[c], "idle", 0, Some(0))?;
        measure(server)
    })?;
    Ok(table.render())
}

fn open_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Opens `n` connections and waits until the server holds `target` descriptors.
fn connect(
    addr: SocketAddr,
    n: usize,
    pid: &str,
    target: usize,
    into: &mut Vec<TcpStream>,
) -> io::Result<()> {
    for i in 0..n {
        into.push(TcpStream::connect(addr)?);
        // Don't outrun the accept loop by more than the smallest listen
        // backlog (std's 128, under smol): a full accept queue drops the
        // handshake's last ACK, and the retransmission takes a second.
        if i % 32 == 31 {
            let want = target - n + i + 1;
            let deadline = Instant::now() + Duration::from_secs(5);
            while open_fds(pid) + 32 < want && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_fds(pid) < target {
        if Instant::now() > deadline {
            return Err(io::Error::other("server did not accept every connection"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Let every handler run to its parked read.
    std::thread::sleep(Duration::from_millis(300));
    Ok(())
}

fn measure(server: Server) -> io::Result<Vec<Figure>> {
    let pid = server.pid();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let base_fds = open_fds(&pid);
    let mut streams = Vec::with_capacity(WARM + CONNS);
    connect(addr, WARM, &pid, base_fds + WARM, &mut streams)?;
    let before = rss_bytes(&pid)?;
    connect(addr, CONNS, &pid, base_fds + WARM + CONNS, &mut streams)?;
    let after = rss_bytes(&pid)?;
    // The server closes first, so the TIME_WAITs are its own, not our ports'.
    drop(server);
    drop(streams);
    Ok(vec![
        figure(
            "RSS per idle connection".into(),
            "B/conn",
            Better::Lower,
            after.saturating_sub(before) as f64 / CONNS as f64,
        ),
        figure(
            format!("server RSS with {} connections", WARM + CONNS),
            "MiB",
            Better::Lower,
            after as f64 / (1024.0 * 1024.0),
        ),
    ])
}
