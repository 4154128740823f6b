//! Paused time (issue 14, item 1): hours of timers in milliseconds, in
//! order; `timeout`, `interval`, `advance`; a ready socket is never skipped;
//! blocking-pool work holds the clock; `resume` never goes backwards; and
//! the misuse that panics.

mod util;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiwi::io::AsyncReadExt;
use kiwi::time::{self, MissedTickBehavior};
use util::rt::with_deadline;

const HOUR: Duration = Duration::from_secs(3600);

#[kiwi::test(start_paused = true)]
async fn an_hour_of_sleeps_finishes_at_once_and_in_order() {
    let real = Instant::now();
    let start = time::now();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for minutes in [60u64, 10, 30, 20] {
        let order = order.clone();
        handles.push(kiwi::spawn(async move {
            time::sleep(Duration::from_secs(60 * minutes)).await;
            order.lock().unwrap().push((minutes, time::now()));
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let order = order.lock().unwrap().clone();
    assert_eq!(
        order.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        [10, 20, 30, 60]
    );
    for (minutes, at) in order {
        // Never early, and exactly on time: the clock jumped to each deadline.
        assert_eq!(at - start, Duration::from_secs(60 * minutes));
    }
    assert_eq!(time::now() - start, HOUR);
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "{:?}",
        real.elapsed()
    );
}

#[kiwi::test(start_paused = true)]
async fn a_timeout_over_a_pending_future_elapses() {
    let start = time::now();
    let res = time::timeout(Duration::from_secs(30), std::future::pending::<()>()).await;
    assert!(res.is_err());
    assert_eq!(time::now() - start, Duration::from_secs(30));
}

#[kiwi::test(start_paused = true)]
async fn advance_fires_what_falls_due_before_it_returns() {
    let sleep = time::sleep(Duration::from_secs(10));
    time::advance(Duration::from_secs(9)).await;
    assert!(!sleep.is_elapsed());
    time::advance(Duration::from_secs(1)).await;
    assert!(sleep.is_elapsed());
    // A task sleeping 5 s has run by the time a 5 s advance returns.
    let done = Arc::new(Mutex::new(false));
    let d = done.clone();
    kiwi::spawn(async move {
        time::sleep(Duration::from_secs(5)).await;
        *d.lock().unwrap() = true;
    });
    kiwi::yield_now().await; // let it register its timer
    time::advance(Duration::from_secs(5)).await;
    assert!(*done.lock().unwrap());
}

#[kiwi::test(start_paused = true)]
async fn intervals_tick_by_the_paused_clock_for_each_missed_tick_behavior() {
    let period = Duration::from_secs(10);
    for (behavior, expect) in [
        // After 35 s of silence: Burst fires the 3 missed ticks at once.
        (MissedTickBehavior::Burst, [35u64, 35, 35, 40]),
        // Delay restarts the schedule from the late tick.
        (MissedTickBehavior::Delay, [35, 45, 55, 65]),
        // Skip jumps to the next multiple of the period.
        (MissedTickBehavior::Skip, [35, 40, 50, 60]),
    ] {
        let start = time::now();
        let mut tick = time::interval(period);
        tick.set_missed_tick_behavior(behavior);
        tick.tick().await; // immediate
                           // A stall: the task does not look at the interval for 35 s.
        time::advance(Duration::from_secs(35)).await;
        let mut got = Vec::new();
        for _ in 0..4 {
            tick.tick().await;
            got.push((time::now() - start).as_secs());
        }
        assert_eq!(
            got, expect,
            "{behavior:?}: the clock when each tick was seen"
        );
    }
}

#[test]
fn auto_advance_never_skips_a_ready_socket() {
    with_deadline(20, || {
        kiwi::block_on(async {
            time::pause();
            let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
            a.set_nonblocking(true).unwrap();
            let mut a = kiwi::net::AsyncUnixStream::from_std(a).unwrap();
            b.write_all(b"answer").unwrap();
            let mut buf = [0u8; 6];
            let res = time::timeout(HOUR, a.read_exact(&mut buf)).await;
            assert!(res.is_ok(), "the timer won against bytes already there");
            assert_eq!(&buf, b"answer");
        });
    });
}

#[kiwi::test(start_paused = true)]
async fn blocking_work_in_flight_holds_the_clock() {
    let start = time::now();
    let job = kiwi::spawn_blocking(|| std::thread::sleep(Duration::from_millis(100)));
    let res = time::timeout(Duration::from_secs(5), job).await;
    assert!(res.is_ok(), "the timeout elapsed while the job ran");
    assert!(time::now() - start < Duration::from_secs(5));
}

#[kiwi::test]
async fn resume_returns_to_real_time_without_going_back() {
    time::pause();
    let paused_at = time::now();
    time::advance(HOUR).await;
    let ahead = time::now();
    assert_eq!(ahead - paused_at, HOUR);
    time::resume();
    let resumed = time::now();
    assert!(resumed >= ahead, "the clock went backwards");
    // Real speed again: a 20 ms sleep takes 20 ms of real time.
    let real = Instant::now();
    time::sleep(Duration::from_millis(20)).await;
    assert!(real.elapsed() >= Duration::from_millis(20));
    assert!(time::now() - resumed >= Duration::from_millis(20));
}

#[test]
#[should_panic(expected = "not paused")]
fn advance_while_not_paused_panics() {
    kiwi::block_on(time::advance(Duration::from_secs(1)));
}

#[test]
#[should_panic(expected = "current-thread runtime")]
fn pause_on_a_multi_worker_runtime_panics() {
    let rt = kiwi::Builder::new().workers(2).build().unwrap();
    rt.block_on(async { kiwi::spawn(async { time::pause() }).await })
        .map_err(|e| std::panic::resume_unwind(e.into_panic()))
        .unwrap();
}
