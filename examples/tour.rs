//! The guided tour: what kiwi does, step by step, in a few seconds.
//!
//! Run it with `cargo run --release --example tour`; add `KIWI_TRACE=1` to see
//! the runtime's own log of epoll returns, wakes and timers.

use std::time::{Duration, Instant};

use kiwi::time::{interval, sleep, timeout};

fn main() -> std::io::Result<()> {
    let rt = kiwi::Builder::new().workers(2).build()?;
    rt.block_on(async {
        println!("kiwi tour: a runtime with 2 workers, each a thread parked in epoll_wait.\n");

        println!("1. spawn: tasks are handed to the workers round-robin (Kiwi's EventLoopPool).");
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
    println!("\nDone. Read docs/ARCHITECTURE.md for how each step works inside.");
    Ok(())
}
