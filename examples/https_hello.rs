//! `Hello, World!` over HTTPS: rustls (through futures-rustls) on kiwi's
//! streams, HTTP/1.1 or HTTP/2 as the client's ALPN asks, served by hyper.
//!
//! ```sh
//! cargo run --release --example https_hello -- 127.0.0.1:8443 /tmp/kiwi-cert.pem
//! curl --cacert /tmp/kiwi-cert.pem https://localhost:8443/            # HTTP/2
//! curl --cacert /tmp/kiwi-cert.pem --http1.1 https://127.0.0.1:8443/
//! ```
//!
//! At start-up it makes a self-signed certificate for `localhost`,
//! `127.0.0.1` and `::1` with rcgen, and writes it (PEM, the public half
//! only) to the path given: that file is what a client trusts. The private
//! key never leaves memory.
//!
//! The pieces, each a runtime-agnostic crate on futures-io:
//! - futures-rustls's `TlsAcceptor` turns an `AsyncTcpStream` into a TLS
//!   stream. It is built on the `ring` provider alone: with two providers
//!   compiled in, rustls cannot pick one and panics at run time, so both
//!   crates have their default features off.
//! - ALPN offers `h2` and `http/1.1`; the client's choice picks hyper's
//!   protocol (no preface sniffing is needed under TLS).
//! - The TLS stream is not buffered for reading, so it goes into a
//!   `BufReader` before `KiwiIo` (see `kiwi_hyper::KiwiIo`).
//! - When a connection ends, hyper shuts the stream down, which makes rustls
//!   send `close_notify` before the TCP FIN: the client can tell a complete
//!   response from a cut one.
//!
//! A handshake gets [`HANDSHAKE_TIMEOUT`]: a client that connects and never
//! speaks TLS costs a task for that long, not forever. A failed handshake
//! (plain HTTP sent to this port, an untrusted certificate) is logged and
//! ends that connection only. SIGINT or SIGTERM stop the server gracefully,
//! as in `hyper_hello`.

#[path = "common/mod.rs"]
mod common;
#[path = "common/hyper.rs"]
mod serve_hyper;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_rustls::rustls::crypto::ring;
use futures_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use futures_rustls::rustls::ServerConfig;
use futures_rustls::TlsAcceptor;
use futures_util::future::{select, Either};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::server::conn::auto;
use kiwi::io::BufReader;
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};
use kiwi_hyper::{KiwiExecutor, KiwiIo};

use common::{Args, Shutdown};

const USAGE: &str = "https_hello ADDR CERT_PATH [--workers N]";

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> io::Result<()> {
    let args = Args::parse_with(USAGE, 1);
    let acceptor = tls_acceptor(&args.rest[0])?;
    let rt = args.runtime()?;
    rt.block_on(async {
        let listener = AsyncTcpListener::bind(args.addr.as_str()).await?;
        common::serve(listener, "https_hello", move |stream, peer, stop| {
            connection(acceptor.clone(), stream, peer, stop)
        })
        .await
    })
}

/// A fresh self-signed certificate, written to `cert_path`, and the TLS
/// configuration that serves it with ALPN for HTTP/2 and HTTP/1.1.
fn tls_acceptor(cert_path: &str) -> io::Result<TlsAcceptor> {
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let made = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    std::fs::write(cert_path, made.cert.pem()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot write the certificate to {cert_path}: {e}"),
        )
    })?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    // rustls 0.23.48 deprecates the ring provider because ring has no
    // post-quantum key exchange. aws-lc-rs has one, but builds a C library with
    // cmake: minutes of CI for an example. Classical X25519 it is.
    #[allow(deprecated)]
    let provider = Arc::new(ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .map_err(io::Error::other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

/// Handshakes (bounded in time, and abandoned on a stop signal), then serves
/// the protocol ALPN chose.
async fn connection(
    acceptor: TlsAcceptor,
    stream: AsyncTcpStream,
    _peer: SocketAddr,
    stop: Shutdown,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let handshake = kiwi::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let tls = match select(pin!(handshake), pin!(stop.wait())).await {
        Either::Left((Ok(tls), _)) => tls?,
        Either::Left((Err(_elapsed), _)) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            ))
        }
        Either::Right(((), _)) => return Ok(()),
    };
    let builder = auto::Builder::new(KiwiExecutor::new());
    let builder = match tls.get_ref().1.alpn_protocol() {
        Some(b"h2") => builder.http2_only(),
        _ => builder.http1_only(),
    };
    let io = KiwiIo::new(BufReader::new(tls));
    serve_hyper::serve(io, builder, service_fn(hello), stop).await
}
