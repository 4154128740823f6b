//! `https_hello` (issue 13), driven as a user would: curl trusting the
//! certificate the server wrote, over each protocol ALPN can choose; a rustls
//! client on kiwi that insists on `close_notify`; wrk through TLS; and the
//! clients that should not be able to hurt it (plain HTTP, garbage, silence).

mod util;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_rustls::rustls::crypto::ring;
use futures_rustls::rustls::pki_types::pem::PemObject;
use futures_rustls::rustls::pki_types::{CertificateDer, ServerName};
use futures_rustls::rustls::{ClientConfig, RootCertStore};
use futures_rustls::TlsConnector;
use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use util::examples::*;
use util::rt::with_deadline;

/// A certificate path outside the working tree, unique to this test.
fn cert_path(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kiwi-{test}-{}.pem", std::process::id()))
}

fn start(test: &str) -> (Server, PathBuf) {
    let cert = cert_path(test);
    let server = Server::start(
        "https_hello",
        &["127.0.0.1:0", cert.to_str().unwrap(), "--workers", "2"],
    );
    (server, cert)
}

/// `curl` with the server's certificate as its only trust anchor, reaching
/// the server as `localhost` (a name in the certificate): the response
/// body and the HTTP version curl negotiated.
fn curl_https(cert: &Path, port: u16, extra: &[&str]) -> (String, String) {
    let out = run_bounded(
        command("curl")
            .args(["-sS", "--cacert", cert.to_str().unwrap()])
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["-w", "\n%{http_version}"])
            .args(extra)
            .arg(format!("https://localhost:{port}/")),
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{extra:?}: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, version) = text.rsplit_once('\n').unwrap();
    (body.to_string(), version.to_string())
}

#[test]
fn https_hello_serves_h1_and_h2_over_alpn_to_curl_and_wrk() {
    with_deadline(90, || {
        let (server, cert) = start("alpn");
        let port = server.addr.port();
        let pem = std::fs::read_to_string(&cert).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(!pem.contains("PRIVATE KEY"), "the key must stay in memory");
        if have("curl") {
            // curl offers h2 first, and the server takes it.
            assert_eq!(
                curl_https(&cert, port, &[]),
                ("Hello, World!".into(), "2".into())
            );
            assert_eq!(
                curl_https(&cert, port, &["--http1.1"]),
                ("Hello, World!".into(), "1.1".into())
            );
            // Without the certificate, curl must refuse: the server really
            // presents the one it wrote.
            let out = run_bounded(
                command("curl")
                    .args(["-sS", &format!("https://127.0.0.1:{port}/")])
                    .env("CURL_CA_BUNDLE", "/dev/null"),
                Duration::from_secs(20),
            );
            assert!(!out.status.success(), "{out:?}");
        }
        if have("wrk") {
            wrk_without_errors(&format!("https://127.0.0.1:{port}/"));
        }
        let lines = server.stop(libc::SIGTERM, Duration::from_secs(10));
        assert!(lines.iter().any(|l| l.contains("bye")), "{lines:?}");
        let _ = std::fs::remove_file(cert);
    });
}

/// A TLS client on kiwi (futures-rustls, trusting only the written
/// certificate) asks for `Connection: close` and reads to the end. rustls
/// reports a TCP close that `close_notify` did not announce as
/// `UnexpectedEof`, so a clean `read_to_end` proves the server sent it.
#[test]
fn https_hello_ends_connections_with_close_notify() {
    with_deadline(60, || {
        let (server, cert) = start("notify");
        let addr = server.addr;
        let mut roots = RootCertStore::empty();
        let der = CertificateDer::from_pem_slice(&std::fs::read(&cert).unwrap()).unwrap();
        roots.add(der).unwrap();
        #[allow(deprecated)] // ring: see examples/https_hello.rs
        let provider = Arc::new(ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = TlsConnector::from(Arc::new(config));
        kiwi::block_on(async move {
            let tcp = kiwi::net::AsyncTcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
            tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            tls.flush().await.unwrap();
            let mut response = Vec::new();
            tls.read_to_end(&mut response)
                .await
                .expect("the server closed without close_notify");
            let text = String::from_utf8_lossy(&response);
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
            assert!(text.ends_with("\r\n\r\nHello, World!"), "{text}");
        });
        server.stop(libc::SIGTERM, Duration::from_secs(10));
        let _ = std::fs::remove_file(cert);
    });
}

/// Plain HTTP, garbage and a silent client each cost only their own
/// connection: the next TLS client is served, and a stop signal with a
/// handshake still pending exits cleanly at once.
#[test]
fn https_hello_survives_plain_http_garbage_and_silence() {
    with_deadline(60, || {
        let (server, cert) = start("bad");
        let port = server.addr.port();
        let silent = server.connect();
        let mut plain = server.connect();
        plain
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut garbage = server.connect();
        garbage
            .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0, 0, 0])
            .unwrap();
        // Each bad connection is answered (an alert) or closed, never hung.
        for mut conn in [plain, garbage] {
            let mut got = Vec::new();
            let _ = std::io::Read::read_to_end(&mut conn, &mut got);
        }
        if have("curl") {
            assert_eq!(curl_https(&cert, port, &[]).0, "Hello, World!");
        }
        let started = std::time::Instant::now();
        let lines = server.stop(libc::SIGTERM, Duration::from_secs(10));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a pending handshake held up shutdown: {lines:?}"
        );
        assert!(lines.iter().any(|l| l.contains("bye")), "{lines:?}");
        drop(silent);
        let _ = std::fs::remove_file(cert);
    });
}

/// A certificate path that cannot be written is a clear error at start-up,
/// before the server listens.
#[test]
fn https_hello_reports_an_unwritable_certificate_path() {
    with_deadline(30, || {
        let out = run_bounded(
            command(example("https_hello")).args(["127.0.0.1:0", "/nonexistent-dir/cert.pem"]),
            Duration::from_secs(20),
        );
        assert!(!out.status.success(), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("cannot write the certificate to /nonexistent-dir/cert.pem"),
            "{err}"
        );
    });
}
