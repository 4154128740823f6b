//! Unix signals (issue 12, item 1): every kind with a real `kill`, several
//! listeners, deliveries before the first `recv`, coalescing, and the
//! signals that cannot be awaited.
//!
//! Signals are process-wide, so everything here runs in one test function,
//! one step after another: two tests in parallel would see each other's
//! deliveries.

mod util;

use std::io;
use std::time::Duration;

use kiwi::signal::unix::{signal, SignalKind};
use util::rt::with_deadline;

/// Sends `signum` to this process, as `kill -SIG <pid>` would.
fn raise(signum: i32) {
    // SAFETY: kill(2) on our own pid touches no memory of ours; the signal
    // has kiwi's handler installed before any call here.
    let rc = unsafe { libc::kill(libc::getpid(), signum) };
    assert_eq!(
        rc,
        0,
        "kill({signum}) failed: {}",
        io::Error::last_os_error()
    );
}

/// True if `recv` completes within `wait`.
async fn arrives(sig: &mut kiwi::signal::unix::Signal, wait: Duration) -> bool {
    kiwi::time::timeout(wait, sig.recv()).await.is_ok()
}

#[test]
fn signals_are_delivered_to_every_listener_once_per_burst() {
    with_deadline(60, || {
        kiwi::block_on(async {
            let kinds = [
                ("interrupt", SignalKind::interrupt()),
                ("terminate", SignalKind::terminate()),
                ("hangup", SignalKind::hangup()),
                ("quit", SignalKind::quit()),
                ("user_defined1", SignalKind::user_defined1()),
                ("user_defined2", SignalKind::user_defined2()),
                ("child", SignalKind::child()),
                ("alarm", SignalKind::alarm()),
                ("window_change", SignalKind::window_change()),
                ("pipe", SignalKind::pipe()),
            ];
            let long = Duration::from_secs(5);
            let short = Duration::from_millis(50);
            for (name, kind) in kinds {
                // Two listeners at once, the second created before the signal
                // and first awaited after it.
                let mut a = signal(kind).unwrap();
                let mut b = signal(kind).unwrap();
                raise(kind.as_raw_value());
                assert_eq!(
                    kiwi::time::timeout(long, a.recv()).await,
                    Ok(Some(())),
                    "{name}: the first listener missed it"
                );
                assert!(arrives(&mut b, long).await, "{name}: the second missed it");
                // Nothing more arrived, so nothing more is reported.
                assert!(!arrives(&mut a, short).await, "{name}: reported twice");
                // A burst between two `recv`s is one delivery.
                for _ in 0..3 {
                    raise(kind.as_raw_value());
                }
                // Let every delivery land (another thread may take them)
                // before looking.
                std::thread::sleep(Duration::from_millis(20));
                assert!(arrives(&mut a, long).await, "{name}: burst missed");
                assert!(!arrives(&mut a, short).await, "{name}: burst not coalesced");
                // A listener made after a delivery does not see it.
                let mut late = signal(kind).unwrap();
                assert!(!arrives(&mut late, short).await, "{name}: saw the past");
            }

            // Another signal's delivery wakes nobody for this one.
            let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
            raise(libc::SIGUSR2);
            assert!(!arrives(&mut usr1, short).await, "USR2 counted as USR1");

            // Signals that cannot be awaited are refused, with the reason.
            for signum in [
                libc::SIGKILL,
                libc::SIGSTOP,
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGILL,
                libc::SIGFPE,
                0,
                -1,
                1000,
            ] {
                let err = signal(SignalKind::from_raw(signum)).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}");
                assert!(
                    err.to_string().contains(&format!("signal {signum}")),
                    "{err}"
                );
            }

            // `Signal` is a `futures_core::Stream` of deliveries.
            use futures_util::StreamExt;
            let mut winch = signal(SignalKind::window_change()).unwrap();
            raise(libc::SIGWINCH);
            let next = kiwi::time::timeout(long, winch.next()).await;
            assert_eq!(next, Ok(Some(())));

            // ctrl_c still works, on the same machinery.
            let ctrl_c = kiwi::signal::ctrl_c();
            raise(libc::SIGINT);
            kiwi::time::timeout(long, ctrl_c)
                .await
                .expect("ctrl_c missed SIGINT")
                .unwrap();
        });

        // A listener on a worker thread, the signal sent from another thread.
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        rt.block_on(async {
            let mut term = signal(SignalKind::terminate()).unwrap();
            let waiter = kiwi::spawn(async move { term.recv().await });
            kiwi::time::sleep(Duration::from_millis(20)).await;
            std::thread::spawn(|| raise(libc::SIGTERM)).join().unwrap();
            let got = kiwi::time::timeout(Duration::from_secs(5), waiter).await;
            assert_eq!(got.map(Result::unwrap), Ok(Some(())));
        });
    });
}
