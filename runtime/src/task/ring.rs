//! A worker's run queue: a bounded ring that only its owner pushes to and any
//! thread may steal half of, and the shared overflow ("inject") queue behind it.
//!
//! # Why a bounded ring
//!
//! A worker pushes and pops its own tasks far more often than anyone steals them,
//! so its queue is a fixed array of [`CAPACITY`] slots and two `u32` positions,
//! `head` and `tail`: no allocation per push, no pointers to chase, and position
//! `pos` lives in slot `pos % CAPACITY`. Positions wrap; `tail - head` (wrapping)
//! is the length, and since `u32` is far wider than the ring, full and empty never
//! look alike. The bound is a feature: a full ring means this worker makes work
//! faster than it runs it, which is when the surplus should go where idle workers
//! look.
//!
//! # Who may call what
//!
//! | handle | held by | may |
//! |---|---|---|
//! | [`Local`] | the owning worker (`Send`, `!Sync`, not `Clone`) | push at the tail, pop at the head, receive a steal |
//! | [`Stealer`] | any thread (`Send + Sync + Clone`) | claim about half the items at the head |
//! | [`Inject`] | any thread | push, pop, close |
//!
//! Only the owner writes `tail` and the slots; everyone moves `head` forward by
//! compare-and-swap (CAS), so a pop and a steal never claim the same slot. The
//! `T: Send` bound sits on [`ring`] and on the `Send`/`Sync` impls, the only
//! places that hand items to another thread.
//!
//! # How a steal claims half with one CAS
//!
//! `head` is one `AtomicU64` packing two positions: `real`, the next item to hand
//! out, and `steal`, the first slot a stealer may still be copying out of (equal to
//! `real` when no steal is in flight). A steal:
//!
//! 1. reads `(h, h)` and `tail`, or gives up if `steal != real`: one steal per
//!    victim at a time keeps the owner's arithmetic to a single number;
//! 2. CASes `(h, h)` to `(h, h + n)`, `n` being half the items rounded up: the
//!    batch `[h, h + n)` is the thief's, and the owner pops on after it;
//! 3. copies the batch into the thief's own, empty, ring;
//! 4. CASes `(h, r)` to `(r, r)`, retrying while the owner's pops move `r`.
//!
//! The owner measures free room from `steal`, so it never writes a slot still
//! being copied. Go's `runqgrab` copies first and CASes after, discarding the copy
//! if the CAS fails; in Rust that speculative read of a slot the owner may be
//! overwriting is a data race, undefined behaviour. Claiming first (tokio's
//! design) removes it.
//!
//! # Overflow, and why half
//!
//! A push into a full ring moves the oldest `CAPACITY / 2` items plus the new one
//! to the [`Inject`] queue under one lock. The owner claims them as a thief would,
//! with one CAS on `head`, which is why it takes the *oldest*. Moving one item
//! would make every later push overflow again, a lock per push; moving all would
//! leave the worker idle; moving half puts the next overflow `CAPACITY / 2` pushes
//! away. If a steal is in flight it is about to free room, so only the new item
//! goes.
//!
//! The inject queue is a `Mutex<VecDeque>`: overflow, remote wakes and the
//! fairness check (every 61 ticks) touch it rarely. But "is anything in it?" is
//! asked every turn, so a length kept beside it, stored under the lock, answers
//! with one relaxed load. That answer is a hint: it says whether to take the lock,
//! not whether to sleep (the park handshake decides that).
//!
//! # Memory ordering, in three rules
//!
//! - **`tail` publishes items.** The owner writes a slot, then stores `tail`
//!   (`Release`); a stealer loads `tail` (`Acquire`) before reading a slot below it.
//! - **`head` is never ahead of `tail`.** Each write to `head` is `Release`, by a
//!   thread that had seen `tail` at least that far; a stealer loads `head`
//!   (`Acquire`) and then `tail`, so `tail - real` never wraps below zero.
//! - **`steal` gives slots back.** A thief's last CAS is `Release`; the owner loads
//!   `head` (`Acquire`) before writing a slot, so the copy happens before the
//!   overwrite.
//!
//! The owner reads `tail`, and `head` where it writes no slot, with `Relaxed`: it
//! wrote the slots it reads, and a failed CAS just retries. The loom models in
//! `ring/loom_tests.rs` fail if any ordering that guards a slot is weakened; the
//! claim CAS's `Release` and [`Stealer::len`]'s loads only keep that count honest.
//!
//! Under `cfg(loom)` the ring has 4 slots, not 256: the algorithm uses `CAPACITY`
//! only through the mask and the half, and a tiny ring lets the model checker
//! reach "full", "wrapped" and "overflowing" in a few steps. A const generic would
//! do the same but put a test-only parameter in every worker type.

use std::cell::Cell;
use std::collections::VecDeque;
use std::iter;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use crate::loom::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex};
use crate::loom::UnsafeCell;

/// Slots in one worker's ring (a power of two).
#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;

/// Slots in one worker's ring: tiny under loom, see the module docs.
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;

/// `pos & MASK` is the slot of position `pos`.
const MASK: usize = CAPACITY - 1;

/// What an overflow moves out, and the most a steal can take.
const HALF: u32 = (CAPACITY / 2) as u32;

// Positions are `u32`: the ring must be a power of two (for the mask) and far
// smaller than 2^32 (so that full and empty differ, and a stale position needs
// 2^32 operations to come back).
const _: () = assert!(CAPACITY.is_power_of_two() && CAPACITY <= 1 << 16);

/// One slot: an item between its push and its pop, otherwise uninitialised.
type Slot<T> = UnsafeCell<MaybeUninit<T>>;

/// Creates one worker's ring: the owner's end and the handle other workers steal through.
pub(crate) fn ring<T: Send>() -> (Local<T>, Stealer<T>) {
    ring_at(0)
}

/// A ring whose positions start at `start`; tests start near `u32::MAX` to wrap.
fn ring_at<T: Send>(start: u32) -> (Local<T>, Stealer<T>) {
    let inner = Arc::new(Inner {
        head: AtomicU64::new(pack(start, start)),
        tail: AtomicU32::new(start),
        slots: Box::new(std::array::from_fn(|_| {
            UnsafeCell::new(MaybeUninit::uninit())
        })),
    });
    let local = Local {
        inner: inner.clone(),
        _not_sync: PhantomData,
    };
    (local, Stealer(inner))
}

/// The ring shared by a [`Local`] and its [`Stealer`]s.
struct Inner<T> {
    /// `(steal << 32) | real`. Items live at positions `[real, tail)`; slots in
    /// `[steal, real)` are being copied out by a stealer. Moved forward by CAS,
    /// by anyone; every write is `Release` (see the module docs).
    head: AtomicU64,
    /// One past the newest item. Written only by the owner, always `Release`.
    tail: AtomicU32,
    /// Slot `pos & MASK` holds an item when `pos` is in `[real, tail)`, is being
    /// copied out when in `[steal, real)`, and is free otherwise.
    slots: Box<[Slot<T>; CAPACITY]>,
}

// SAFETY: items move from the owner's thread to stealers' threads, hence `T:
// Send`. No `&T` is ever shared: each slot is accessed by one thread at a time,
// as arbitrated by the CASes on `head` (reads) and the owner's room check (writes).
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; `&Inner` only exposes atomics and the claim protocol.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    /// Moves the item out of position `pos`.
    ///
    /// # Safety
    /// The caller has claimed `pos` (by a CAS on `head` that moved `real` past
    /// it) and it held an item; no other thread touches the slot until the caller
    /// gives it back (the owner: at once; a stealer: with its final CAS).
    unsafe fn take(&self, pos: u32) -> T {
        // SAFETY: the claimed slot holds an initialised item, read exactly once.
        self.slots[pos as usize & MASK].with(|slot| unsafe { slot.read().assume_init() })
    }

    /// Writes `item` at position `pos`, overwriting nothing.
    ///
    /// # Safety
    /// The caller is the owner, `pos` is at or past `tail`, and `pos - steal <
    /// CAPACITY` for a `steal` loaded with `Acquire`: the slot is empty and no
    /// stealer is still reading it.
    unsafe fn put(&self, pos: u32, item: T) {
        // SAFETY: forwarded; an empty slot has no item to leak.
        self.slots[pos as usize & MASK]
            .with_mut(|slot| unsafe { slot.write(MaybeUninit::new(item)) })
    }
}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

/// The owner's end. Send but !Sync and not Clone: only the thread that holds it pushes and pops.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
    /// `Cell` is `Send + !Sync`, and so is `Local`.
    _not_sync: PhantomData<Cell<()>>,
}

impl<T> Local<T> {
    /// Pushes to the back. If the ring is full, moves the oldest `CAPACITY / 2`
    /// items plus `item` to `inject` under one lock (if a steal is in flight, only
    /// `item` goes: the steal is about to free room). Returns true if it
    /// overflowed to `inject`.
    pub(crate) fn push_back(&mut self, mut item: T, inject: &Inject<T>) -> bool {
        loop {
            // Acquire: pairs with a stealer's final CAS, so its copies out of the
            // slots below `steal` happen before we write into them.
            let head = self.inner.head.load(Ordering::Acquire);
            let (steal, real) = unpack(head);
            // Relaxed: only this thread writes `tail`.
            let tail = self.inner.tail.load(Ordering::Relaxed);
            if (tail.wrapping_sub(steal) as usize) < CAPACITY {
                // SAFETY: we are the owner, and `tail - steal < CAPACITY` was
                // measured from an Acquire load of `head`.
                unsafe { self.inner.put(tail, item) };
                // Release: publishes the item to stealers, who load `tail` with Acquire.
                self.inner
                    .tail
                    .store(tail.wrapping_add(1), Ordering::Release);
                return false;
            }
            if steal != real {
                inject.push_batch(iter::once(item));
                return true;
            }
            match self.overflow(head, inject, item) {
                Ok(()) => return true,
                // A stealer moved `head` first: there may be room now.
                Err(back) => item = back,
            }
        }
    }

    /// Moves the oldest half of a full ring, plus `item`, to `inject`. `head` is
    /// `(real, real)`, read just now. Err(item) if a stealer changed it meanwhile.
    fn overflow(&mut self, head: u64, inject: &Inject<T>, item: T) -> Result<(), T> {
        let (_, real) = unpack(head);
        let end = real.wrapping_add(HALF);
        // Release: the head rule (our `tail` is past `end`). Relaxed on failure:
        // we only retry. The CAS makes `[real, end)` ours, as a steal would.
        if (self.inner.head)
            .compare_exchange(head, pack(end, end), Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            return Err(item);
        }
        // SAFETY: the CAS claimed `[real, end)` and moved `steal` along, so no
        // stealer reads these slots; each position is taken once. (`push_batch`
        // consumes the whole batch: no item stays in a freed slot.)
        let batch = (0..HALF).map(|i| unsafe { self.inner.take(real.wrapping_add(i)) });
        inject.push_batch(batch.chain(iter::once(item)));
        Ok(())
    }

    /// Pops from the front (FIFO).
    pub(crate) fn pop(&mut self) -> Option<T> {
        loop {
            // Relaxed (both): we read only a slot we wrote ourselves, and the CAS
            // below fails if `head` moved since.
            let head = self.inner.head.load(Ordering::Relaxed);
            let (steal, real) = unpack(head);
            if real == self.inner.tail.load(Ordering::Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            // With no steal in flight both halves move; otherwise `steal` is the
            // stealer's to release.
            let next_steal = if steal == real { next_real } else { steal };
            // Release: the head rule. Relaxed on failure: we reload and retry.
            let next = pack(next_steal, next_real);
            if (self.inner.head)
                .compare_exchange_weak(head, next, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: the CAS moved `real` past this position: it is ours alone.
                return Some(unsafe { self.inner.take(real) });
            }
        }
    }

    /// Items queued (exact for the owner, modulo a steal in flight).
    pub(crate) fn len(&self) -> usize {
        // Relaxed: a count, not a licence to touch slots; `tail` is our own.
        let (_, real) = unpack(self.inner.head.load(Ordering::Relaxed));
        self.inner.tail.load(Ordering::Relaxed).wrapping_sub(real) as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if there is room for `n` more items without overflowing.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn has_room(&self, n: usize) -> bool {
        self.room() >= n
    }

    /// Free slots, counting those a stealer is still copying out as taken.
    fn room(&self) -> usize {
        // Acquire: the slot rule, as in `push_back`; callers write into the room.
        let (steal, _) = unpack(self.inner.head.load(Ordering::Acquire));
        CAPACITY - self.inner.tail.load(Ordering::Relaxed).wrapping_sub(steal) as usize
    }

    /// Writes `items` at the tail and publishes them with one `Release` store.
    /// Callers measure `room` first; a larger batch panics before it overwrites.
    fn append(&mut self, items: impl Iterator<Item = T>) {
        let room = self.room();
        let tail = self.inner.tail.load(Ordering::Relaxed);
        let mut end = tail;
        for item in items {
            assert!(
                (end.wrapping_sub(tail) as usize) < room,
                "append past the free room"
            );
            // SAFETY: we are the owner and `end` lies within the room measured
            // from an Acquire load of `head`.
            unsafe { self.inner.put(end, item) };
            end = end.wrapping_add(1);
        }
        // Release: publishes the batch to stealers.
        self.inner.tail.store(end, Ordering::Release);
    }
}

impl<T> Drop for Local<T> {
    /// Drops what is left, here and now rather than whenever the last
    /// [`Stealer`] goes (which, if an item owns a handle to the runtime that
    /// holds the stealers, would be never). Stealers find the ring empty after.
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

/// Any thread's handle to steal from a ring. Send + Sync + Clone (an Arc inside).
pub(crate) struct Stealer<T>(Arc<Inner<T>>);

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Stealer<T> {
        Stealer(self.0.clone())
    }
}

impl<T> std::fmt::Debug for Stealer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stealer").field("len", &self.len()).finish()
    }
}

impl<T> Stealer<T> {
    /// Moves about half (rounding up) of this ring's items into `dst` (the
    /// caller's own ring, which must be empty: a worker steals only when it has
    /// nothing) and returns one of them (the oldest) to run at once. None if
    /// there was nothing to steal, or another steal is in flight on this victim.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        debug_assert!(dst.is_empty(), "steal_into a non-empty ring");
        // An empty `dst` has room for `HALF` even while someone steals from it;
        // bounding by its room keeps a broken promise from overwriting items.
        let max = dst.room() as u32 + 1;
        let (first, n) = self.claim(max)?;
        // SAFETY: `claim` gave us `[first, first + n)`, and `n >= 1`.
        let run_now = unsafe { self.0.take(first) };
        // SAFETY: as above, for the rest of the batch, each taken once.
        let rest = (1..n).map(|i| unsafe { self.0.take(first.wrapping_add(i)) });
        dst.append(rest);
        self.release(first);
        Some(run_now)
    }

    /// Steps 1 and 2 of a steal: claims up to `max` items, about half of those
    /// queued. Returns the first position and the count.
    fn claim(&self, max: u32) -> Option<(u32, u32)> {
        loop {
            // Acquire (both): the head rule, then the item rule; see the module docs.
            let head = self.0.head.load(Ordering::Acquire);
            let (steal, real) = unpack(head);
            if steal != real {
                return None;
            }
            let tail = self.0.tail.load(Ordering::Acquire);
            // `tail - real` can exceed CAPACITY if the owner popped and pushed
            // between our two loads; `head` has moved then, and the CAS fails.
            let queued = tail.wrapping_sub(real);
            let n = (queued - queued / 2).min(max);
            if n == 0 {
                return None;
            }
            // Release: the head rule (we saw `tail >= real + n`). Relaxed on
            // failure: we reload both positions and start over.
            let next = pack(steal, real.wrapping_add(n));
            if (self.0.head)
                .compare_exchange_weak(head, next, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                debug_assert!(n <= HALF);
                return Some((real, n));
            }
        }
    }

    /// Step 4 of a steal: sets `steal = real`, giving the batch's slots back.
    fn release(&self, first: u32) {
        // Relaxed: we only need a starting guess for the CAS.
        let mut head = self.0.head.load(Ordering::Relaxed);
        loop {
            let (steal, real) = unpack(head);
            debug_assert_eq!(
                steal, first,
                "only the thief moves `steal` during its steal"
            );
            // Release: the slot rule (our copies happen before the owner's
            // reuse) and the head rule (a `real` taken from the owner's pop keeps
            // its guarantee: a CAS continues the release sequence of the store it
            // replaces). Relaxed on failure: the owner popped; retry with its `real`.
            match (self.0.head).compare_exchange_weak(
                head,
                pack(real, real),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => head = actual,
            }
        }
    }

    /// Approximate number of items (any thread; may be stale).
    pub(crate) fn len(&self) -> usize {
        // Acquire (both): the head rule, so that `tail - real` does not wrap.
        let (_, real) = unpack(self.0.head.load(Ordering::Acquire));
        let tail = self.0.tail.load(Ordering::Acquire);
        (tail.wrapping_sub(real) as usize).min(CAPACITY)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a queue that grows with bursts keeps when it runs dry: the ring's
/// size. A burst (a loop spawning 100,000 tasks before it yields, or as many
/// spawns from outside the pool) grows a `VecDeque` or `Vec` queue to the
/// burst's size, 8 bytes a task; without this, that memory stayed with the
/// queue for good: 10 of the 103 bytes that each of 100,000 pending tasks
/// cost a lone worker (`kiwi-bench micro`, "memory per pending task"), and
/// 4.2 MB after a burst of 200,000 spawns into a pool of two
/// (`tests/reliability_bursts.rs`).
pub(crate) const KEEP_WHEN_EMPTY: usize = 256;

/// Gives a dry deque's burst capacity back. Only when it is empty, which is
/// when its reader is about to look elsewhere or park: a worker that keeps
/// queueing never pays the reallocation, and one that alternates bursts and
/// silences pays one per burst, next to the burst's own doublings. Used for
/// the lone worker's deque, the queues of local tasks, and [`Inject`].
pub(crate) fn shrink_after_burst<T>(queue: &mut VecDeque<T>) {
    if queue.is_empty() && queue.capacity() > KEEP_WHEN_EMPTY {
        queue.shrink_to(KEEP_WHEN_EMPTY);
    }
}

/// The shared overflow queue: a `Mutex<VecDeque<T>>` plus an atomic length so
/// that "is it empty?" costs one relaxed load and no lock.
pub(crate) struct Inject<T> {
    /// Copy of `items.len()`, stored under the lock after every change.
    len: AtomicUsize,
    items: Mutex<VecDeque<T>>,
}

impl<T> Inject<T> {
    /// An empty queue.
    pub(crate) fn new() -> Inject<T> {
        Inject {
            len: AtomicUsize::new(0),
            items: Mutex::new(VecDeque::new()),
        }
    }

    /// Runs `f` under the lock, then refreshes the length.
    fn locked<R>(&self, f: impl FnOnce(&mut VecDeque<T>) -> R) -> R {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut items);
        // Relaxed: the lock orders the stores, and readers take the length as
        // a hint; anyone acting on it takes the lock, which synchronises.
        self.len.store(items.len(), Ordering::Relaxed);
        out
    }

    #[cfg(test)]
    pub(crate) fn push(&self, item: T) {
        self.locked(|q| q.push_back(item));
    }

    /// Pushes many under one lock. Never refused, not even during shutdown:
    /// only workers push here, and each drains the queue in its own shutdown
    /// (`worker/shutdown.rs`), so an item pushed late is still found.
    pub(crate) fn push_batch(&self, items: impl Iterator<Item = T>) {
        self.locked(|q| q.extend(items));
    }

    /// Pops the oldest item. A queue that looks empty is not locked: a push
    /// racing this pop may be missed, as it would be by a pop a moment earlier.
    pub(crate) fn pop(&self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        self.locked(|q| {
            let item = q.pop_front();
            shrink_after_burst(q);
            item
        })
    }

    /// Takes up to `max` items under one lock and pushes them into `dst` (which
    /// has room: the caller checked), returning the first one to run now.
    pub(crate) fn pop_batch_into(&self, dst: &mut Local<T>, max: usize) -> Option<T> {
        if max == 0 || self.is_empty() {
            return None;
        }
        let room = dst.room();
        self.locked(|q| {
            let run_now = q.pop_front()?;
            let n = (max - 1).min(room).min(q.len());
            dst.append(q.drain(..n));
            shrink_after_burst(q);
            Some(run_now)
        })
    }

    /// Items queued: a hint, stale as soon as it is read.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// One relaxed load, no lock.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The auto traits the worker relies on, checked at compile time.
fn _assert_auto_traits<T: Send>() {
    fn send<X: Send>() {}
    fn sync<X: Sync>() {}
    send::<Local<T>>();
    send::<Stealer<T>>();
    sync::<Stealer<T>>();
    send::<Inject<T>>();
    sync::<Inject<T>>();
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
