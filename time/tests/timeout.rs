//! `Timeout` and `Elapsed`, on a mock clock.

mod util;

use kiwi_time::{sleep, timeout, timeout_at, Elapsed, Interval, Sleep, Timeout};
use std::future::{pending, ready, Ready};
use std::io;
use std::time::Duration;
use util::MockDriver;

#[test]
fn inner_ready_first_is_ok() {
    let rt = MockDriver::new();
    let out = rt.block_on(async { timeout(Duration::from_millis(5), ready(7)).await });
    assert_eq!(out, Ok(7));
    assert_eq!(rt.clock.now(), rt.start);
}

#[test]
fn pending_inner_elapses_exactly_at_the_deadline() {
    let rt = MockDriver::new();
    let out = rt.block_on(async { timeout(Duration::from_micros(2500), pending::<()>()).await });
    assert_eq!(out, Err(Elapsed::new()));
    assert_eq!(rt.clock.now(), rt.at(2.5));
    assert!(rt.driver.is_empty());
}

#[test]
fn inner_ready_at_the_deadline_wins() {
    let rt = MockDriver::new();
    let out = rt.block_on(async {
        timeout(Duration::from_millis(10), async {
            sleep(Duration::from_millis(10)).await;
            "inner"
        })
        .await
    });
    assert_eq!(out, Ok("inner"));
}

#[test]
fn timeout_at_and_accessors() {
    let rt = MockDriver::new();
    let deadline = rt.at(3.0);
    let mut t = timeout_at(deadline, ready(1));
    assert_eq!(t.deadline(), deadline);
    let _: &Ready<i32> = t.get_ref();
    let inner_mut: &mut Ready<i32> = t.get_mut();
    *inner_mut = ready(1);
    let inner = t.into_inner();
    assert_eq!(rt.block_on(inner), 1);
}

#[test]
fn elapsed_is_a_timed_out_io_error() {
    let e = Elapsed::new();
    assert_eq!(e, e.clone());
    assert_eq!(format!("{e}"), "deadline has elapsed");
    let _: &dyn std::error::Error = &e;
    let io: io::Error = e.into();
    assert_eq!(io.kind(), io::ErrorKind::TimedOut);
    assert_eq!(io.to_string(), "deadline has elapsed");
}

#[test]
fn auto_traits() {
    fn unpin_send<T: Unpin + Send>() {}
    unpin_send::<Sleep>();
    unpin_send::<Interval>();
    unpin_send::<Timeout<Ready<i32>>>();
    fn send<T: Send>() {}
    send::<Timeout<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>>();
}
