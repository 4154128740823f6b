//! The shared key-value store: 16 shards, each a `std::sync::Mutex` around a
//! `HashMap`.
//!
//! Why a plain blocking mutex in an async server? Because every critical
//! section here is a hash-map lookup or insert: nanoseconds, and never held
//! across an `.await`. An async mutex would only add overhead. The rule is
//! "never *await* while holding it", not "never use one". Sharding by key
//! hash keeps workers on different keys from contending for one lock.
//!
//! Expiry is lazy: a key's deadline is checked when the key is touched, and
//! an expired key is removed then. (Shortcut: a key that expires and is never
//! touched again stays in memory. Redis also samples keys in the background;
//! a task on an `interval` could do the same here.)

use std::collections::hash_map::{Entry as MapEntry, HashMap, RandomState};
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

const SHARDS: usize = 16;

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|t| now < t)
    }
}

type Shard = HashMap<Vec<u8>, Entry>;

/// The store. Share it between connections with an `Arc`.
pub struct Store {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    /// Locks the shard that owns `key`.
    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        let i = self.hasher.hash_one(key) as usize % SHARDS;
        // A panic while holding the lock cannot leave a HashMap half-updated
        // in a way we care about, so a poisoned lock is still usable.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `f` with the live value of `key`, if any (no copy out of the map).
    pub fn get<R>(&self, key: &[u8], f: impl FnOnce(Option<&[u8]>) -> R) -> R {
        let now = Instant::now();
        let mut shard = self.shard(key);
        match shard.get(key) {
            Some(e) if e.live(now) => f(Some(&e.value)),
            Some(_) => {
                shard.remove(key); // expired: lazy removal
                f(None)
            }
            None => f(None),
        }
    }

    /// Sets `key` to `value`, with an optional deadline (replacing any old one).
    pub fn set(&self, key: &[u8], value: &[u8], expires: Option<Instant>) {
        let entry = Entry {
            value: value.to_vec(),
            expires,
        };
        self.shard(key).insert(key.to_vec(), entry);
    }

    /// Removes `key`; true if it existed (and had not expired).
    pub fn del(&self, key: &[u8]) -> bool {
        let now = Instant::now();
        self.shard(key).remove(key).is_some_and(|e| e.live(now))
    }

    /// True if `key` exists and has not expired.
    pub fn exists(&self, key: &[u8]) -> bool {
        self.get(key, |v| v.is_some())
    }

    /// Adds one to the integer stored at `key` (0 if absent), keeping its
    /// deadline. Errors if the value is not a decimal `i64` or would overflow.
    pub fn incr(&self, key: &[u8]) -> Result<i64, &'static str> {
        const NOT_INT: &str = "ERR value is not an integer or out of range";
        let now = Instant::now();
        let mut shard = self.shard(key);
        match shard.entry(key.to_vec()) {
            MapEntry::Occupied(mut o) if o.get().live(now) => {
                let e = o.get_mut();
                let n = super::resp::parse_int(&e.value).ok_or(NOT_INT)?;
                let n = n
                    .checked_add(1)
                    .ok_or("ERR increment or decrement would overflow")?;
                e.value = n.to_string().into_bytes();
                Ok(n)
            }
            MapEntry::Occupied(mut o) => {
                o.insert(Entry {
                    value: b"1".to_vec(),
                    expires: None,
                });
                Ok(1)
            }
            MapEntry::Vacant(v) => {
                v.insert(Entry {
                    value: b"1".to_vec(),
                    expires: None,
                });
                Ok(1)
            }
        }
    }
}
