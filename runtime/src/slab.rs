//! A generational slab: the reactor's table of registrations.
//!
//! The epoll user data is a token `generation << 32 | index`, never the fd. When a
//! registration leaves, its slot's generation is bumped, so an event already
//! fetched for it (or for a recycled fd number that now belongs to a new socket)
//! finds a different generation and is ignored.

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

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Removes and returns every value.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        self.free.clear();
        self.len = 0;
        std::mem::take(&mut self.slots)
            .into_iter()
            .filter_map(|s| s.value)
            .collect()
    }
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
    }
}
