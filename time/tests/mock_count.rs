//! `sleep(d)` skips the thread-local driver lookup while no driver on a mock
//! clock exists (a process-wide count). This binary holds one test so that
//! no other test's mock drivers hide a wrong count.

use kiwi_time::clock::Clock;
use kiwi_time::driver::Driver;
use kiwi_time::sleep;
use std::task::Waker;
use std::time::{Duration, Instant};

/// Real drivers must not move the count: dropping one while a mock driver is
/// entered must leave `sleep` reading the mock clock; once the mock driver is
/// gone, `sleep` reads the real one.
#[test]
fn sleep_follows_the_mock_clock_exactly_while_a_mock_driver_lives() {
    let start = Instant::now();
    let far = Duration::from_secs(1000);
    {
        let (clock, handle) = Clock::mock(start);
        handle.advance(far);
        let mock = Driver::with_clock(Waker::noop().clone(), clock);
        let _guard = mock.enter();
        assert_eq!(sleep(Duration::ZERO).deadline(), start + far);

        drop(Driver::new(Waker::noop().clone())); // a real driver comes and goes
        assert_eq!(sleep(Duration::ZERO).deadline(), start + far);
    }
    let real = Driver::new(Waker::noop().clone());
    let _guard = real.enter();
    let before = Instant::now();
    let deadline = sleep(Duration::ZERO).deadline();
    assert!(before <= deadline && deadline <= Instant::now());
}
