//! A hierarchical timing wheel: pure data over `u64` ticks.
//!
//! A timer runtime needs three operations to be cheap: *insert* a timer,
//! *cancel* it (most timers are timeouts that never fire), and *find the next
//! one due* (to know how long the thread may sleep). A sorted structure such
//! as a heap or a `BTreeMap` makes insert and cancel O(log n). A *timing
//! wheel* (Varghese & Lauck, "Hashed and Hierarchical Timing Wheels", SOSP
//! 1987) makes both O(1): time is cut into slots, like the face of a clock,
//! and a timer is pushed onto the list of the slot its deadline falls in.
//!
//! One wheel of 1 ms slots would need a slot per millisecond of the longest
//! timer. A *hierarchical* wheel stacks wheels like the hands of a clock:
//!
//! ```text
//! level 0: 64 slots of 1 ms           covers 64 ms
//! level 1: 64 slots of 64 ms          covers ~4 s
//! level 2: 64 slots of 4 s            covers ~4.5 min
//! level 3: 64 slots of ~4.5 min       covers ~4.7 h
//! level 4: 64 slots of ~4.7 h         covers ~12.4 days
//! level 5: 64 slots of ~12.4 days     covers ~2.2 years (2^36 ms)
//! ```
//!
//! A far timer sits in a coarse slot; when the wheel reaches that slot, its
//! timers *cascade*: each is re-filed at a finer level, until at level 0 it
//! lands in the list of its own millisecond. Each timer cascades at most
//! five times in its life, and most are cancelled before the first cascade.
//! [`level`] holds the digit arithmetic that decides where an entry goes.
//!
//! # Why 6 levels of 64 slots of 1 ms
//!
//! Kiwi, the C++ ancestor, used 8 levels of 256 slots with a 10 ms tick, and
//! woke up every 50 ms to turn it, so timers fired up to 50 ms late. Here:
//!
//! - **1 ms ticks** keep a level-0 slot small. The tick only decides *where* a
//!   timer waits; the driver compares exact `Instant`s before firing, so the
//!   tick size affects bookkeeping, never accuracy.
//! - **64 slots** make each level's occupancy fit one `u64`. "Which slot is
//!   next?" is then a rotate and a `trailing_zeros`, never a scan of 256
//!   slots, so the driver can always compute an exact sleep timeout.
//! - **6 levels** cover 2^36 ms, about 2.2 years. Kiwi's 8x256x10ms covered
//!   far more than any timer needs, at 8 KiB of list heads per level. Timers
//!   beyond the span are still accepted: they wait in the top level and are
//!   re-filed, with their true tick, each time their slot comes round.
//!
//! # Storage: a slab with index links
//!
//! Entries live in one `Vec` of nodes. Each slot's list is doubly linked
//! through `u32` indices (`prev`/`next`), so unlinking a node is O(1) given
//! its index, and freed nodes go on a free list for reuse: in steady state,
//! insert and remove allocate nothing. A [`Key`] is a node index plus a
//! *generation*, bumped every time the node is freed, so a stale key (kept
//! after its entry was removed) never reaches the entry that reuses the node.
//! After 2^32 reuses of one node a generation repeats; a key would have to be
//! held across four billion timers of that one node to be confused.
//!
//! # Ready entries
//!
//! The wheel's clock is `elapsed`, moved only by [`Wheel::advance`]. Every
//! entry whose tick is `<= elapsed` sits on one *ready* list, including one
//! inserted with a past tick. The wheel does not decide what "firing" means:
//! its user walks the ready list with [`Wheel::retain_ready`] and removes what
//! it fires. The driver keeps entries whose exact deadline is later in the
//! current millisecond.
//!
//! # Examples
//!
//! ```
//! use kiwi_time::wheel::Wheel;
//!
//! let mut wheel = Wheel::new();
//! let soon = wheel.insert(10, "soon");
//! let later = wheel.insert(5_000, "later");
//! assert_eq!(wheel.next_expiration(), Some(10));
//!
//! wheel.advance(10);
//! let mut fired = Vec::new();
//! wheel.retain_ready(|_key, value| {
//!     fired.push(*value);
//!     false // remove it
//! });
//! assert_eq!(fired, ["soon"]);
//! assert_eq!(wheel.get(soon), None); // the key is stale now
//! assert_eq!(wheel.remove(later), Some("later"));
//! assert!(wheel.is_empty());
//! ```

pub mod level;

use level::{level_for, slot_for, Level, LEVELS};

/// "No node": the end of a list.
const NIL: u32 = u32::MAX;

/// The largest tick the wheel stores: 2^44 ms, about 557 years. Larger ticks
/// are clamped to it. The clock never produces more than ~2^40 (thirty years),
/// and the bound keeps the slot arithmetic far from overflow and caps the
/// number of top-level re-filings of one entry at 2^44 / 2^36 = 256.
pub const MAX_TICK: u64 = 1 << 44;

/// Names one entry of a [`Wheel`]: a node index and that node's generation.
///
/// Keys are `Copy` and may outlive their entry: every lookup with a stale key
/// finds nothing.
///
/// It is one `u64` (generation in the high half, index in the low half)
/// rather than two `u32` fields: a key is written and read back through
/// several return values on the hot path, and two 4-byte stores read back as
/// one 8-byte load defeat the CPU's store-to-load forwarding (measured: about
/// 4 ns per timer on this machine).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(u64);

impl Key {
    #[inline]
    fn new(index: u32, generation: u32) -> Key {
        Key((u64::from(generation) << 32) | u64::from(index))
    }

    #[inline]
    fn index(self) -> u32 {
        self.0 as u32 // the low half, by construction
    }

    #[inline]
    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("index", &self.index())
            .field("generation", &self.generation())
            .finish()
    }
}

/// Which list a node is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// On the free list.
    Vacant,
    /// On the ready list.
    Ready,
    /// In a slot of a level.
    Slot { level: u8, slot: u8 },
}

#[derive(Debug)]
struct Node<T> {
    value: Option<T>,
    when: u64,
    generation: u32,
    prev: u32,
    next: u32,
    place: Place,
}

/// The next slot that needs work, as reported by [`Wheel::next_slot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiration {
    /// The tick at which the slot begins.
    pub tick: u64,
    /// The slot's level: 0 means its entries are due at `tick`; higher levels
    /// mean their entries cascade at `tick`.
    pub level: usize,
    /// The slot within the level.
    pub slot: usize,
}

/// A hierarchical timing wheel of 6 levels x 64 slots, holding values of type
/// `T` under `u64` ticks. See the [module docs](self).
#[derive(Debug)]
pub struct Wheel<T> {
    elapsed: u64,
    levels: [Level; LEVELS],
    ready: u32,
    nodes: Vec<Node<T>>,
    free: u32,
    len: usize,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Wheel::new()
    }
}

impl<T> Wheel<T> {
    /// An empty wheel at tick 0.
    pub fn new() -> Wheel<T> {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(|_| Level::new(NIL)),
            ready: NIL,
            nodes: Vec::new(),
            free: NIL,
            len: 0,
        }
    }

    /// The wheel's current tick: everything at or before it is ready.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// The number of entries, ready or not.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the wheel holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the ready list is non-empty.
    pub fn has_ready(&self) -> bool {
        self.ready != NIL
    }

    /// Adds `value`, due at tick `when`, in O(1). A `when` at or before
    /// [`elapsed`](Wheel::elapsed) goes straight to the ready list.
    ///
    /// # Panics
    ///
    /// Panics if the wheel already holds `u32::MAX` entries (the node index is
    /// a `u32`).
    #[inline]
    pub fn insert(&mut self, when: u64, value: T) -> Key {
        let when = when.min(MAX_TICK);
        let index = if self.free != NIL {
            // Reuse a vacant node in place: only the fields that change are
            // written (this is the steady-state path: no allocation).
            let index = self.free;
            let node = &mut self.nodes[index as usize];
            self.free = node.next;
            node.value = Some(value);
            node.when = when;
            index
        } else {
            let index = u32::try_from(self.nodes.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("kiwi::time::wheel: more than u32::MAX - 1 timers");
            self.nodes.push(Node {
                value: Some(value),
                when,
                generation: 0,
                prev: NIL,
                next: NIL,
                place: Place::Vacant,
            });
            index
        };
        self.file(index);
        self.len += 1;
        Key::new(index, self.nodes[index as usize].generation)
    }

    /// Removes the entry named by `key` in O(1) and returns its value, or
    /// `None` if the key is stale.
    #[inline]
    pub fn remove(&mut self, key: Key) -> Option<T> {
        self.check(key)?;
        self.unlink(key.index());
        let node = &mut self.nodes[key.index() as usize];
        let value = node.value.take();
        node.generation = node.generation.wrapping_add(1);
        node.place = Place::Vacant;
        node.next = self.free;
        self.free = key.index();
        self.len -= 1;
        value
    }

    /// Moves the entry named by `key` to tick `when` in O(1), keeping its key
    /// and value. Returns `false` (and does nothing) if the key is stale.
    pub fn reset(&mut self, key: Key, when: u64) -> bool {
        if self.check(key).is_none() {
            return false;
        }
        self.unlink(key.index());
        self.nodes[key.index() as usize].when = when.min(MAX_TICK);
        self.file(key.index());
        true
    }

    /// The value of the entry named by `key`, if the key is live.
    pub fn get(&self, key: Key) -> Option<&T> {
        self.check(key)?;
        self.nodes[key.index() as usize].value.as_ref()
    }

    /// The value of the entry named by `key`, mutably, if the key is live.
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.check(key)?;
        self.nodes[key.index() as usize].value.as_mut()
    }

    /// The tick the entry named by `key` is due at, if the key is live.
    pub fn when(&self, key: Key) -> Option<u64> {
        self.check(key)?;
        Some(self.nodes[key.index() as usize].when)
    }

    /// The tick at which [`advance`](Wheel::advance) next has work: `elapsed`
    /// if the ready list is non-empty, else the start of the next occupied
    /// slot (an expiration at level 0, a cascade above), else `None`.
    pub fn next_expiration(&self) -> Option<u64> {
        if self.has_ready() {
            return Some(self.elapsed);
        }
        self.next_slot().map(|e| e.tick)
    }

    /// The next occupied slot, ignoring the ready list. Found from the
    /// occupancy bitmaps, six rotates and `trailing_zeros`, without scanning.
    ///
    /// Its entries hold the earliest ticks in the wheel (outside the ready
    /// list): the slots of a lower level all end before the next slot of a
    /// higher one begins.
    pub fn next_slot(&self) -> Option<Expiration> {
        let mut best: Option<Expiration> = None;
        for (level, lvl) in self.levels.iter().enumerate() {
            if let Some((slot, tick)) = lvl.next_occupied(level, self.elapsed) {
                if best.is_none_or(|b| tick < b.tick) {
                    best = Some(Expiration { tick, level, slot });
                }
            }
        }
        best
    }

    /// Moves the wheel's clock to `now`, cascading every slot reached on the
    /// way, so that afterwards every entry with tick `<= now` is on the ready
    /// list. Returns how many entries were moved out of higher-level slots.
    /// A `now` behind `elapsed` does nothing: the wheel never runs backwards.
    ///
    /// The cost is proportional to the occupied slots passed, not to the
    /// ticks passed, so a jump of a year costs the same as a jump of a second.
    pub fn advance(&mut self, now: u64) -> usize {
        let now = now.min(MAX_TICK);
        if now < self.elapsed {
            return 0;
        }
        if self.len == 0 {
            self.elapsed = now; // nothing to cascade
            return 0;
        }
        let mut cascaded = 0;
        while let Some(expiration) = self.next_slot().filter(|e| e.tick <= now) {
            self.elapsed = expiration.tick;
            // Detach the slot's whole list, then re-file each node relative
            // to the new `elapsed`: due ones go to the ready list, others to
            // a lower level (or, beyond the span, back to level 5).
            let level = &mut self.levels[expiration.level];
            let mut index = std::mem::replace(&mut level.heads[expiration.slot], NIL);
            level.occupied &= !(1 << expiration.slot);
            while index != NIL {
                let next = self.nodes[index as usize].next;
                self.file(index);
                if expiration.level > 0 {
                    cascaded += 1;
                }
                index = next;
            }
        }
        self.elapsed = now;
        cascaded
    }

    /// Walks the ready list, calling `f` with each entry's key and value; an
    /// entry for which `f` returns `false` is removed (and its value
    /// dropped). Returns how many were removed.
    ///
    /// The driver uses this to fire entries: it takes the waker out of each
    /// due value and returns `false`, keeping entries due later in the tick.
    pub fn retain_ready(&mut self, mut f: impl FnMut(Key, &mut T) -> bool) -> usize {
        let mut removed = 0;
        let mut index = self.ready;
        while index != NIL {
            let node = &mut self.nodes[index as usize];
            let next = node.next;
            let key = Key::new(index, node.generation);
            let keep = node.value.as_mut().is_none_or(|value| f(key, value));
            if !keep {
                self.remove(key);
                removed += 1;
            }
            index = next;
        }
        removed
    }

    /// The entries on the ready list, in no particular order.
    pub fn ready(&self) -> impl Iterator<Item = (Key, &T)> + '_ {
        self.iter_list(self.ready)
    }

    /// The entries of one slot (as named by an [`Expiration`]).
    ///
    /// # Panics
    ///
    /// Panics if `level >= 6` or `slot >= 64`.
    pub fn slot(&self, level: usize, slot: usize) -> impl Iterator<Item = (Key, &T)> + '_ {
        self.iter_list(self.levels[level].heads[slot])
    }

    fn iter_list(&self, head: u32) -> impl Iterator<Item = (Key, &T)> + '_ {
        let mut index = head;
        std::iter::from_fn(move || {
            let node = self.nodes.get(index as usize)?;
            let key = Key::new(index, node.generation);
            index = node.next;
            Some((key, node.value.as_ref()?))
        })
    }

    /// `Some(())` iff `key` names a live entry.
    #[inline]
    fn check(&self, key: Key) -> Option<()> {
        let node = self.nodes.get(key.index() as usize)?;
        (node.generation == key.generation() && node.place != Place::Vacant).then_some(())
    }

    /// Links node `index` onto the list its tick belongs to.
    #[inline]
    fn file(&mut self, index: u32) {
        let when = self.nodes[index as usize].when;
        let place = if when <= self.elapsed {
            Place::Ready
        } else {
            let level = level_for(self.elapsed, when);
            Place::Slot {
                level: level as u8,
                slot: slot_for(when, level) as u8,
            }
        };
        let head = match place {
            Place::Slot { level, slot } => {
                let lvl = &mut self.levels[level as usize];
                lvl.occupied |= 1 << slot;
                &mut lvl.heads[slot as usize]
            }
            _ => &mut self.ready,
        };
        let old_head = std::mem::replace(head, index);
        if old_head != NIL {
            self.nodes[old_head as usize].prev = index;
        }
        let node = &mut self.nodes[index as usize];
        node.prev = NIL;
        node.next = old_head;
        node.place = place;
    }

    /// Unlinks node `index` from its list in O(1).
    #[inline]
    fn unlink(&mut self, index: u32) {
        let Node {
            prev, next, place, ..
        } = self.nodes[index as usize];
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
        if prev != NIL {
            self.nodes[prev as usize].next = next;
            return;
        }
        // It was the head: the list now starts at `next`.
        match place {
            Place::Slot { level, slot } => {
                let lvl = &mut self.levels[level as usize];
                lvl.heads[slot as usize] = next;
                if next == NIL {
                    lvl.occupied &= !(1 << slot);
                }
            }
            Place::Ready => self.ready = next,
            Place::Vacant => unreachable!("kiwi::time::wheel: unlinking a vacant node"),
        }
    }
}

#[cfg(test)]
mod tests;
