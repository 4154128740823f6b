//! The examples, part: `kv_server`: RESP by hand, `redis-cli` and `redis-benchmark`.
//!
//! Driven as a user would: each server is started on `127.0.0.1:0`, its
//! `listening on ADDR` line is read, real clients talk to it, and a signal
//! must make it exit with status 0. The binaries are the ones `cargo test`
//! builds into `target/<profile>/examples`; the harness (deadlines, socket
//! timeouts, children killed with the test) is `tests/util/examples.rs`.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use util::examples::*;
use util::rt::with_deadline;

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
