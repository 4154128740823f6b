//! The examples, part: `tcp_proxy`: curl through it, 100 MB hash-checked by splice and buffered, a refusing upstream.
//!
//! Driven as a user would: each server is started on `127.0.0.1:0`, its
//! `listening on ADDR` line is read, real clients talk to it, and a signal
//! must make it exit with status 0. The binaries are the ones `cargo test`
//! builds into `target/<profile>/examples`; the harness (deadlines, socket
//! timeouts, children killed with the test) is `tests/util/examples.rs`.

mod util;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use util::examples::*;
use util::rt::with_deadline;

/// `tcp_proxy` in front of `http_hello`: curl gets its answer through it,
/// twice on one connection (keep-alive crosses the proxy).
#[test]
fn tcp_proxy_relays_curl_to_http_hello() {
    with_deadline(60, || {
        let upstream = Server::start("http_hello", &["127.0.0.1:0"]);
        let up = upstream.addr.to_string();
        let proxy = Server::start("tcp_proxy", &["127.0.0.1:0", &up]);
        let url = format!("http://{}/", proxy.addr);
        if have("curl") {
            let out = run_bounded(
                command("curl").args(["-sS", "-i", &url, &url]),
                Duration::from_secs(20),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{out:?}");
            assert_eq!(text.matches("Hello, World!").count(), 2, "{text}");
        } else {
            let mut c = proxy.connect();
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            c.read_to_string(&mut text).unwrap();
            assert!(text.contains("Hello, World!"), "{text}");
        }
        proxy.stop(libc::SIGTERM, Duration::from_secs(10));
        upstream.interrupt(Duration::from_secs(10));
    });
}

/// 100 MB through `tcp_proxy` to `echo_server` and back, every byte checked
/// (a running hash of the pseudo-random stream on both sides), with the
/// client half-closing at the end: the proxy forwards the EOF both ways.
#[test]
fn tcp_proxy_relays_100_mb_hash_checked_by_splice_and_buffered() {
    const TOTAL: u64 = 100 << 20;
    /// Bytes `i..i+len` of the stream: a cheap mix of the position.
    fn fill(buf: &mut [u8], at: u64) {
        for (k, b) in buf.iter_mut().enumerate() {
            let i = at + k as u64;
            *b = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8;
        }
    }
    with_deadline(180, || {
        for copy in ["splice", "buffered"] {
            let upstream = Server::start("echo_server", &["127.0.0.1:0"]);
            let up = upstream.addr.to_string();
            let proxy = Server::start("tcp_proxy", &["127.0.0.1:0", &up, "--copy", copy]);
            let conn = proxy.connect();
            let mut writer = conn.try_clone().unwrap();
            let sender = std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 << 10];
                let mut at = 0;
                while at < TOTAL {
                    let n = buf.len().min((TOTAL - at) as usize);
                    fill(&mut buf[..n], at);
                    writer.write_all(&buf[..n]).unwrap();
                    at += n as u64;
                }
                writer.shutdown(Shutdown::Write).unwrap();
            });
            let mut reader = conn;
            let (mut got, mut bad_at) = (0u64, None);
            let mut buf = vec![0u8; 64 << 10];
            let mut expect = vec![0u8; 64 << 10];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                fill(&mut expect[..n], got);
                if bad_at.is_none() && buf[..n] != expect[..n] {
                    bad_at = Some(got);
                }
                got += n as u64;
            }
            sender.join().unwrap();
            assert_eq!(
                bad_at, None,
                "{copy}: the echoed stream differs at that offset"
            );
            assert_eq!(got, TOTAL, "{copy}: bytes that came back");
            let lines = proxy.interrupt(Duration::from_secs(10));
            let spliced: u64 = lines
                .iter()
                .find_map(|l| l.strip_prefix("tcp_proxy: spliced "))
                .and_then(|l| l.strip_suffix(" bytes"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{copy}: no spliced count in {lines:?}"));
            if copy == "splice" {
                // Both directions carry TOTAL bytes in bulk: nearly all of
                // them go socket to socket (the first chunk of each burst
                // takes the buffered path, which detects the bulk).
                assert!(
                    spliced >= 2 * TOTAL * 9 / 10,
                    "only {spliced} of {} bytes never entered user space",
                    2 * TOTAL
                );
            } else {
                assert_eq!(spliced, 0);
            }
            upstream.interrupt(Duration::from_secs(10));
        }
    });
}

/// An upstream that refuses: the client's connection closes, the proxy says
/// why on stderr and keeps serving.
#[test]
fn tcp_proxy_survives_a_refusing_upstream() {
    with_deadline(30, || {
        // A port with no listener: bind, note it, close.
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap().to_string();
        drop(dead);
        let proxy = Server::start("tcp_proxy", &["127.0.0.1:0", &dead_addr]);
        for _ in 0..3 {
            let mut c = proxy.connect();
            let mut b = [0u8; 1];
            assert_eq!(c.read(&mut b).unwrap_or(0), 0, "the client is closed");
        }
        let lines = proxy.interrupt(Duration::from_secs(10));
        assert!(lines.iter().any(|l| l.contains("bye")), "{lines:?}");
    });
}
