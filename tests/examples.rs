//! The example programs, driven as a user would: each server is started on
//! `127.0.0.1:0`, its `listening on ADDR` line is read, real clients talk to
//! it (Rust clients here, plus `curl`, `wrk`, `redis-cli` and
//! `redis-benchmark` when installed), and Ctrl-C (SIGINT) must make it exit
//! with status 0.
//!
//! The binaries are the ones `cargo test` builds into `target/<profile>/examples`
//! (it builds every example, to check it compiles). Every test runs under a
//! deadline, every socket has timeouts, and every child is killed when its
//! test ends or panics, so a hang fails the test instead of stalling CI.

mod example_util;
mod rt_util;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use example_util::*;
use rt_util::with_deadline;

// ----- echo ----------------------------------------------------------------

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

// ----- http ----------------------------------------------------------------

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Reads one response: (head, body), the body sized by Content-Length.
fn read_response(r: &mut impl BufRead) -> (String, Vec<u8>) {
    let mut head = String::new();
    loop {
        let n = r.read_line(&mut head).unwrap();
        assert!(n > 0, "EOF inside a response head: {head:?}");
        if head.ends_with("\r\n\r\n") {
            break;
        }
    }
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("Content-Length")
        .parse()
        .unwrap();
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    (head, body)
}

fn assert_hello(head: &str, body: &[u8]) {
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Length: 13\r\n"), "{head}");
    let date = head
        .lines()
        .find_map(|l| l.strip_prefix("Date: "))
        .expect("Date");
    assert!(
        date.len() == 29 && date.ends_with(" GMT") && date.as_bytes()[3] == b',',
        "{date:?}"
    );
    assert_eq!(body, b"Hello, World!");
}

#[test]
fn http_hello_keep_alive_pipelining_and_bad_requests() {
    with_deadline(60, || {
        let server = Server::start("http_hello", &["127.0.0.1:0", "--workers", "2"]);
        let mut conn = BufReader::new(server.connect());

        // Keep-alive: two requests, one after the other, on one connection.
        for _ in 0..2 {
            conn.get_mut().write_all(GET).unwrap();
            let (head, body) = read_response(&mut conn);
            assert_hello(&head, &body);
        }
        // Pipelining: 50 requests in one write (one split mid-request), then
        // 50 responses in order.
        let batch = GET.repeat(50);
        conn.get_mut().write_all(&batch[..100]).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        conn.get_mut().write_all(&batch[100..]).unwrap();
        for _ in 0..50 {
            let (head, body) = read_response(&mut conn);
            assert_hello(&head, &body);
        }
        // A request body is skipped by its Content-Length.
        conn.get_mut()
            .write_all(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde")
            .unwrap();
        conn.get_mut().write_all(GET).unwrap();
        for _ in 0..2 {
            let (head, body) = read_response(&mut conn);
            assert_hello(&head, &body);
        }
        // Connection: close is honored: the response says so, then EOF.
        conn.get_mut()
            .write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (head, body) = read_response(&mut conn);
        assert_hello(&head, &body);
        assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());

        // Malformed requests: the error response arrives whole, then EOF; no
        // RST even though the client sent more than the server read.
        for (request, status) in [
            (b"BLAH\r\n\r\n".to_vec(), "400"),
            (
                [&b"GARBAGE / HTTP/9.9\r\n\r\n"[..], &vec![b'x'; 200_000]].concat(),
                "400",
            ),
            (
                [&b"GET / HTTP/1.1\r\nX: "[..], &vec![b'a'; 20_000]].concat(),
                "431",
            ),
        ] {
            let mut c = BufReader::new(server.connect());
            c.get_mut().write_all(&request).unwrap();
            let (head, body) = read_response(&mut c);
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert!(head.contains("Connection: close"), "{head}");
            assert!(!body.is_empty());
            let mut rest = Vec::new();
            c.read_to_end(&mut rest).expect("EOF, not a reset");
        }

        // An idle keep-alive connection does not hold up shutdown.
        let mut idle = BufReader::new(server.connect());
        idle.get_mut().write_all(GET).unwrap();
        read_response(&mut idle);
        server.interrupt(Duration::from_secs(4));
    });
}

#[test]
fn http_hello_with_curl_and_wrk() {
    with_deadline(90, || {
        let server = Server::start("http_hello", &["127.0.0.1:0"]);
        let url = format!("http://{}/", server.addr);
        if have("curl") {
            // Two URLs: curl reuses the connection (keep-alive).
            let out = run_bounded(
                command("curl").args(["-sS", "-i", &url, &url]),
                Duration::from_secs(20),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{out:?}");
            assert_eq!(text.matches("Hello, World!").count(), 2, "{text}");
            assert!(text.contains("Content-Length: 13"), "{text}");
        }
        if have("wrk") {
            wrk_without_errors(&url);
        }
        server.interrupt(Duration::from_secs(10));
    });
}

/// hyper on kiwi (issue 13): the same port speaks HTTP/1.1 and, with prior
/// knowledge, HTTP/2. curl checks both; h2load multiplexes HTTP/2 streams on
/// few connections; wrk hammers HTTP/1.1.
#[test]
fn hyper_hello_with_curl_h1_h2_h2load_and_wrk() {
    with_deadline(90, || {
        let server = Server::start("hyper_hello", &["127.0.0.1:0", "--workers", "2"]);
        let url = format!("http://{}/", server.addr);
        if have("curl") {
            // HTTP/1.1: two URLs on one keep-alive connection.
            let out = run_bounded(
                command("curl").args(["-sS", "-i", "--http1.1", &url, &url]),
                Duration::from_secs(20),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{out:?}");
            assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
            assert_eq!(text.matches("Hello, World!").count(), 2, "{text}");
            // HTTP/2: one URL per curl. curl 7.88 (Debian 12's) fails a reused
            // prior-knowledge connection on its side (curl issue 10634, fixed in
            // 7.89); h2load below covers many streams per connection.
            let out = run_bounded(
                command("curl").args(["-sS", "-i", "--http2-prior-knowledge", &url]),
                Duration::from_secs(20),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{out:?}");
            assert!(text.starts_with("HTTP/2 200"), "{text}");
            assert!(text.ends_with("Hello, World!"), "{text}");
        }
        if have("h2load") {
            let out = run_bounded(
                command("h2load").args(["-n", "4000", "-c", "4", "-m", "16", &url]),
                Duration::from_secs(30),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{out:?}");
            println!("{text}");
            assert!(
                text.contains("4000 succeeded, 0 failed, 0 errored"),
                "{text}"
            );
            assert!(text.contains("status codes: 4000 2xx"), "{text}");
        }
        if have("wrk") {
            wrk_without_errors(&url);
        }
        let lines = server.interrupt(Duration::from_secs(10));
        assert!(lines.iter().any(|l| l.contains("bye")), "{lines:?}");
    });
}

/// Graceful shutdown with requests in flight (issue 13): SIGTERM while five
/// slow responses are being prepared; every one of them completes, then the
/// server exits cleanly.
#[test]
fn axum_app_finishes_requests_in_flight_on_sigterm() {
    with_deadline(60, || {
        if !have("curl") {
            return;
        }
        let server = Server::start("axum_app", &["127.0.0.1:0", "--workers", "2"]);
        let url = format!("http://{}/sleep/1500", server.addr);
        let curls: Vec<Child> = (0..5)
            .map(|i| {
                let proto = if i % 2 == 0 {
                    "--http1.1"
                } else {
                    "--http2-prior-knowledge"
                };
                command("curl")
                    .args(["-sS", proto, &url])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Let every request reach its handler, then stop the server.
        std::thread::sleep(Duration::from_millis(500));
        let lines = server.stop(libc::SIGTERM, Duration::from_secs(10));
        assert!(lines.iter().any(|l| l.contains("bye")), "{lines:?}");
        for c in curls {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{out:?}");
            assert_eq!(out.stdout, b"slept 1500 ms\n");
        }
    });
}

/// The hyper client on kiwi against the hyper server on kiwi, both protocols;
/// a refused connection and a bad URL are clear errors.
#[test]
fn hyper_client_fetches_from_hyper_hello() {
    with_deadline(60, || {
        let server = Server::start("hyper_hello", &["127.0.0.1:0"]);
        let url = format!("http://{}/", server.addr);
        for extra in [&[][..], &["--http2"][..]] {
            let out = run_bounded(
                command(example("hyper_client")).arg(&url).args(extra),
                Duration::from_secs(20),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{extra:?}: {out:?}");
            assert_eq!(text, "status: 200\nbody: 13 bytes\n", "{extra:?}");
        }
        server.interrupt(Duration::from_secs(10));
        // The server is gone now: connecting is refused.
        let out = run_bounded(
            command(example("hyper_client")).arg(&url),
            Duration::from_secs(20),
        );
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("refused"),
            "{out:?}"
        );
        let out = run_bounded(
            command(example("hyper_client")).arg("https://example.invalid/"),
            Duration::from_secs(20),
        );
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("only http://"),
            "{out:?}"
        );
    });
}

/// WebSocket through hyper's upgrade (issue 13): text, binary, ping and
/// close, from an async-tungstenite client on kiwi; a plain request gets 426.
#[test]
fn ws_echo_round_trips_text_binary_ping_and_close() {
    use async_tungstenite::tungstenite::Message;
    use futures_util::StreamExt;
    with_deadline(60, || {
        let server = Server::start("ws_echo", &["127.0.0.1:0"]);
        let addr = server.addr;
        kiwi::block_on(async move {
            let stream = kiwi::net::AsyncTcpStream::connect(addr).await.unwrap();
            let (mut ws, res) = async_tungstenite::client_async(format!("ws://{addr}/"), stream)
                .await
                .unwrap();
            assert_eq!(res.status(), 101);
            ws.send(Message::text("hello, kiwi")).await.unwrap();
            assert_eq!(
                ws.next().await.unwrap().unwrap(),
                Message::text("hello, kiwi")
            );
            let bytes: Vec<u8> = (0..=255).collect();
            ws.send(Message::binary(bytes.clone())).await.unwrap();
            assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(bytes));
            ws.send(Message::Ping(b"are you there".to_vec().into()))
                .await
                .unwrap();
            assert_eq!(
                ws.next().await.unwrap().unwrap(),
                Message::Pong(b"are you there".to_vec().into())
            );
            ws.close(None).await.unwrap();
            // The server answers the close; then the stream ends.
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(Message::Close(_)) => {}
                    Ok(other) => panic!("after close: {other:?}"),
                    Err(e) => panic!("after close: {e}"),
                }
            }
        });
        if have("curl") {
            let (status, _) = curl(&[], &format!("http://{addr}/"));
            assert!(status.contains(" 426"), "{status}");
        }
        server.interrupt(Duration::from_secs(10));
    });
}

/// axum on kiwi (issue 13): every route answers as written, over HTTP/1.1
/// and HTTP/2, state is shared across workers, and wrk sees no error.
#[test]
fn axum_app_routes_with_curl_and_wrk() {
    with_deadline(90, || {
        let server = Server::start("axum_app", &["127.0.0.1:0", "--workers", "2"]);
        let base = format!("http://{}", server.addr);
        if have("curl") {
            for proto in ["--http1.1", "--http2-prior-knowledge"] {
                let (status, body) = curl(&[proto], &format!("{base}/json"));
                assert!(status.contains(" 200"), "{proto}: {status}");
                assert_eq!(body, r#"{"runtime":"kiwi","server":"axum"}"#);
                let (status, body) = curl(&[proto], &format!("{base}/users/7"));
                assert!(status.contains(" 200"), "{proto}: {status}");
                assert_eq!(body, r#"{"id":7,"name":"user-7"}"#);
                let (status, _) = curl(&[proto], &format!("{base}/users/seven"));
                assert!(status.contains(" 400"), "{proto}: {status}");
                let (status, body) = curl(&[proto], &format!("{base}/nowhere"));
                assert!(status.contains(" 404"), "{proto}: {status}");
                assert_eq!(body, "not found\n");
            }
            // Ten increments, on fresh connections spread over both workers.
            for i in 1..=10 {
                let (_, body) = curl(&["-X", "POST"], &format!("{base}/count"));
                assert_eq!(body, format!(r#"{{"count":{i}}}"#));
            }
            let (_, body) = curl(&[], &format!("{base}/count"));
            assert_eq!(body, r#"{"count":10}"#);
        }
        if have("wrk") {
            wrk_without_errors(&format!("{base}/json"));
        }
        let lines = server.interrupt(Duration::from_secs(10));
        assert!(lines.iter().any(|l| l.contains("bye")), "{lines:?}");
    });
}

// ----- kv (RESP) -------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.as_bytes().to_vec()))
}

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

fn read_reply(r: &mut impl BufRead) -> Reply {
    let line = read_line(r);
    let (kind, rest) = line.split_at(1);
    let rest = rest.trim_end_matches("\r\n");
    match kind {
        "+" => Reply::Simple(rest.into()),
        "-" => Reply::Error(rest.into()),
        ":" => Reply::Int(rest.parse().unwrap()),
        "$" if rest == "-1" => Reply::Bulk(None),
        "$" => {
            let mut v = vec![0; rest.parse::<usize>().unwrap() + 2];
            r.read_exact(&mut v).unwrap();
            v.truncate(v.len() - 2);
            Reply::Bulk(Some(v))
        }
        "*" => Reply::Array(
            (0..rest.parse::<usize>().unwrap())
                .map(|_| read_reply(r))
                .collect(),
        ),
        _ => panic!("bad reply line {line:?}"),
    }
}

fn call(c: &mut BufReader<TcpStream>, args: &[&str]) -> Reply {
    c.get_mut().write_all(&encode(args)).unwrap();
    read_reply(c)
}

#[test]
fn kv_server_speaks_resp() {
    with_deadline(60, || {
        let server = Server::start("kv_server", &["127.0.0.1:0", "--workers", "2"]);
        let mut c = BufReader::new(server.connect());
        assert_eq!(call(&mut c, &["PING"]), Reply::Simple("PONG".into()));
        assert_eq!(call(&mut c, &["ECHO", "hi there"]), bulk("hi there"));
        assert_eq!(call(&mut c, &["SET", "k", "v"]), ok());
        assert_eq!(call(&mut c, &["get", "k"]), bulk("v"));
        assert_eq!(call(&mut c, &["GET", "missing"]), Reply::Bulk(None));
        assert_eq!(call(&mut c, &["INCR", "n"]), Reply::Int(1));
        assert_eq!(call(&mut c, &["INCR", "n"]), Reply::Int(2));
        assert!(
            matches!(call(&mut c, &["INCR", "k"]), Reply::Error(e) if e.contains("not an integer"))
        );
        assert_eq!(call(&mut c, &["MSET", "a", "1", "b", "2"]), ok());
        assert_eq!(
            call(&mut c, &["MGET", "a", "b", "zz"]),
            Reply::Array(vec![bulk("1"), bulk("2"), Reply::Bulk(None)])
        );
        assert_eq!(call(&mut c, &["EXISTS", "a", "b", "zz"]), Reply::Int(2));
        assert_eq!(call(&mut c, &["DEL", "a", "zz"]), Reply::Int(1));
        assert_eq!(call(&mut c, &["EXISTS", "a"]), Reply::Int(0));
        // Expiry, with PX and EX.
        assert_eq!(call(&mut c, &["SET", "t", "v", "PX", "150"]), ok());
        assert_eq!(call(&mut c, &["SET", "t2", "v", "EX", "100"]), ok());
        assert_eq!(call(&mut c, &["GET", "t"]), bulk("v"));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(call(&mut c, &["GET", "t"]), Reply::Bulk(None));
        assert_eq!(call(&mut c, &["EXISTS", "t", "t2"]), Reply::Int(1));
        // Errors that keep the connection.
        for bad in [
            &["SET", "x"][..],
            &["SET", "x", "v", "EX", "0"],
            &["SET", "x", "v", "XX", "1"],
            &["NOPE"],
            &["MSET", "a"],
        ] {
            assert!(
                matches!(call(&mut c, bad), Reply::Error(e) if e.starts_with("ERR")),
                "{bad:?}"
            );
        }
        // Pipelining: 200 commands in one write, 200 replies in order.
        let batch: Vec<u8> = (0..200).flat_map(|_| encode(&["INCR", "p"])).collect();
        c.get_mut().write_all(&batch).unwrap();
        for i in 1..=200 {
            assert_eq!(read_reply(&mut c), Reply::Int(i));
        }
        // A command trickling in a byte at a time.
        for b in encode(&["SET", "slow", "value"]) {
            c.get_mut().write_all(&[b]).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(read_reply(&mut c), ok());
        // Inline commands, as typed into nc.
        c.get_mut().write_all(b"PING\r\nGET slow\n").unwrap();
        assert_eq!(read_reply(&mut c), Reply::Simple("PONG".into()));
        assert_eq!(read_reply(&mut c), bulk("value"));

        // Malformed frames: an error reply, then the server hangs up; it
        // keeps serving everyone else.
        for garbage in [
            &b"*abc\r\n"[..],
            b"*1\r\n:5\r\n",
            b"*1\r\n$3\r\nabcdef\r\n",
            b"*1\r\n$-7\r\n",
            b"$1\r\n\x00",
        ] {
            let mut g = BufReader::new(server.connect());
            g.get_mut().write_all(garbage).unwrap();
            g.get_mut().write_all(b"\r\n").unwrap();
            match read_reply(&mut g) {
                Reply::Error(e) => assert!(e.starts_with("ERR"), "{e}"),
                // `$1\r\n...` is an inline command named "$1": unknown command.
                other => panic!("{garbage:?}: {other:?}"),
            }
        }
        assert_eq!(call(&mut c, &["GET", "slow"]), bulk("value"));
        server.interrupt(Duration::from_secs(10));
    });
}

#[test]
fn kv_server_with_redis_cli_and_benchmark() {
    with_deadline(120, || {
        let server = Server::start("kv_server", &["127.0.0.1:0"]);
        let port = server.addr.port().to_string();
        if have("redis-cli") {
            let cli = |args: &[&str]| {
                let out = run_bounded(
                    command("redis-cli")
                        .args(["-h", "127.0.0.1", "-p", &port])
                        .args(args),
                    Duration::from_secs(20),
                );
                assert!(out.status.success(), "{out:?}");
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            };
            assert_eq!(cli(&["ping"]), "PONG");
            assert_eq!(cli(&["set", "greeting", "hello"]), "OK");
            assert_eq!(cli(&["get", "greeting"]), "hello");
            assert_eq!(cli(&["incr", "visits"]), "1");
            assert_eq!(
                cli(&["mget", "greeting", "nope"]).lines().next(),
                Some("hello")
            );
        }
        if have("redis-benchmark") {
            let out = run_bounded(
                command("redis-benchmark")
                    .args(["-h", "127.0.0.1", "-p", &port])
                    .args([
                        "-q",
                        "-n",
                        "2000",
                        "-t",
                        "ping,set,get,incr,mset",
                        "-P",
                        "16",
                    ]),
                Duration::from_secs(60),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            println!("{text}");
            assert!(out.status.success(), "{out:?}");
            for test in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET"] {
                let line = text
                    .rsplit('\r')
                    .flat_map(str::lines)
                    .find(|l| l.trim_start().starts_with(test));
                let line = line.unwrap_or_else(|| panic!("no {test} result in {text}"));
                assert!(line.contains("requests per second"), "{line}");
            }
        }
        server.interrupt(Duration::from_secs(10));
    });
}

// ----- chat ----------------------------------------------------------------

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
