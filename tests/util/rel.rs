//! Helpers shared by the reliability suite (`tests/reliability_*.rs`, issue 7):
//! the global deadline, the `KIWI_STRESS` scale switch, process-wide counters
//! (descriptors, CPU time, live heap bytes), descriptor limits, and a seeded
//! generator and hash for verifying echoed bytes.

// One deadline helper and one generator for every test binary.
#[allow(unused_imports)] // not every binary uses all of them
pub use super::net::Rng;
#[allow(unused_imports)]
pub use super::net::{
    checked_echo_client, cpu_load, jitter, jittery_echo, lock, seed, spin, Tally, TallyGuard,
};
#[allow(unused_imports)]
pub use super::rt::with_deadline;

use std::alloc::{GlobalAlloc, Layout, System};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

/// True when `KIWI_STRESS=1` asks for the full-size figures of issue 7.
pub fn stress() -> bool {
    std::env::var("KIWI_STRESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `full` under `KIWI_STRESS=1`, otherwise `default` (the CI scale).
pub fn scale(default: usize, full: usize) -> usize {
    if stress() {
        full
    } else {
        default
    }
}

/// Open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Prints every open descriptor (for a failure message).
pub fn dump_fds() {
    for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        eprintln!(
            "fd {:?} -> {:?}",
            e.file_name(),
            std::fs::read_link(e.path()).ok()
        );
    }
}

/// User plus system CPU time of the whole process.
pub fn cpu_time() -> Duration {
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a struct we own.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The soft and hard `RLIMIT_NOFILE`.
pub fn nofile() -> (u64, u64) {
    // SAFETY: rlimit is plain data.
    let mut r: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    (r.rlim_cur, r.rlim_max)
}

/// Sets the soft `RLIMIT_NOFILE` (clamped to the hard limit); returns the value set.
pub fn set_soft_nofile(soft: u64) -> u64 {
    let (_, hard) = nofile();
    let r = libc::rlimit {
        rlim_cur: soft.min(hard),
        rlim_max: hard,
    };
    // SAFETY: valid pointer to a struct we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) }, 0);
    r.rlim_cur
}

/// Sets `SO_LINGER` to zero on any socket: its `close(2)` then sends an RST.
pub fn set_linger_zero_raw(sock: &impl AsRawFd) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid descriptor and a pointer to a linger struct of the given size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER)");
}

/// Sets an `int` socket option (for example `SO_RCVBUF`).
pub fn set_int_opt(sock: &impl AsRawFd, level: i32, opt: i32, value: i32) {
    // SAFETY: a valid descriptor and a pointer to an int of the given size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            opt,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt({level}, {opt})");
}

/// Sum of the descriptors registered with every worker's reactor.
pub fn registrations(m: &kiwi::RuntimeMetrics) -> u64 {
    (0..m.num_workers())
        .map(|i| m.worker(i).registrations())
        .sum()
}

/// Sum of every worker's EMFILE/ENFILE back-offs.
pub fn emfile_backoffs(m: &kiwi::RuntimeMetrics) -> u64 {
    (0..m.num_workers())
        .map(|i| m.worker(i).emfile_backoffs())
        .sum()
}

/// Waits (from any thread) until no drop-flush is in progress, or panics after `limit`.
pub fn wait_drop_flushes(m: &kiwi::RuntimeMetrics, limit: Duration) {
    let t0 = Instant::now();
    while m.io().drop_flushes_pending() > 0 {
        assert!(
            t0.elapsed() < limit,
            "{} drop-flushes still pending after {limit:?}",
            m.io().drop_flushes_pending()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `cond` every 5 ms until it holds, or panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < limit, "timed out after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// the sent bytes around.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub fn value(self) -> u64 {
        self.0
    }
}

/// Live heap bytes, when the binary installs [`Counting`] as its global allocator.
pub static LIVE: AtomicIsize = AtomicIsize::new(0);

/// A counting global allocator: forwards to the system allocator and keeps
/// [`LIVE`] up to date. Unlike RSS, it sees a release even when glibc keeps the
/// pages in an arena. Install it with
/// `#[global_allocator] static A: util::rel::Counting = util::rel::Counting;`
/// in a binary that holds one test (the count is process-wide).
pub struct Counting;

// SAFETY: forwards every call to the system allocator with the same arguments,
// and only adds bookkeeping on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Live heap bytes now (meaningful only with [`Counting`] installed).
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::SeqCst)
}
