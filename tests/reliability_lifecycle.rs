//! Reliability, task lifecycle (issue 7, item 8): every combination of how a
//! task ends, how its future and output drop, and what happens to its
//! JoinHandle, checked for double drops and leaks.
//!
//! Bug class guarded against: use-after-free and double-free in the task state
//! machine, and leaked task allocations, under panics and races between abort,
//! completion and handle drops.
//!
//! This file is its own test binary with a counting global allocator, and holds
//! a single test so that no other test allocates concurrently.

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[derive(Clone, Copy, Debug)]
enum Ends {
    Completes,
    PanicsInPoll,
    NeverCompletes,
}

#[derive(Clone, Copy, Debug)]
enum Handle {
    Awaited,
    DroppedBeforeFirstPoll,
    DroppedWhileIdle,
    DroppedAfterCompletion,
}

#[derive(Clone, Copy, Debug)]
enum Abort {
    Never,
    BeforeFirstPoll,
    WhileIdle,
    AfterCompletion,
}

#[derive(Default)]
struct Counts {
    future_drops: AtomicUsize,
    output_drops: AtomicUsize,
    outputs_made: AtomicUsize,
}

struct Output {
    counts: Arc<Counts>,
    panic_on_drop: bool,
}

impl Drop for Output {
    fn drop(&mut self) {
        self.counts.output_drops.fetch_add(1, Ordering::SeqCst);
        if self.panic_on_drop {
            panic!("output panics on drop");
        }
    }
}

/// Pending once (so it can be idle), then ends as told.
struct Subject {
    counts: Arc<Counts>,
    ends: Ends,
    panic_on_drop: bool,
    output_panics_on_drop: bool,
    polls: usize,
}

impl Future for Subject {
    type Output = Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        self.polls += 1;
        if self.polls == 1 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match self.ends {
            Ends::Completes => {
                self.counts.outputs_made.fetch_add(1, Ordering::SeqCst);
                Poll::Ready(Output {
                    counts: self.counts.clone(),
                    panic_on_drop: self.output_panics_on_drop,
                })
            }
            Ends::PanicsInPoll => panic!("poll panics"),
            Ends::NeverCompletes => Poll::Pending,
        }
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        self.counts.future_drops.fetch_add(1, Ordering::SeqCst);
        if self.panic_on_drop {
            panic!("future panics on drop");
        }
    }
}

async fn settle() {
    for _ in 0..4 {
        kiwi::yield_now().await;
    }
}

fn run_case(
    ends: Ends,
    fut_panics: bool,
    out_panics: bool,
    handle: Handle,
    abort: Abort,
) -> Arc<Counts> {
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    kiwi::block_on(async move {
        let subject = Subject {
            counts: c.clone(),
            ends,
            panic_on_drop: fut_panics,
            output_panics_on_drop: out_panics,
            polls: 0,
        };
        let jh = kiwi::spawn(subject);
        let aborter = jh.abort_handle();
        let mut jh = Some(jh);
        if let Abort::BeforeFirstPoll = abort {
            aborter.abort();
        }
        if let Handle::DroppedBeforeFirstPoll = handle {
            drop(jh.take());
        }
        kiwi::yield_now().await; // first poll: Pending
        if let Abort::WhileIdle = abort {
            aborter.abort();
        }
        if let Handle::DroppedWhileIdle = handle {
            drop(jh.take());
        }
        settle().await;
        if let Abort::AfterCompletion = abort {
            aborter.abort();
        }
        if let Handle::DroppedAfterCompletion = handle {
            drop(jh.take());
        }
        if let (Handle::Awaited, Some(jh)) = (handle, jh.take()) {
            let finishes = !matches!(ends, Ends::NeverCompletes)
                || matches!(abort, Abort::BeforeFirstPoll | Abort::WhileIdle);
            if finishes {
                match jh.await {
                    Ok(out) => {
                        let _ =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(out)));
                    }
                    Err(e) => assert!(e.is_cancelled() || e.is_panic()),
                }
            }
        }
        settle().await;
    });
    counts
}

/// Runs every combination once; returns how many there were.
fn sweep() -> usize {
    let mut cases = 0;
    for ends in [Ends::Completes, Ends::PanicsInPoll, Ends::NeverCompletes] {
        for fut_panics in [false, true] {
            for out_panics in [false, true] {
                for handle in [
                    Handle::Awaited,
                    Handle::DroppedBeforeFirstPoll,
                    Handle::DroppedWhileIdle,
                    Handle::DroppedAfterCompletion,
                ] {
                    for abort in [
                        Abort::Never,
                        Abort::BeforeFirstPoll,
                        Abort::WhileIdle,
                        Abort::AfterCompletion,
                    ] {
                        let what = format!("{ends:?} fut_panics={fut_panics} out_panics={out_panics} {handle:?} {abort:?}");
                        let counts = run_case(ends, fut_panics, out_panics, handle, abort);
                        assert_eq!(
                            counts.future_drops.load(Ordering::SeqCst),
                            1,
                            "future drops: {what}"
                        );
                        let made = counts.outputs_made.load(Ordering::SeqCst);
                        assert!(made <= 1, "{what}");
                        assert_eq!(
                            counts.output_drops.load(Ordering::SeqCst),
                            made,
                            "output drops: {what}"
                        );
                        cases += 1;
                    }
                }
            }
        }
    }
    cases
}

#[test]
fn every_lifecycle_combination_drops_once_and_leaks_nothing() {
    // Under the global deadline like every reliability test. The waiting
    // thread allocates nothing while the sweeps run, so the count holds.
    util::rt::with_deadline(120, || {
        std::panic::set_hook(Box::new(|_| {})); // the panics below are expected
                                                // The first sweep also pays for one-time lazy allocations (thread-locals,
                                                // panic machinery, buffers that grow once); a per-task leak would show up
                                                // again in the second sweep, which is the one measured.
        assert_eq!(sweep(), 3 * 2 * 2 * 4 * 4);
        let base = LIVE.load(Ordering::SeqCst);
        let cases = sweep();
        let leaked = LIVE.load(Ordering::SeqCst) - base;
        let _ = std::panic::take_hook();
        assert!(
            leaked <= 0,
            "{leaked} bytes still allocated after {cases} cases"
        );
    });
}
