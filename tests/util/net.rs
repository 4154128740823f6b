//! Shared helpers for the net tests: a deadline-bounded runtime and a seeded
//! random generator; for the stress tests, a seed from the environment, a CPU
//! spin, a drop tally, and an echo server and client that yield and spin at
//! random.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::Duration;

use kiwi::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::net::AsyncTcpStream;

/// Global deadline of each test: nothing may hang CI.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `fut` on a two-worker runtime under [`DEADLINE`].
pub fn run<F: Future + Send + 'static>(fut: F) -> F::Output
where
    F::Output: Send + 'static,
{
    let rt = kiwi::Builder::new().workers(2).build().expect("runtime");
    let out = rt.block_on(async move {
        kiwi::time::timeout(DEADLINE, fut)
            .await
            .expect("test exceeded its global deadline")
    });
    rt.shutdown_timeout(Duration::from_secs(5));
    out
}

/// Runs `fut` on `kiwi::block_on` (one worker: the calling thread).
pub fn run_local<F: Future>(fut: F) -> F::Output {
    kiwi::block_on(async move {
        kiwi::time::timeout(DEADLINE, fut)
            .await
            .expect("test exceeded its global deadline")
    })
}

/// xorshift64*: small, seeded, good enough for chunk sizes and payloads.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// Fills `buf` with pseudo-random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let x = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&x[..chunk.len()]);
        }
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// The seed of a randomized test: `KIWI_SEED` (hex with `0x`, or decimal) when
/// set, else one from the clock. Printed (shown when the test fails), so that
/// `KIWI_SEED=...` replays the same random choices.
pub fn seed(test: &str) -> u64 {
    let env = std::env::var("KIWI_SEED").ok();
    let s = env.and_then(|s| match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    });
    let clock = || {
        std::time::UNIX_EPOCH
            .elapsed()
            .map_or(1, |d| d.as_nanos() as u64)
    };
    let s = s.unwrap_or_else(clock);
    eprintln!("{test}: seed {s:#x} (replay with KIWI_SEED={s:#x})");
    s
}

/// Busy CPU for `us` microseconds, without yielding the thread.
pub fn spin(us: usize) {
    let end = std::time::Instant::now() + Duration::from_micros(us as u64);
    while std::time::Instant::now() < end {
        std::hint::spin_loop();
    }
}

/// Counts values (futures, typically) made and dropped: a [`TallyGuard`] is
/// moved into each one. It catches leaks, double drops, and drops of a guard
/// off the thread it was bound to (for `spawn_local` futures).
#[derive(Default)]
pub struct Tally {
    next: AtomicU64,
    live: Mutex<HashMap<u64, &'static str>>,
    made: AtomicUsize,
    dropped: AtomicUsize,
    /// Drops of a guard that was not live: a double drop.
    unmatched: AtomicUsize,
    /// Drops (or, counted by the caller, polls) off the owner thread.
    pub wrong_thread: AtomicUsize,
}

/// Records its drop in a [`Tally`].
pub struct TallyGuard(Arc<Tally>, u64, Option<ThreadId>);

impl Tally {
    /// A guard for a value of `kind`; if `owner` is set, only that thread may drop it.
    pub fn guard(self: &Arc<Self>, kind: &'static str, owner: Option<ThreadId>) -> TallyGuard {
        let id = self.next.fetch_add(1, SeqCst);
        lock(&self.live).insert(id, kind);
        self.made.fetch_add(1, SeqCst);
        TallyGuard(self.clone(), id, owner)
    }

    /// Guards made and not dropped yet.
    pub fn live(&self) -> usize {
        lock(&self.live).len()
    }

    /// Panics (with `ctx`) unless every guard made so far was dropped exactly
    /// once, on its owner thread if it has one.
    pub fn assert_balanced(&self, ctx: &str) {
        let mut alive = std::collections::BTreeMap::<&str, usize>::new();
        for kind in lock(&self.live).values() {
            *alive.entry(kind).or_default() += 1;
        }
        let (made, dropped) = (self.made.load(SeqCst), self.dropped.load(SeqCst));
        let unmatched = self.unmatched.load(SeqCst);
        assert!(
            alive.is_empty() && made == dropped && unmatched == 0,
            "{ctx}: {made} made, {dropped} dropped, {unmatched} dropped twice; \
             still alive by kind: {alive:?}"
        );
        let wrong = self.wrong_thread.load(SeqCst);
        assert_eq!(wrong, 0, "{ctx}: polled or dropped off the owner thread");
    }
}

impl Drop for TallyGuard {
    fn drop(&mut self) {
        if self.2.is_some_and(|o| o != std::thread::current().id()) {
            self.0.wrong_thread.fetch_add(1, SeqCst);
        }
        if lock(&self.0.live).remove(&self.1).is_none() {
            self.0.unmatched.fetch_add(1, SeqCst);
        }
        self.0.dropped.fetch_add(1, SeqCst);
    }
}

/// Locks, ignoring poison (a failed assertion elsewhere must not turn every
/// later drop into a second panic).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A few random yields and short CPU bursts (up to 150 µs).
pub async fn jitter(rng: &mut Rng) {
    for _ in 0..rng.range(0, 3) {
        match rng.range(0, 2) {
            0 => kiwi::yield_now().await,
            1 => spin(rng.range(5, 150)),
            _ => {}
        }
    }
}

/// Echoes `s` until EOF, then closes it, with random CPU bursts and yields
/// between reads; adds the bytes echoed to `echoed`.
pub async fn jittery_echo(
    mut s: AsyncTcpStream,
    seed: u64,
    echoed: Arc<AtomicUsize>,
) -> io::Result<()> {
    let (mut rng, mut buf) = (Rng::new(seed), vec![0u8; 8192]);
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return s.close().await;
        }
        jitter(&mut rng).await;
        s.write_all(&buf[..n]).await?;
        echoed.fetch_add(n, SeqCst);
    }
}

/// Connects to an echo server at `addr` for `rounds` round trips of random
/// sizes (up to 16 KiB), each compared byte for byte, with random yields and
/// CPU bursts between them, then closes and expects a clean EOF. Returns the
/// bytes echoed.
pub async fn checked_echo_client(addr: SocketAddr, seed: u64, rounds: usize) -> io::Result<usize> {
    let mut rng = Rng::new(seed);
    let mut s = AsyncTcpStream::connect(addr).await?;
    let (mut msg, mut back, mut total) = (Vec::new(), Vec::new(), 0);
    for r in 0..rounds {
        let len = rng.range(1, 16 * 1024);
        msg.resize(len, 0);
        rng.fill(&mut msg);
        s.write_all(&msg).await?;
        back.resize(len, 0);
        s.read_exact(&mut back).await?;
        if let Some(at) = (0..len).find(|&i| msg[i] != back[i]) {
            return Err(io::Error::other(format!(
                "round {r}: byte {at} of {len} differs"
            )));
        }
        total += len;
        jitter(&mut rng).await;
    }
    s.close().await?;
    match s.read(&mut [0u8; 1]).await? {
        0 => Ok(total),
        _ => Err(io::Error::other("bytes after the last echo")),
    }
}

/// Spawns `n` tasks from the calling task (with work stealing: all on its
/// worker's queue) that burn CPU in 300 µs turns, yielding between turns, until
/// `stop`; returns their turns.
pub async fn cpu_load(n: usize, stop: Arc<AtomicBool>) -> usize {
    let burner = |stop: Arc<AtomicBool>| async move {
        let mut turns = 0;
        while !stop.load(SeqCst) {
            spin(300);
            turns += 1;
            kiwi::yield_now().await;
        }
        turns
    };
    let hs: Vec<_> = (0..n).map(|_| kiwi::spawn(burner(stop.clone()))).collect();
    let mut turns = 0;
    for h in hs {
        turns += h.await.unwrap();
    }
    turns
}
