//! The wheel against a model: a plain list of `(key, when)` pairs.
//!
//! Random sequences of insert, remove, reset, advance (including jumps longer
//! than the whole 2^36-tick span), "step to the next expiration" and "fire
//! everything ready" run on both, from start offsets far beyond level 4's
//! ~12 days, and after every step the wheel must agree with the model about
//! which entries exist, which are ready, and when work is next needed.

use kiwi_time::wheel::{Key, Wheel};
use proptest::prelude::*;
use std::collections::BTreeMap;

const SPAN: u64 = 1 << 36;

#[derive(Clone, Debug)]
enum Op {
    /// Insert at `elapsed + offset`, or in the past if `past`.
    Insert { offset: u64, past: bool },
    /// Remove the n-th live entry (or reuse a stale key if there is none).
    Remove(usize),
    /// Move the n-th live entry to `elapsed + offset`.
    Reset(usize, u64),
    /// Advance by a delta.
    Advance(u64),
    /// Advance to `next_expiration()` repeatedly until something is ready.
    StepToNext,
    /// Remove everything on the ready list, as the driver fires it.
    FireReady,
}

fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..70u64,
        0..5_000u64,
        0..(1u64 << 20),
        0..(1u64 << 32),
        0..(SPAN * 3),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (offset(), prop::bool::weighted(0.1)).prop_map(|(offset, past)| Op::Insert { offset, past }),
        2 => any::<usize>().prop_map(Op::Remove),
        1 => (any::<usize>(), offset()).prop_map(|(i, o)| Op::Reset(i, o)),
        2 => offset().prop_map(Op::Advance),
        1 => Just(Op::StepToNext),
        1 => Just(Op::FireReady),
    ]
}

struct Model {
    wheel: Wheel<u64>,
    /// id -> (key, when). Ids are unique forever, so stale keys can be tested.
    live: BTreeMap<u64, (Key, u64)>,
    stale: Vec<Key>,
    next_id: u64,
}

impl Model {
    fn nth(&self, n: usize) -> Option<u64> {
        if self.live.is_empty() {
            return None;
        }
        self.live.keys().nth(n % self.live.len()).copied()
    }

    fn apply(&mut self, op: Op) {
        let elapsed = self.wheel.elapsed();
        match op {
            Op::Insert { offset, past } => {
                let when = if past {
                    elapsed.saturating_sub(offset)
                } else {
                    elapsed + offset
                };
                let id = self.next_id;
                self.next_id += 1;
                let key = self.wheel.insert(when, id);
                self.live.insert(id, (key, when));
            }
            Op::Remove(n) => match self.nth(n) {
                Some(id) => {
                    let (key, _) = self.live.remove(&id).unwrap();
                    assert_eq!(self.wheel.remove(key), Some(id));
                    self.stale.push(key);
                }
                None => {
                    if let Some(key) = self.stale.last() {
                        assert_eq!(self.wheel.remove(*key), None);
                    }
                }
            },
            Op::Reset(n, offset) => {
                if let Some(id) = self.nth(n) {
                    let entry = self.live.get_mut(&id).unwrap();
                    entry.1 = elapsed + offset;
                    assert!(self.wheel.reset(entry.0, entry.1));
                }
            }
            Op::Advance(delta) => {
                self.wheel.advance(elapsed + delta);
            }
            Op::StepToNext => {
                let min_when = self.live.values().map(|&(_, when)| when).min();
                let mut steps = 0;
                while !self.wheel.has_ready() {
                    let Some(tick) = self.wheel.next_expiration() else {
                        break;
                    };
                    assert!(tick > self.wheel.elapsed());
                    self.wheel.advance(tick);
                    steps += 1;
                    assert!(steps <= 6 + 256, "too many steps");
                }
                // Never past the earliest entry, and exactly onto it.
                if let Some(min_when) = min_when {
                    assert_eq!(self.wheel.elapsed(), min_when.max(elapsed));
                }
            }
            Op::FireReady => {
                let mut fired = Vec::new();
                self.wheel.retain_ready(|_, id| {
                    fired.push(*id);
                    false
                });
                for id in fired {
                    let (key, when) = self.live.remove(&id).unwrap();
                    assert!(when <= elapsed);
                    self.stale.push(key);
                }
            }
        }
        self.check();
    }

    fn check(&self) {
        let elapsed = self.wheel.elapsed();
        assert_eq!(self.wheel.len(), self.live.len());
        for (id, &(key, when)) in &self.live {
            assert_eq!(self.wheel.get(key), Some(id));
            assert_eq!(self.wheel.when(key), Some(when));
        }
        for key in &self.stale {
            assert_eq!(self.wheel.get(*key), None);
        }
        let mut ready: Vec<u64> = self.wheel.ready().map(|(_, id)| *id).collect();
        ready.sort_unstable();
        let expected: Vec<u64> = self
            .live
            .iter()
            .filter(|(_, &(_, when))| when <= elapsed)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(ready, expected, "ready list at {elapsed}");

        let min_when = self.live.values().map(|&(_, when)| when).min();
        match (min_when, self.wheel.next_expiration()) {
            (None, next) => assert_eq!(next, None),
            (Some(min), Some(next)) if min <= elapsed => assert_eq!(next, elapsed),
            (Some(min), Some(next)) => assert!(next > elapsed && next <= min, "{next} vs {min}"),
            (Some(_), None) => panic!("entries but no expiration"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn wheel_matches_model(start in prop_oneof![0..64u64, 0..(1u64 << 31), 0..(SPAN * 2)],
                           ops in prop::collection::vec(op(), 1..120)) {
        let mut model = Model {
            wheel: Wheel::new(),
            live: BTreeMap::new(),
            stale: Vec::new(),
            next_id: 0,
        };
        model.wheel.advance(start);
        for op in ops {
            model.apply(op);
        }
        // Drain: stepping must reach every remaining entry at its own tick.
        while !model.live.is_empty() {
            model.apply(Op::StepToNext);
            model.apply(Op::FireReady);
        }
        prop_assert!(model.wheel.is_empty());
        prop_assert_eq!(model.wheel.next_expiration(), None);
    }
}
