//! Reliability, descriptor exhaustion (issue 7, item 3).
//!
//! Bug class guarded against: an accept loop that spins on `EMFILE` (the
//! listener stays readable, so a naive retry burns a core), one that "solves"
//! it by accepting and closing (clients lost), and one that loses the backlog
//! once descriptors free up (edge-triggered readiness: the edge for the queued
//! connections was already consumed, and freeing a descriptor makes no new one).
//!
//! It goes further than `tests/net_emfile.rs`: the connections arrive as a flood
//! *while* the process is out of descriptors (sockets created beforehand,
//! connected afterwards, so each arrival is a fresh edge on an exhausted
//! listener); the server is the naive `loop { accept().await }` shape with no
//! back-off of its own; the CPU share is measured over 1.5 s; and every client's
//! id is checked on the server side, so no connection is lost or duplicated.
//! Its own binary: it lowers the process's `RLIMIT_NOFILE`.

mod util;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiwi::io::AsyncReadExt;
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};
use util::rel::{cpu_time, emfile_backoffs, open_fds, with_deadline};

/// Connections in the flood (the listener's default backlog is 1024).
const FLOOD: usize = 300;
/// The CPU-share window while exhausted.
const WINDOW: Duration = Duration::from_millis(1500);

/// An unconnected blocking TCP socket (created while descriptors are plenty).
fn raw_socket() -> OwnedFd {
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Blocking connect of a raw socket to `addr` (IPv4); needs no new descriptor.
fn raw_connect(fd: &OwnedFd, addr: std::net::SocketAddrV4) -> std::io::Result<()> {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: a valid descriptor and a sockaddr_in of the stated length.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn exhausted_descriptors_naive_accept_loop_idles_and_keeps_the_backlog() {
    with_deadline(60, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        let metrics = rt.handle().metrics();
        let listener = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = match listener.local_addr().unwrap() {
            std::net::SocketAddr::V4(a) => a,
            other => panic!("expected IPv4, got {other}"),
        };
        // Client sockets exist before the limit drops; they connect later.
        let clients: Vec<OwnedFd> = (0..FLOOD).map(|_| raw_socket()).collect();

        // The naive server: no back-off of its own, errors ignored. Accepted
        // streams are kept (so they hold descriptors) with their client's id.
        let held: Arc<Mutex<Vec<(u32, AsyncTcpStream)>>> = Arc::default();
        let errors = Arc::new(Mutex::new(0usize));
        let (h2, e2) = (held.clone(), errors.clone());
        let listener = Arc::new(listener);
        let l2 = listener.clone();

        // Exhaust: soft limit just above what is open, then fill the gap.
        let (old_soft, _) = util::rel::nofile();
        util::rel::set_soft_nofile(open_fds() as u64 + 8);
        let mut padding = Vec::new();
        while let Ok(f) = std::fs::File::open("/dev/null") {
            padding.push(f);
        }
        assert!(std::fs::File::open("/dev/null").is_err(), "not exhausted");

        let acceptor = rt.spawn(async move {
            loop {
                match l2.accept().await {
                    Ok((mut s, _)) => {
                        let mut id = [0u8; 4];
                        // The client wrote its id right after connecting.
                        if s.read_exact(&mut id).await.is_ok() {
                            h2.lock().unwrap().push((u32::from_be_bytes(id), s));
                        } else {
                            *e2.lock().unwrap() += 1;
                        }
                    }
                    Err(_) => *e2.lock().unwrap() += 1,
                }
            }
        });

        // The flood arrives while exhausted: every connect is a new edge on the
        // listener, and each accept4 fails with EMFILE.
        let flood = std::thread::spawn(move || {
            for (i, fd) in clients.iter().enumerate() {
                raw_connect(fd, addr).expect("connect into the backlog");
                // The id, through the raw descriptor (no new descriptor needed).
                let id = (i as u32).to_be_bytes();
                // SAFETY: a valid descriptor and a 4-byte buffer.
                let rc = unsafe { libc::write(fd.as_raw_fd(), id.as_ptr().cast(), 4) };
                assert_eq!(rc, 4, "client id write");
            }
            clients
        });
        let clients = flood.join().unwrap();
        assert!(held.lock().unwrap().is_empty(), "accepted while exhausted");

        let backoffs_before = emfile_backoffs(&metrics);
        let cpu0 = cpu_time();
        let wall0 = Instant::now();
        std::thread::sleep(WINDOW);
        let cpu = cpu_time() - cpu0;
        let wall = wall0.elapsed();
        let backoffs = emfile_backoffs(&metrics) - backoffs_before;
        let share = cpu.as_secs_f64() / wall.as_secs_f64();
        assert!(held.lock().unwrap().is_empty(), "accepted while exhausted");
        assert!(!acceptor.is_finished());

        // Descriptors free up; nobody new connects.
        drop(padding);
        util::rel::set_soft_nofile(old_soft);
        let t_free = Instant::now();
        util::rel::wait_until(
            Duration::from_secs(10),
            "the backlog is accepted after descriptors free up",
            || held.lock().unwrap().len() == FLOOD,
        );
        let drain = t_free.elapsed();
        let mut ids: Vec<u32> = held.lock().unwrap().iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        eprintln!(
            "exhaustion: {FLOOD} connects while exhausted; CPU {cpu:?} in {wall:?} ({:.1}% of a \
             core), {backoffs} EMFILE back-offs in the window ({} in all), backlog of {} \
             accepted {drain:?} after descriptors were freed, {} accept errors",
            share * 100.0,
            emfile_backoffs(&metrics),
            ids.len(),
            *errors.lock().unwrap()
        );
        assert!(
            share < 0.10,
            "accept spun while exhausted: {cpu:?} of CPU in {wall:?}"
        );
        assert!(
            backoffs > 0,
            "the back-off counter must move while exhausted"
        );
        assert!(
            (backoffs as f64) < 2.0 * wall.as_secs_f64() * 1000.0 / 100.0 + 20.0,
            "back-off must grow to 100 ms, not retry every ms ({backoffs} in {wall:?})"
        );
        assert_eq!(*errors.lock().unwrap(), 0, "accept must not return EMFILE");
        assert_eq!(
            ids,
            (0..FLOOD as u32).collect::<Vec<_>>(),
            "every queued connection accepted exactly once"
        );
        acceptor.abort();
        drop(clients);
        drop(rt);
    });
}
