//! `CachePadded`: a value alone on its cache lines.
//!
//! Two atomics that different threads write, side by side in one 64-byte
//! line, make each write evict the other thread's copy of the line even though
//! the threads never touch the same value ("false sharing"). A spawn from
//! outside the pool, for instance, locks the target worker's remote queue and
//! bumps one of its counters, while the worker itself bumps its poll counter
//! and reads its index: unpadded, every spawn cost the worker a cache miss or
//! two. 128 bytes, not 64: x86's adjacent-line prefetcher fetches lines in
//! pairs (crossbeam and tokio pad to 128 for the same reason).

use std::ops::Deref;

/// `T`, aligned (and so padded) to 128 bytes.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
