//! A worker stuck right after the runtime was idle: the scenario that the
//! watch alarm (`runtime/src/worker/alarm.rs`) exists for, shared by the
//! scheduler's test and the timeline's.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::AsyncTcpListener;

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

/// One run on `rt` (two workers): two connections, x and y, accepted by
/// one task. y gets an echo handler of its own, a stealable task spawned
/// into this worker's next-to-run slot, so that it registers its socket
/// here too; x is read by the accepting task itself. Both sockets are
/// polled once, then the runtime idles for 100 ms. A byte on x wakes a
/// worker, and the one task it wakes blocks that worker's thread for 300
/// ms; 20 ms later the client sends a byte on y and times its echo.
///
/// Returns that time, and whether the layout the scenario needs happened:
/// both sockets first polled on the worker that then blocked (a thief may
/// have taken y's handler first).
pub fn stuck_after_idle(rt: &kiwi::Runtime) -> (Duration, bool) {
    let listener = rt.block_on(AsyncTcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut x = std::net::TcpStream::connect(addr).unwrap();
        let mut y = std::net::TcpStream::connect(addr).unwrap();
        for s in [&x, &y] {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        }
        let mut buf = [0u8; 1];
        // Both handlers have polled their sockets once this echo is back
        // (the blocker's polls first); then let the runtime idle.
        y.write_all(b"a").unwrap();
        y.read_exact(&mut buf).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        x.write_all(b"b").unwrap(); // wakes a worker, which blocks
        std::thread::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        y.write_all(b"c").unwrap();
        y.read_exact(&mut buf).unwrap();
        let rtt = t0.elapsed();
        x.read_exact(&mut buf).unwrap(); // the block is over
        rtt
    });
    // (where x registered, where y registered, where x's task blocked)
    let seen = Arc::new(Mutex::new((String::new(), String::new(), String::new())));
    let s = seen.clone();
    rt.block_on(async move {
        kiwi::spawn(async move {
            let (mut x, _) = listener.accept().await.unwrap();
            let (mut y, _) = listener.accept().await.unwrap();
            let s2 = s.clone();
            drop(kiwi::spawn(async move {
                s2.lock().unwrap().1 = thread_name();
                let mut buf = [0u8; 1];
                for _ in 0..2 {
                    y.read_exact(&mut buf).await.unwrap();
                    y.write_all(&buf).await.unwrap();
                }
            }));
            // This poll registers x here, too.
            s.lock().unwrap().0 = thread_name();
            let mut buf = [0u8; 1];
            x.read_exact(&mut buf).await.unwrap();
            s.lock().unwrap().2 = thread_name();
            std::thread::sleep(Duration::from_millis(300));
            x.write_all(b"x").await.unwrap();
        })
        .await
        .unwrap()
    });
    let rtt = client.join().unwrap();
    let (x_on, y_on, blocked) = seen.lock().unwrap().clone();
    (rtt, x_on == blocked && y_on == blocked)
}
