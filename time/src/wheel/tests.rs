//! Unit tests of the wheel. The randomized comparison against a `BTreeMap`
//! model lives in `tests/wheel_model.rs`.

use super::level::SPAN;
use super::*;

/// Advances to `now` and removes every ready entry, returning their values
/// sorted.
fn fire(wheel: &mut Wheel<u64>, now: u64) -> Vec<u64> {
    wheel.advance(now);
    let mut fired = Vec::new();
    wheel.retain_ready(|_, v| {
        fired.push(*v);
        false
    });
    fired.sort_unstable();
    fired
}

#[test]
fn empty_wheel_has_no_expiration() {
    let mut wheel: Wheel<()> = Wheel::new();
    assert_eq!(wheel.next_expiration(), None);
    assert_eq!(wheel.advance(1_000_000), 0);
    assert_eq!(wheel.elapsed(), 1_000_000);
    assert!(wheel.is_empty());
}

#[test]
fn past_and_present_ticks_are_ready_at_once() {
    let mut wheel = Wheel::new();
    wheel.advance(100);
    wheel.insert(50, 50);
    wheel.insert(100, 100);
    assert!(wheel.has_ready());
    assert_eq!(wheel.next_expiration(), Some(100));
    assert_eq!(fire(&mut wheel, 100), [50, 100]);
}

#[test]
fn entries_become_ready_exactly_at_their_tick_across_boundaries() {
    for when in [
        1,
        63,
        64,
        65,
        4095,
        4096,
        4097,
        262_143,
        262_144,
        1 << 24,
        1 << 30,
    ] {
        let mut wheel = Wheel::new();
        wheel.insert(when, when);
        assert_eq!(fire(&mut wheel, when - 1), Vec::<u64>::new(), "{when}");
        assert_eq!(fire(&mut wheel, when), [when], "{when}");
        assert!(wheel.is_empty());
    }
}

#[test]
fn next_expiration_is_the_slot_start_then_the_exact_tick() {
    let mut wheel = Wheel::new();
    wheel.insert(200, 200);
    // Level 1, slot 3: the cascade happens at 192.
    assert_eq!(
        wheel.next_slot(),
        Some(Expiration {
            tick: 192,
            level: 1,
            slot: 3
        })
    );
    assert_eq!(wheel.advance(192), 1);
    // Now on level 0 at its own tick.
    assert_eq!(wheel.next_expiration(), Some(200));
    assert_eq!(wheel.slot(0, 200 % 64).count(), 1);
}

#[test]
fn cascades_through_every_level() {
    let mut wheel = Wheel::new();
    let when = (1 << 30) + (1 << 24) + (1 << 18) + (1 << 12) + (1 << 6) + 1;
    wheel.insert(when, when);
    let mut cascaded = 0;
    let mut steps = 0;
    while let Some(tick) = wheel.next_expiration() {
        cascaded += wheel.advance(tick);
        steps += 1;
        if wheel.has_ready() {
            break;
        }
    }
    assert_eq!(wheel.elapsed(), when);
    assert_eq!(steps, 6);
    assert_eq!(cascaded, 5);
    assert_eq!(fire(&mut wheel, when), [when]);
}

#[test]
fn thousand_timers_one_ms_apart_fire_one_by_one() {
    let mut wheel = Wheel::new();
    let start = 10_000; // not aligned to any level
    wheel.advance(start);
    for i in 1..=1024 {
        wheel.insert(start + i, start + i);
    }
    for i in 1..=1024 {
        let tick = start + i;
        assert_eq!(wheel.next_expiration(), Some(tick));
        assert_eq!(fire(&mut wheel, tick), [tick]);
    }
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn one_big_jump_fires_everything_due() {
    let mut wheel = Wheel::new();
    for when in [3, 70, 5_000, 300_000, 1 << 25] {
        wheel.insert(when, when);
    }
    wheel.insert(SPAN * 3, 0);
    assert_eq!(fire(&mut wheel, 1 << 26), [3, 70, 5_000, 300_000, 1 << 25]);
    assert_eq!(wheel.len(), 1);
}

#[test]
fn beyond_the_span_keeps_its_true_tick() {
    let mut wheel = Wheel::new();
    let far = SPAN * 2 + 12_345;
    let key = wheel.insert(far, far);
    assert_eq!(wheel.when(key), Some(far));
    // It waits at the top level and is re-filed each rotation until it fits.
    let mut last = 0;
    while !wheel.has_ready() {
        let tick = wheel.next_expiration().expect("entry is still there");
        assert!(tick > last && tick <= far);
        last = tick;
        wheel.advance(tick);
    }
    assert_eq!(wheel.elapsed(), far);
    assert_eq!(fire(&mut wheel, far), [far]);
}

#[test]
fn insert_at_the_end_of_a_rotation_wraps() {
    let mut wheel = Wheel::new();
    wheel.advance(SPAN - 1);
    wheel.insert(SPAN, 1);
    wheel.insert(SPAN + 64, 2);
    assert_eq!(wheel.next_expiration(), Some(SPAN));
    assert_eq!(fire(&mut wheel, SPAN), [1]);
    assert_eq!(fire(&mut wheel, SPAN + 63), Vec::<u64>::new());
    assert_eq!(fire(&mut wheel, SPAN + 64), [2]);
}

#[test]
fn removal_from_every_position_of_a_list() {
    let mut wheel = Wheel::new();
    let keys: Vec<Key> = (0..5).map(|i| wheel.insert(10, i)).collect();
    // Middle, head (inserted last), tail (inserted first).
    assert_eq!(wheel.remove(keys[2]), Some(2));
    assert_eq!(wheel.remove(keys[4]), Some(4));
    assert_eq!(wheel.remove(keys[0]), Some(0));
    assert_eq!(wheel.len(), 2);
    assert_eq!(fire(&mut wheel, 10), [1, 3]);
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn removing_the_last_entry_of_a_slot_clears_its_bit() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(5_000, ());
    assert!(wheel.next_expiration().is_some());
    wheel.remove(key);
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn stale_keys_never_touch_a_reused_node() {
    let mut wheel = Wheel::new();
    let old = wheel.insert(10, "old");
    assert_eq!(wheel.remove(old), Some("old"));
    let new = wheel.insert(20, "new");
    assert_ne!(old, new);
    assert_eq!(wheel.get(old), None);
    assert_eq!(wheel.get_mut(old), None);
    assert_eq!(wheel.remove(old), None);
    assert!(!wheel.reset(old, 5));
    assert_eq!(wheel.get(new), Some(&"new"));
    assert_eq!(wheel.when(new), Some(20));
}

#[test]
fn nodes_are_reused_without_growing() {
    let mut wheel = Wheel::new();
    for round in 0..100 {
        let keys: Vec<Key> = (0..64).map(|i| wheel.insert(round * 7 + i, i)).collect();
        for key in keys {
            wheel.remove(key);
        }
    }
    assert_eq!(wheel.nodes.len(), 64);
}

#[test]
fn reset_moves_earlier_and_later() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(5_000, 1);
    assert!(wheel.reset(key, 30));
    assert_eq!(wheel.next_expiration(), Some(30));
    assert!(wheel.reset(key, 100_000));
    assert_eq!(fire(&mut wheel, 99_999), Vec::<u64>::new());
    assert!(wheel.reset(key, 0)); // into the past: ready at once
    assert!(wheel.has_ready());
    assert_eq!(fire(&mut wheel, 99_999), [1]);
}

#[test]
fn retain_ready_keeps_what_it_is_told_to() {
    let mut wheel = Wheel::new();
    for i in 0..10 {
        wheel.insert(1, i);
    }
    wheel.advance(1);
    assert_eq!(wheel.retain_ready(|_, v| *v % 2 == 0), 5);
    let mut left: Vec<u64> = wheel.ready().map(|(_, v)| *v).collect();
    left.sort_unstable();
    assert_eq!(left, [0, 2, 4, 6, 8]);
    assert_eq!(wheel.next_expiration(), Some(1));
}

#[test]
fn time_never_runs_backwards() {
    let mut wheel: Wheel<()> = Wheel::new();
    wheel.advance(500);
    assert_eq!(wheel.advance(100), 0);
    assert_eq!(wheel.elapsed(), 500);
}

#[test]
fn huge_ticks_are_clamped_not_overflowed() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(u64::MAX, ());
    assert_eq!(wheel.when(key), Some(MAX_TICK));
    wheel.advance(u64::MAX);
    assert_eq!(wheel.elapsed(), MAX_TICK);
    assert!(wheel.has_ready());
}
