//! The examples, part: `echo_server` and `echo_client`, and SIGTERM for every example server.
//!
//! Driven as a user would: each server is started on `127.0.0.1:0`, its
//! `listening on ADDR` line is read, real clients talk to it, and a signal
//! must make it exit with status 0. The binaries are the ones `cargo test`
//! builds into `target/<profile>/examples`; the harness (deadlines, socket
//! timeouts, children killed with the test) is `tests/util/examples.rs`.

mod util;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use util::examples::*;
use util::rt::with_deadline;

/// SIGTERM (what `kill`, systemd and container runtimes send) stops every
/// server as gracefully as Ctrl-C does: exit status 0, after saying goodbye.
#[test]
fn every_server_exits_cleanly_on_sigterm() {
    with_deadline(60, || {
        for example in [
            "echo_server",
            "http_hello",
            "kv_server",
            "chat_server",
            "hyper_hello",
            "axum_app",
            "ws_echo",
        ] {
            let server = Server::start(example, &["127.0.0.1:0"]);
            let conn = server.connect();
            let lines = server.stop(libc::SIGTERM, Duration::from_secs(10));
            assert!(
                lines.iter().any(|l| l.contains("SIGTERM")),
                "{example}: {lines:?}"
            );
            assert!(
                lines.iter().any(|l| l.contains("bye")),
                "{example}: {lines:?}"
            );
            drop(conn);
        }
    });
}

/// Shutdown with a transfer in flight (issue 12, item 2): SIGTERM arrives
/// while a client is streaming into `echo_server`. Every byte the server read
/// before it stopped comes back, in order, then EOF; the server exits 0 after
/// draining the rest of the client's bytes (no reset cuts the echo short).
#[test]
fn echo_server_stops_mid_transfer_without_losing_an_echoed_byte() {
    with_deadline(60, || {
        let server = Server::start("echo_server", &["127.0.0.1:0", "--workers", "2"]);
        let conn = server.connect();
        let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 241) as u8).collect();
        let mut writer = conn.try_clone().unwrap();
        let sent = data.clone();
        // The client stops sending soon after the signal, as a client told
        // "goodbye" would; the server's close path drains what is in flight.
        let signalled_flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_sending = signalled_flag.clone();
        let t = std::thread::spawn(move || {
            for chunk in sent.chunks(32 << 10) {
                if stop_sending.load(std::sync::atomic::Ordering::SeqCst)
                    || writer.write_all(chunk).is_err()
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = writer.shutdown(Shutdown::Write);
        });
        let mut reader = conn;
        let mut back = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        let mut signalled = None;
        loop {
            let n = reader
                .read(&mut buf)
                .expect("no reset may cut the echo short");
            if n == 0 {
                break;
            }
            back.extend_from_slice(&buf[..n]);
            if signalled.is_none() && back.len() >= 512 << 10 {
                let pid = server.child.id() as libc::pid_t;
                // SAFETY: kill(2) on our own child's pid; no memory is involved.
                let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
                assert_eq!(sent, 0);
                signalled = Some(back.len());
                signalled_flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        t.join().unwrap();
        assert!(signalled.is_some(), "the transfer ended before the signal");
        assert!(
            back.len() < data.len(),
            "the server did not stop mid-transfer"
        );
        assert!(
            back == data[..back.len()],
            "an echoed byte was lost or reordered"
        );
        let lines = server.stop(0, Duration::from_secs(10));
        assert!(lines.iter().any(|l| l.contains("SIGTERM")), "{lines:?}");
    });
}

#[test]
fn echo_server_echoes_and_exits_on_ctrl_c() {
    with_deadline(60, || {
        let server = Server::start("echo_server", &["127.0.0.1:0", "--workers", "2"]);
        let mut conn = server.connect();
        // More than any socket buffer, written from another thread while we
        // read: echoing must not deadlock on a full buffer in either direction.
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut writer = conn.try_clone().unwrap();
        let sent = data.clone();
        let t = std::thread::spawn(move || {
            writer.write_all(&sent).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        conn.read_to_end(&mut back).unwrap(); // ends at the server's FIN
        t.join().unwrap();
        assert!(
            back == data,
            "echoed {} bytes, expected {}",
            back.len(),
            data.len()
        );

        // An idle connection stays open across Ctrl-C only until shutdown
        // tells it to close: the server must not wait the whole drain bound.
        let mut idle = server.connect();
        idle.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        idle.read_exact(&mut b).unwrap();
        let started = Instant::now();
        let lines = server.interrupt(Duration::from_secs(10));
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "shutdown took {:?}",
            started.elapsed()
        );
        assert!(lines.iter().any(|l| l.contains("bye")), "{lines:?}");
        assert_eq!(
            idle.read(&mut b).unwrap_or(0),
            0,
            "idle connection should see EOF"
        );
    });
}

#[test]
fn echo_client_sends_stdin_lines() {
    with_deadline(60, || {
        let server = Server::start("echo_server", &["127.0.0.1:0"]);
        let out = run_client(
            &server.addr.to_string(),
            "one\ntwo words\n\nthree\n",
            |_| (),
        );
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "one\ntwo words\n\nthree\n"
        );
        server.interrupt(Duration::from_secs(10));
    });
}

#[test]
fn echo_client_retries_until_the_server_appears() {
    with_deadline(60, || {
        // Find a free port, then free it: nothing listens there yet.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut server = None;
        let out = run_client(&addr, "early bird\n", |_| {
            // The client is already retrying; start the server on that port.
            std::thread::sleep(Duration::from_millis(700));
            server = Some(Server::start("echo_server", &[&addr]));
        });
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "early bird\n");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("retrying in"),
            "expected retries, got: {stderr}"
        );
        server.unwrap().interrupt(Duration::from_secs(10));
    });
}

/// Runs `echo_client ADDR` with `input` on stdin; `meanwhile` runs after the
/// client started and before its output is collected.
fn run_client(addr: &str, input: &str, meanwhile: impl FnOnce(&mut Child)) -> Output {
    let mut child = command(example("echo_client"))
        .args([addr, "--attempts", "20"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap(); // then closed: EOF
    meanwhile(&mut child);
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t = std::thread::spawn(move || {
        let mut e = Vec::new();
        let _ = err.read_to_end(&mut e);
        e
    });
    let mut stdout = Vec::new();
    let _ = out.read_to_end(&mut stdout);
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    Output {
        status,
        stdout,
        stderr: t.join().unwrap(),
    }
}
