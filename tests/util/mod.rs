//! Shared helpers for the net tests: a deadline-bounded runtime and a seeded
//! random generator.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

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
