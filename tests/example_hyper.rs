//! The examples, part: the hyper examples (issue 13): `hyper_hello`, `axum_app`, `hyper_client`, `ws_echo`.
//!
//! Driven as a user would: each server is started on `127.0.0.1:0`, its
//! `listening on ADDR` line is read, real clients talk to it, and a signal
//! must make it exit with status 0. The binaries are the ones `cargo test`
//! builds into `target/<profile>/examples`; the harness (deadlines, socket
//! timeouts, children killed with the test) is `tests/util/examples.rs`.

mod util;

use std::process::{Child, Stdio};
use std::time::Duration;

use util::examples::*;
use util::rt::with_deadline;

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
