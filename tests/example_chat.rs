//! The examples, part: `chat_server`: broadcast, and a client that stops reading.
//!
//! Driven as a user would: each server is started on `127.0.0.1:0`, its
//! `listening on ADDR` line is read, real clients talk to it, and a signal
//! must make it exit with status 0. The binaries are the ones `cargo test`
//! builds into `target/<profile>/examples`; the harness (deadlines, socket
//! timeouts, children killed with the test) is `tests/util/examples.rs`.

mod util;

use std::io::{self, BufReader, Read, Write};
use std::time::Duration;

use util::examples::*;
use util::rt::with_deadline;

#[test]
fn chat_server_broadcasts_lines() {
    with_deadline(60, || {
        let server = Server::start("chat_server", &["127.0.0.1:0", "--workers", "2"]);
        // Each client reads its welcome line first: it is then registered, so
        // it hears everything said after that.
        let mut a = BufReader::new(server.connect());
        assert!(read_line(&mut a).starts_with("* welcome"));
        let mut b = BufReader::new(server.connect());
        assert!(read_line(&mut b).starts_with("* welcome"));
        assert!(read_line(&mut a).contains("joined"));
        a.get_mut().write_all(b"hello from a\n").unwrap();
        assert!(read_line(&mut b).ends_with(": hello from a\n"));
        b.get_mut().write_all(b"hi a\n").unwrap();
        assert!(read_line(&mut a).ends_with(": hi a\n"));
        drop(b);
        assert!(read_line(&mut a).contains("left"));
        server.interrupt(Duration::from_secs(10));
    });
}

#[test]
fn chat_server_drops_a_client_that_stops_reading() {
    with_deadline(90, || {
        const LINES: usize = 80_000;
        let server = Server::start("chat_server", &["127.0.0.1:0", "--workers", "2"]);
        // Three clients, each registered (welcomed) before the next connects:
        // a talker, a slow client that never reads after its welcome, and an
        // observer that reads everything as fast as it can.
        let mut talker = BufReader::new(server.connect());
        assert!(read_line(&mut talker).starts_with("* welcome"));
        let mut slow = BufReader::new(server.connect());
        assert!(read_line(&mut slow).starts_with("* welcome"));
        let mut observer = BufReader::new(server.connect());
        assert!(read_line(&mut observer).starts_with("* welcome"));
        let rss_before = server.rss_kib();

        // The observer counts lines (in big raw reads) until the talker's
        // last line.
        let counter = std::thread::spawn(move || {
            let (mut lines, mut tail) = (0usize, Vec::new());
            let mut buf = vec![0; 64 * 1024];
            loop {
                let n = observer.read(&mut buf).expect("observer read");
                assert!(n > 0, "observer disconnected after {lines} lines");
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
                tail.extend_from_slice(&buf[..n]);
                tail.drain(..tail.len().saturating_sub(16));
                if tail.ends_with(b": the end\n") {
                    return lines;
                }
            }
        });

        // 80 MB of lines: far more than the socket buffers, kiwi's output
        // buffer and the per-client queue together.
        let line = [vec![b'z'; 1023], vec![b'\n']].concat();
        for _ in 0..LINES {
            talker.get_mut().write_all(&line).unwrap();
        }
        talker.get_mut().write_all(b"the end\n").unwrap();
        // A reading client gets every line, while the slow one is dropped.
        let seen = counter.join().unwrap();
        assert!(seen > LINES, "observer saw {seen} lines");
        let heard: Vec<String> = (0..3).map(|_| read_line(&mut talker)).collect();
        assert!(
            heard.iter().any(|l| l.contains("dropped (not reading)")),
            "{heard:?}"
        );

        // Had the server buffered for the slow client, it would have grown by
        // the 80 MB. What may legitimately grow: the talker's read buffer (up
        // to what the kernel had queued, a few MiB), a few batches, and the
        // allocator's per-thread arenas.
        let grown = server.rss_kib().saturating_sub(rss_before);
        println!("chat_server grew by {grown} KiB");
        assert!(
            grown < 40 * 1024,
            "server grew by {grown} KiB while a client did not read"
        );
        // The slow client's connection is gone: reading ends (EOF or reset)
        // after far less than the 80 MB sent.
        let mut got = 0usize;
        let mut buf = vec![0; 64 * 1024];
        loop {
            match slow.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("slow client: {e} after {got} bytes"),
            }
        }
        assert!(got < LINES * 1024 / 2, "slow client received {got} bytes");
        server.interrupt(Duration::from_secs(10));
    });
}
