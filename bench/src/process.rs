//! Child processes (issue 14): `Command::new("true")` run 1,000 times,
//! 50 at a time, on kiwi (`kiwi::process`) and on tokio (`tokio::process`),
//! each on one worker (`kiwi::block_on`, tokio `current_thread`); the child
//! process of this benchmark may use both CPUs, since the 50 `true`s it
//! starts need somewhere to run.
//!
//! What it reports, per child started:
//!
//! - *`status()`*: 50 tasks, each awaiting `Command::new("true").status()`
//!   until 1,000 have run. **Parent CPU** is user + system time of this whole
//!   process (`getrusage(RUSAGE_SELF)`: every thread, never the children's
//!   own time) from before the first spawn to after the last exit; **wall**
//!   is the elapsed time of the batch.
//! - *the split*: the same batch written `spawn()` then `wait().await`, with
//!   the synchronous `spawn()` call timed on the worker's own CPU clock
//!   (`CLOCK_THREAD_CPUTIME_ID`). What is left of the parent's CPU is the cost
//!   of awaiting the exit and reaping: the pidfd's registration in epoll, the
//!   readiness event, `waitpid`, deregistration and `close`, and the task
//!   switches around them. (One asymmetry: tokio registers the pidfd inside
//!   `spawn()`, kiwi at the first poll of `wait`, so one `epoll_ctl` falls
//!   on different sides of the line; `strace -c` counts in BENCHMARKS.md
//!   show each syscall.)
//!
//! Both runtimes await the exit the same way on this kernel: tokio 1.54 (the
//! version measured) also opens a pidfd (`process/unix/pidfd_reaper.rs`) and
//! falls back to SIGCHLD and its global orphan queue only where
//! `pidfd_open` fails with `ENOSYS`.
//!
//! Each figure is the median of three batches after a warm-up batch of 50.

use std::future::Future;
use std::io;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{self, report, Better, Table};
use crate::rt::{Kiwi, Rt, Tokio};

const CONTENDERS: &[&str] = &["kiwi", "tokio"];
/// Children per batch.
const CHILDREN: usize = 1000;
/// Children in flight at once.
const CONCURRENCY: usize = 50;
/// Measured batches per variant; the median is reported.
const REPS: usize = 3;

/// Runs the `proc` group for `rounds` alternating rounds and returns the rendered table.
pub fn run(rounds: usize) -> io::Result<String> {
    let title =
        "Processes (issue 14): Command::new(\"true\") × 1000, 50 at a time (child on CPUs 0-1)";
    let mut table = Table::new(title, CONTENDERS);
    table.run_rounds(rounds, |c| {
        harness::run_child_two_cpus(&["proc", CONTENDERS[c]])
    })?;
    Ok(table.render())
}

/// Inside a child: measures runtime `rt`, printing `@metric` lines; false
/// for an unknown runtime.
pub fn child(rt: &str) -> bool {
    match rt {
        "kiwi" => measure::<Kiwi>(),
        "tokio" => measure::<Tokio>(),
        _ => return false,
    }
    true
}

/// What the benchmark needs from a runtime's process API.
trait Procs: Rt {
    type Child: Send + 'static;
    /// `Command::new("true").spawn()`.
    fn spawn_true() -> Self::Child;
    /// `child.wait().await`.
    fn wait(child: Self::Child) -> impl Future<Output = ExitStatus> + Send;
    /// `Command::new("true").status().await`.
    fn status_true() -> impl Future<Output = ExitStatus> + Send;
}

impl Procs for Kiwi {
    type Child = kiwi::process::Child;
    fn spawn_true() -> Self::Child {
        kiwi::process::Command::new("true")
            .spawn()
            .expect("spawn true")
    }
    async fn wait(mut child: Self::Child) -> ExitStatus {
        child.wait().await.expect("wait")
    }
    async fn status_true() -> ExitStatus {
        kiwi::process::Command::new("true")
            .status()
            .await
            .expect("status")
    }
}

impl Procs for Tokio {
    type Child = tokio::process::Child;
    fn spawn_true() -> Self::Child {
        tokio::process::Command::new("true")
            .spawn()
            .expect("spawn true")
    }
    async fn wait(mut child: Self::Child) -> ExitStatus {
        child.wait().await.expect("wait")
    }
    async fn status_true() -> ExitStatus {
        tokio::process::Command::new("true")
            .status()
            .await
            .expect("status")
    }
}

/// One batch's figures.
#[derive(Clone, Copy, Default)]
struct Batch {
    wall: Duration,
    /// The whole process's CPU over the batch.
    cpu: Duration,
    /// The worker thread's CPU inside `spawn()` calls (split batches only).
    spawn_cpu: Duration,
}

fn measure<R: Procs>() {
    R::block_on(async {
        batch::<R>(CONCURRENCY, false).await; // warm-up
        let mut whole = Vec::new();
        let mut split = Vec::new();
        for _ in 0..REPS {
            whole.push(batch::<R>(CHILDREN, false).await);
            split.push(batch::<R>(CHILDREN, true).await);
        }
        let per_child = |d: Duration| d.as_secs_f64() * 1e6 / CHILDREN as f64;
        let med = |v: &[Batch], f: &dyn Fn(&Batch) -> f64| {
            harness::median(&v.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
        };
        report(
            "status(): parent CPU per child",
            "µs/child",
            Better::Lower,
            med(&whole, &|b| per_child(b.cpu)),
        );
        report(
            "status(): wall time for 1000",
            "ms",
            Better::Lower,
            med(&whole, &|b| b.wall.as_secs_f64() * 1e3),
        );
        report(
            "split: parent CPU per child",
            "µs/child",
            Better::Lower,
            med(&split, &|b| per_child(b.cpu)),
        );
        report(
            "split: in spawn()",
            "µs/child",
            Better::Lower,
            med(&split, &|b| per_child(b.spawn_cpu)),
        );
        report(
            "split: the rest (await exit, reap)",
            "µs/child",
            Better::Lower,
            med(&split, &|b| per_child(b.cpu.saturating_sub(b.spawn_cpu))),
        );
    });
}

/// Runs `n` children of `true`, `CONCURRENCY` at a time, on the current
/// runtime: `status()` each, or (`split`) `spawn()` timed then `wait()`.
async fn batch<R: Procs>(n: usize, split: bool) -> Batch {
    let next = Arc::new(AtomicUsize::new(0));
    let spawn_ns = Arc::new(AtomicU64::new(0));
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY.min(n))
        .map(|_| {
            let (next, spawn_ns) = (next.clone(), spawn_ns.clone());
            R::spawn(async move {
                while next.fetch_add(1, Relaxed) < n {
                    let status = if split {
                        let before = thread_cpu();
                        let child = R::spawn_true();
                        spawn_ns.fetch_add(duration_ns(thread_cpu() - before), Relaxed);
                        R::wait(child).await
                    } else {
                        R::status_true().await
                    };
                    assert!(status.success(), "true failed: {status}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await;
    }
    Batch {
        wall: t0.elapsed(),
        cpu: process_cpu() - cpu0,
        spawn_cpu: Duration::from_nanos(spawn_ns.load(Relaxed)),
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// User + system CPU of this process, all threads (`getrusage`).
pub fn process_cpu() -> Duration {
    // SAFETY: rusage is plain data; zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage: {}", io::Error::last_os_error());
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
