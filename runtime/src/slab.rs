//! A generational slab: kiwi's one table of "things with a place".
//!
//! Values live in a `Vec` of slots; freed slots go on a free list and are
//! reused, so inserting and removing are O(1) and allocate only when the slab
//! grows. A value is addressed by a token `generation << 32 | index`. When a
//! value leaves, its slot's generation is bumped, so a stale token (kept by
//! someone who did not see the removal) finds a different generation and
//! misses instead of reaching the slot's next tenant.
//!
//! Its users, one type for all:
//! - the reactor's registrations (`reactor/mod.rs`): the epoll user data is a
//!   token, never the fd, so an event fetched for a registration that left (or
//!   for a recycled fd number) is ignored;
//! - the task registries (`task/registry.rs`): every task whose future is
//!   alive, so shutdown can find it; the header keeps the slot's index and
//!   removal checks the task's identity;
//! - the waiter lists of `&self` socket operations (`reactor/scheduled_io.rs`)
//!   and of [`CancellationToken`](crate::sync::CancellationToken)
//!   (`sync.rs`): a future holds its token across polls.

/// A slab of `T` addressed by generational tokens.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Stores `value`; returns its token.
    pub(crate) fn insert(&mut self, value: T) -> u64 {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.value = Some(value);
            return token(index, slot.generation);
        }
        let index = self.slots.len() as u32;
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        token(index, 0)
    }

    /// The value behind `token`, if it is still the same registration.
    pub(crate) fn get(&self, token: u64) -> Option<&T> {
        let (index, generation) = split(token);
        let slot = self.slots.get(index as usize)?;
        if slot.generation == generation {
            slot.value.as_ref()
        } else {
            None
        }
    }

    /// Removes the value behind `token`; a stale token removes nothing.
    pub(crate) fn remove(&mut self, token: u64) -> Option<T> {
        let (index, generation) = split(token);
        let slot = self.slots.get_mut(index as usize)?;
        if slot.generation != generation || slot.value.is_none() {
            return None;
        }
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.len -= 1;
        slot.value.take()
    }

    /// Number of values held.
    #[allow(dead_code)] // tests and debug assertions
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The value behind `token`, mutably, if it is still there.
    pub(crate) fn get_mut(&mut self, token: u64) -> Option<&mut T> {
        let (index, generation) = split(token);
        let slot = self.slots.get_mut(index as usize)?;
        if slot.generation == generation {
            slot.value.as_mut()
        } else {
            None
        }
    }

    /// The token of whatever occupies slot `index` now, for callers that keep
    /// only the index and check identity themselves (the task registry).
    pub(crate) fn token_at(&self, index: u32) -> Option<u64> {
        let slot = self.slots.get(index as usize)?;
        slot.value.as_ref().map(|_| token(index, slot.generation))
    }

    /// Every value, mutably (a waiter list waking all its wakers).
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().filter_map(|s| s.value.as_mut())
    }

    /// Removes and returns every value. Each emptied slot's generation is
    /// bumped, as by [`Slab::remove`], so tokens from before stay stale.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        self.len = 0;
        let mut out = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if let Some(value) = slot.value.take() {
                slot.generation = slot.generation.wrapping_add(1);
                self.free.push(index as u32);
                out.push(value);
            }
        }
        out
    }
}

/// The slot index a token addresses.
pub(crate) fn index_of(token: u64) -> u32 {
    split(token).0
}

fn token(index: u32, generation: u32) -> u64 {
    (generation as u64) << 32 | index as u64
}

fn split(token: u64) -> (u32, u32) {
    (token as u32, (token >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_token_misses_reused_slot() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        assert_eq!(slab.get(a), Some(&"a"));
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_ne!(a, b, "same index, new generation");
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn many_inserts_and_removes() {
        let mut slab = Slab::new();
        let tokens: Vec<u64> = (0..1000).map(|i| slab.insert(i)).collect();
        for t in tokens.iter().step_by(2) {
            slab.remove(*t).unwrap();
        }
        assert_eq!(slab.len(), 500);
        for (i, t) in tokens.iter().enumerate() {
            assert_eq!(slab.get(*t).is_some(), i % 2 == 1);
        }
        let again: Vec<u64> = (0..500).map(|i| slab.insert(i)).collect();
        assert_eq!(slab.len(), 1000);
        assert!(again.iter().all(|t| !tokens.contains(t)));
        assert_eq!(slab.drain().len(), 1000);
        assert_eq!(slab.len(), 0);
        let after = slab.insert(7);
        assert!(tokens.iter().chain(&again).all(|t| slab.get(*t).is_none()));
        assert_eq!(slab.get(after), Some(&7), "drained slots are reused");
    }

    #[test]
    fn index_access_and_values_mut() {
        let mut slab = Slab::new();
        let a = slab.insert(1);
        let b = slab.insert(2);
        assert_eq!(slab.token_at(index_of(b)), Some(b));
        *slab.get_mut(a).unwrap() += 10;
        for v in slab.values_mut() {
            *v *= 2;
        }
        assert_eq!((slab.get(a), slab.get(b)), (Some(&22), Some(&4)));
        slab.remove(a);
        assert_eq!(
            slab.token_at(index_of(a)),
            None,
            "an empty slot has no token"
        );
        assert_eq!(slab.get_mut(a), None);
        let c = slab.insert(3);
        assert_eq!(index_of(c), index_of(a));
        assert_eq!(
            slab.token_at(index_of(a)),
            Some(c),
            "the new tenant's token"
        );
    }
}
