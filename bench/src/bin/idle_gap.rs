//! A worker blocked right after the runtime was idle: does a socket of
//! another connection still get served? The same scenario on kiwi and on
//! tokio's `multi_thread` runtime, two workers each.
//!
//! Two connections, x and y, are accepted by one task. y gets an echo
//! handler of its own, x is read by the accepting task itself; both sockets
//! are polled once, then the runtime idles for 100 ms. A byte on x wakes a
//! worker, and the task it wakes blocks that worker's thread for 300 ms. 20
//! ms later the client sends a byte on y and times the echo. If nobody
//! serves y's socket while the worker is blocked, the echo takes about
//! 280 ms. kiwi's alarm (`runtime/src/worker/alarm.rs`) gets a parked
//! worker to watch; its test is `tests/runtime_scheduler.rs`,
//! `a_worker_stuck_right_after_the_runtime_was_idle_is_rescued`.
//!
//! ```sh
//! cargo run --release -p kiwi-bench --bin idle_gap
//! ```
//!
//! On kiwi the layout (both sockets polled first on the worker that then
//! blocks) is the likely one, not a certain one: a line marked "layout
//! missed" measured something else.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

/// The client side: returns y's echo time while the worker is blocked.
fn client(addr: SocketAddr) -> thread::JoinHandle<Duration> {
    thread::spawn(move || {
        let mut x = std::net::TcpStream::connect(addr).unwrap();
        let mut y = std::net::TcpStream::connect(addr).unwrap();
        let mut buf = [0u8; 1];
        y.write_all(b"a").unwrap();
        y.read_exact(&mut buf).unwrap();
        thread::sleep(Duration::from_millis(100)); // the runtime idles
        x.write_all(b"b").unwrap(); // wakes a worker, which blocks
        thread::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        y.write_all(b"c").unwrap();
        y.read_exact(&mut buf).unwrap();
        let rtt = t0.elapsed();
        x.read_exact(&mut buf).unwrap();
        rtt
    })
}

// kiwi's side is the very scenario its tests run.
#[path = "../../../tests/util/stuck.rs"]
mod stuck;

/// kiwi: the echo time, and whether both sockets were first polled on the
/// worker that blocked.
fn on_kiwi() -> (Duration, bool) {
    let rt = kiwi::Builder::new().workers(2).build().unwrap();
    stuck::stuck_after_idle(&rt)
}

/// tokio `multi_thread`, two workers: the echo time.
fn on_tokio() -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let c = client(listener.local_addr().unwrap());
    rt.block_on(async move {
        tokio::spawn(async move {
            let (mut x, _) = listener.accept().await.unwrap();
            let (mut y, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 1];
                for _ in 0..2 {
                    y.read_exact(&mut buf).await.unwrap();
                    y.write_all(&buf).await.unwrap();
                }
            });
            let mut buf = [0u8; 1];
            x.read_exact(&mut buf).await.unwrap();
            thread::sleep(Duration::from_millis(300));
            x.write_all(b"x").await.unwrap();
        })
        .await
        .unwrap()
    });
    c.join().unwrap()
}

fn main() {
    for round in 1..=5 {
        let (kiwi, layout) = on_kiwi();
        let tokio = on_tokio();
        let missed = if layout { "" } else { " (kiwi: layout missed)" };
        println!("round {round}: echo while the woken worker blocks: kiwi {kiwi:.1?}, tokio {tokio:.1?}{missed}");
    }
}
