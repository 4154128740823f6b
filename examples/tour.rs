//! The guided tour: what kiwi does, step by step, in a few seconds.
//!
//! Run it with `cargo run --release --example tour`; add `KIWI_TRACE=1` to see
//! the runtime's own log of epoll returns, wakes and timers.
//!
//! The tour also records its runtime's timeline (`Builder::trace_json`) and
//! draws it with `kiwi-timeline`: `tour-timeline.svg` (the whole tour) and
//! `tour-steal.svg` (step 1's spawn and steal), next to the tour's binary
//! under `target/`. Open them in a browser or an image viewer; open the JSON
//! in ui.perfetto.dev to zoom.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::{AsyncTcpListener, AsyncTcpStream};
use kiwi::time::{interval, sleep, timeout};

/// Where the timeline goes: beside the tour's binary, under `target/`
/// (`target/<profile>/examples/tour` -> `target/<profile>/`), never in the
/// working tree.
fn out_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .and_then(|examples| examples.parent())
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

/// Draws the recorded timeline: the whole tour, step 1's spawn and steal,
/// and the first microseconds of that step, up to just after the first steal.
fn draw_timeline(json: &std::path::Path) -> Result<Vec<PathBuf>, String> {
    let text = std::fs::read_to_string(json).map_err(|e| format!("{}: {e}", json.display()))?;
    let t = kiwi_timeline::Timeline::parse(&text)?;
    let (from, to) = t
        .mark(STEAL_START)
        .zip(t.mark(STEAL_END))
        .ok_or("marks missing")?;
    // A little room on both sides, so that the first and last events show.
    let pad = (to - from) * 0.02;
    let first_steal = t
        .instants
        .iter()
        .filter(|i| i.cat == "steal" && i.ts >= from)
        .map(|i| i.ts)
        .reduce(f64::min)
        .unwrap_or(from + 50.0);
    let pictures = [
        ("tour-timeline.svg", "kiwi tour: 2 workers, steps 1-7", None),
        (
            "tour-steal.svg",
            "kiwi tour, step 1: one task spawns 8 that compute for 20 ms each",
            Some((from - pad, to + pad)),
        ),
        (
            "tour-steal-start.svg",
            "kiwi tour, step 1, zoomed in: the spawns, the notify and the steal",
            Some((from - 2.0, first_steal + (first_steal - from) * 0.3 + 2.0)),
        ),
    ];
    let mut paths = Vec::new();
    for (name, title, window) in pictures {
        let cropped = window.map(|(a, b)| t.crop(a, b));
        let svg = kiwi_timeline::render(cropped.as_ref().unwrap_or(&t), title, window);
        let path = out_dir().join(name);
        // Through a temporary file renamed over the old picture, so that a
        // reader (a test running another tour) never sees half of one.
        let tmp = path.with_extension(format!("svg.{}", std::process::id()));
        std::fs::write(&tmp, svg)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

const STEAL_START: &str = "spawn 8 on a worker";
const STEAL_END: &str = "all 8 done";

fn main() -> std::io::Result<()> {
    let json = out_dir().join("tour-timeline.json");
    let rt = kiwi::Builder::new().workers(2).trace_json(&json).build()?;
    rt.block_on(async {
        println!("kiwi tour: a runtime with 2 workers, each a thread parked in epoll_wait.\n");

        println!("1. spawn: a spawn from outside the pool (this root future runs on the main");
        println!("   thread) goes to the workers in turn, like Kiwi's EventLoopPool.");
        let mut set = kiwi::JoinSet::new();
        for i in 0..8 {
            set.spawn(async move { (i, std::thread::current().name().unwrap_or("?").to_string()) });
        }
        let mut seen = std::collections::BTreeSet::new();
        while let Some(res) = set.join_next().await {
            let (i, thread) = res.expect("task panicked");
            println!("   task {i} ran on {thread}");
            seen.insert(thread);
        }
        println!(
            "   -> {} distinct worker threads ran the 8 tasks.\n",
            seen.len()
        );

        println!("   A spawn on a worker stays on that worker, and an idle worker steals:");
        println!("   one task spawns 8 others that each compute for 20 ms.");
        kiwi::runtime::trace::mark(STEAL_START);
        let threads = kiwi::spawn(async {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    kiwi::spawn(async {
                        let t = Instant::now();
                        while t.elapsed() < Duration::from_millis(20) {
                            std::hint::spin_loop();
                        }
                        std::thread::current().name().unwrap_or("?").to_string()
                    })
                })
                .collect();
            let mut threads = std::collections::BTreeMap::new();
            for h in hs {
                *threads.entry(h.await.expect("task panicked")).or_insert(0) += 1;
            }
            threads
        })
        .await
        .expect("task panicked");
        kiwi::runtime::trace::mark(STEAL_END);
        for (thread, n) in &threads {
            println!("   {n} ran on {thread}");
        }
        let m = kiwi::Handle::current().metrics();
        let steals: u64 = (0..m.num_workers()).map(|i| m.worker(i).steals()).sum();
        println!("   -> the idle worker was woken and stole {steals} time(s).\n");

        println!(
            "2. sleep: a timer in the worker's timing wheel; epoll_wait waits exactly until it."
        );
        let start = Instant::now();
        sleep(Duration::from_millis(50)).await;
        println!(
            "   slept 50 ms, measured {:?} (never early, late by the wake-up latency only).\n",
            start.elapsed()
        );

        println!("3. timeout: a future raced against a timer.");
        let slow = timeout(Duration::from_millis(20), sleep(Duration::from_secs(10))).await;
        println!(
            "   a 10 s sleep under a 20 ms timeout -> {:?}\n",
            slow.map(|_| ())
        );

        println!("4. interval: ticks at fixed instants; the first one is immediate.");
        let mut tick = interval(Duration::from_millis(30));
        let t0 = Instant::now();
        for n in 0..3 {
            tick.tick().await;
            println!("   tick {n} at +{:?}", t0.elapsed());
        }
        println!();

        println!("5. spawn_blocking: work that would stall a worker runs on the blocking pool.");
        let who = kiwi::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(10));
            std::thread::current().name().unwrap_or("?").to_string()
        })
        .await
        .expect("blocking task panicked");
        println!("   ran on {who} while the workers stayed free.\n");

        println!("6. cross-thread wake: a plain thread wakes a task through its worker's eventfd.");
        let (tx, rx) = async_channel::bounded::<u32>(1);
        let waiter = kiwi::spawn(async move { rx.recv().await.unwrap_or(0) });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            let _ = tx.send_blocking(42);
        });
        println!(
            "   the task received {} from a plain thread.\n",
            waiter.await.unwrap_or(0)
        );

        println!("7. TCP echo: a listener, a spawned connection handler, and a client.");
        let listener = AsyncTcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let server = kiwi::spawn(async move {
            // accept registers the listener with this worker's epoll, edge-triggered.
            let (mut conn, peer) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 64];
            // The first read finds nothing, clears readiness and parks the task;
            // the edge for the client's bytes wakes it through its waker.
            let n = conn.read(&mut buf).await.expect("read");
            conn.write_all(&buf[..n]).await.expect("write");
            conn.close().await.expect("close");
            peer
        });
        let mut client = AsyncTcpStream::connect(addr).await.expect("connect");
        client.write_all(b"hello, kiwi").await.expect("write");
        let mut echoed = Vec::new();
        client.read_to_end(&mut echoed).await.expect("read");
        let peer = server.await.expect("server task");
        println!(
            "   {addr} echoed {:?} back to {peer}.\n",
            String::from_utf8_lossy(&echoed)
        );
    });

    let m = rt.handle().metrics();
    for i in 0..m.num_workers() {
        let w = m.worker(i);
        println!(
            "worker {i}: {} polls, {} parks, {} epoll events, {} remote wakes, {} eventfd writes",
            w.polls(),
            w.parks(),
            w.epoll_events(),
            w.remote_wakes(),
            w.eventfd_writes()
        );
    }
    drop(rt);
    // The runtime's shutdown wrote the file; stop recording, then draw it.
    kiwi::runtime::trace::finish()?;
    match draw_timeline(&json) {
        Ok(paths) => {
            println!(
                "\nThe timeline of steps 1-7, one lane per worker (open the SVGs in a browser,"
            );
            println!("the JSON in ui.perfetto.dev):");
            for p in paths.iter().chain([&json]) {
                println!("   {}", p.display());
            }
        }
        Err(e) => println!("\n(the timeline could not be drawn: {e})"),
    }

    println!(
        "\n8. trace mode (KIWI_TRACE=1): the runtime narrates itself. One spawn and one sleep:"
    );
    let traced = kiwi::Builder::new().workers(1).trace(true).build()?;
    traced.block_on(async {
        kiwi::spawn(async { sleep(Duration::from_millis(2)).await })
            .await
            .expect("task");
    });
    drop(traced);
    kiwi::runtime::trace::set_enabled(std::env::var_os("KIWI_TRACE").is_some_and(|v| v == "1"));
    println!();
    println!("\nDone. Read docs/ARCHITECTURE.md for how each step works inside.");
    Ok(())
}
