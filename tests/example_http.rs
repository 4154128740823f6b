//! The examples, part: `http_hello`: keep-alive, pipelining, bad requests, curl and wrk.
//!
//! Driven as a user would: each server is started on `127.0.0.1:0`, its
//! `listening on ADDR` line is read, real clients talk to it, and a signal
//! must make it exit with status 0. The binaries are the ones `cargo test`
//! builds into `target/<profile>/examples`; the harness (deadlines, socket
//! timeouts, children killed with the test) is `tests/util/examples.rs`.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use util::examples::*;
use util::rt::with_deadline;

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
