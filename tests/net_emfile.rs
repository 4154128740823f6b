//! EMFILE at accept (its own binary: it lowers the process's descriptor limit).
//!
//! With the soft RLIMIT_NOFILE low and connections queued, accept must stay
//! Pending without spinning (little CPU time), keep every queued connection,
//! and accept the backlog once descriptors are freed, with no new arrivals.

mod util;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use kiwi::net::AsyncTcpListener;

fn cpu_time() -> Duration {
    // SAFETY: getrusage fills a zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

#[test]
fn accept_backs_off_on_emfile_and_drains_the_backlog_later() {
    let rt = kiwi::Builder::new().workers(1).build().unwrap();
    let handle = rt.handle().clone();
    rt.block_on(async move {
        // Make sure the worker is up (its epoll and eventfd exist) before
        // descriptors run out.
        kiwi::spawn(async {}).await.unwrap();
        let listener = Arc::new(AsyncTcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        // Queue 20 connections in the backlog (plain std clients, from this thread).
        let clients: Vec<_> = (0..20)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();

        // Lower the soft limit to what is open now plus a little headroom.
        // SAFETY: plain struct out-parameter.
        let mut old: libc::rlimit = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a struct we own.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) }, 0);
        let mut spare = Vec::new();
        let cap = open_fds() + 4;
        let low = libc::rlimit {
            rlim_cur: cap,
            rlim_max: old.rlim_max,
        };
        // SAFETY: valid pointer to a struct we own.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
        // Use up the headroom so that accept4 hits EMFILE.
        while let Ok(f) = std::fs::File::open("/dev/null") {
            spare.push(f);
        }

        let l = listener.clone();
        let acceptor = kiwi::spawn(async move {
            let mut got = Vec::new();
            while got.len() < 20 {
                let (s, _) = l.accept().await?;
                got.push(s);
            }
            Ok::<_, io::Error>(got)
        });
        let cpu_before = cpu_time();
        kiwi::time::sleep(Duration::from_millis(500)).await;
        let cpu = cpu_time() - cpu_before;
        if acceptor.is_finished() {
            let r = acceptor.await.unwrap();
            panic!(
                "accept must stay pending while descriptors are exhausted; it returned {:?}",
                r.map(|v| v.len())
            );
        }
        assert!(
            cpu < Duration::from_millis(150),
            "accept spun: {cpu:?} of CPU in 500 ms"
        );
        let backoffs: u64 = {
            let m = handle.metrics();
            (0..m.num_workers())
                .map(|i| m.worker(i).emfile_backoffs())
                .sum()
        };
        assert!(backoffs > 0, "the EMFILE back-off counter must move");
        assert!(
            backoffs < 100,
            "back-off must grow to 100 ms, not retry every ms ({backoffs})"
        );

        // Free descriptors and restore the limit; no new connection arrives.
        drop(spare);
        // SAFETY: valid pointer to a struct we own.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) }, 0);
        let accepted = kiwi::time::timeout(Duration::from_secs(10), acceptor)
            .await
            .expect("the backlog was not accepted after descriptors were freed")
            .unwrap()
            .unwrap();
        assert_eq!(accepted.len(), 20, "every queued connection is kept");
        drop(clients);
    });
    drop(rt);
}
