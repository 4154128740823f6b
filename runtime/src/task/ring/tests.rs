//! The ring and the inject queue, single-threaded first (exact counts and order),
//! then under a multi-threaded stress test.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::{ring, ring_at, shrink_after_burst, Inject, Local, CAPACITY, HALF, KEEP_WHEN_EMPTY};

/// Pops everything, in order.
fn drain<T>(local: &mut Local<T>) -> Vec<T> {
    std::iter::from_fn(|| local.pop()).collect()
}

fn drain_inject<T>(inject: &Inject<T>) -> Vec<T> {
    std::iter::from_fn(|| inject.pop()).collect()
}

#[test]
fn pops_in_push_order() {
    let (mut local, stealer) = ring();
    let inject = Inject::new();
    for i in 0..10 {
        assert!(!local.push_back(i, &inject));
    }
    assert_eq!((local.len(), stealer.len()), (10, 10));
    assert_eq!(local.pop(), Some(0));
    assert!(!local.push_back(10, &inject));
    assert_eq!(drain(&mut local), (1..=10).collect::<Vec<_>>());
    assert!(local.is_empty() && stealer.is_empty() && inject.is_empty());
}

#[test]
fn overflow_moves_oldest_half_and_the_new_item() {
    let (mut local, _stealer) = ring();
    let inject = Inject::new();
    for i in 0..CAPACITY {
        assert!(!local.push_back(i, &inject));
    }
    assert!(!local.has_room(1));
    assert!(local.push_back(CAPACITY, &inject));
    assert_eq!(inject.len(), CAPACITY / 2 + 1);
    assert!(local.has_room(CAPACITY / 2) && !local.has_room(CAPACITY / 2 + 1));

    // The inject queue holds the oldest half, then the item that overflowed; the
    // ring keeps the newer half, in order.
    let mut moved: Vec<usize> = (0..CAPACITY / 2).collect();
    moved.push(CAPACITY);
    assert_eq!(drain_inject(&inject), moved);
    assert_eq!(
        drain(&mut local),
        (CAPACITY / 2..CAPACITY).collect::<Vec<_>>()
    );
}

#[test]
fn steal_takes_half_rounded_up_and_returns_the_oldest() {
    for queued in [1, 2, 7, 10, CAPACITY] {
        let (mut victim, stealer) = ring();
        let (mut thief, _) = ring();
        let inject = Inject::new();
        for i in 0..queued {
            victim.push_back(i, &inject);
        }
        let taken = queued - queued / 2;
        assert_eq!(stealer.steal_into(&mut thief), Some(0));
        assert_eq!(drain(&mut thief), (1..taken).collect::<Vec<_>>());
        assert_eq!(drain(&mut victim), (taken..queued).collect::<Vec<_>>());
        assert_eq!(stealer.steal_into(&mut thief), None);
    }
}

#[test]
fn inject_batches() {
    let inject = Inject::new();
    inject.push_batch(0..10);
    inject.push(10);
    let (mut local, _) = ring();
    assert_eq!(inject.pop_batch_into(&mut local, 4), Some(0));
    assert_eq!(drain(&mut local), vec![1, 2, 3]);
    assert_eq!(inject.len(), 7);
    assert_eq!(drain_inject(&inject), (4..=10).collect::<Vec<_>>());
    assert_eq!(inject.pop_batch_into(&mut local, 4), None);
}

/// Positions start just below `u32::MAX`, so pushes, pops, overflows and steals
/// all cross the wrap. Each queue hands items out in push order, and every item
/// comes out exactly once.
#[test]
fn positions_wrap_around_u32() {
    fn assert_ascending(xs: &[usize]) {
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "out of order: {xs:?}");
    }
    for start in [u32::MAX - 3, u32::MAX - CAPACITY as u32, u32::MAX - HALF] {
        let (mut local, stealer) = ring_at(start);
        let (mut thief, _) = ring_at(start.wrapping_add(7));
        let inject = Inject::new();
        let (mut pushed, mut out) = (0, Vec::new());
        for round in 0..50 {
            // Up to one and a half rings per round, so some rounds overflow.
            for _ in 0..(round * 37) % (CAPACITY + CAPACITY / 2) {
                local.push_back(pushed, &inject);
                pushed += 1;
            }
            if round % 3 == 0 {
                let stolen: Vec<_> = stealer.steal_into(&mut thief).into_iter().collect();
                let stolen = [stolen, drain(&mut thief)].concat();
                assert_ascending(&stolen);
                out.extend(stolen);
            }
            for batch in [drain_inject(&inject), drain(&mut local)] {
                assert_ascending(&batch);
                out.extend(batch);
            }
        }
        out.sort_unstable();
        assert_eq!(out, (0..pushed).collect::<Vec<_>>());
    }
}

/// Counts its own drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn items_are_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let item = || Counted(drops.clone());
    let mut expected = 0;
    let mut dropped = |n: usize| {
        expected += n;
        assert_eq!(drops.load(Ordering::Relaxed), expected);
    };

    // A full ring overflows half and the new item into `inject`, then a thief
    // takes half of the rest, running one item (dropped at once).
    let (mut local, stealer) = ring();
    let inject = Inject::new();
    for _ in 0..CAPACITY + 1 {
        local.push_back(item(), &inject);
    }
    let (mut thief, thief_stealer) = ring();
    drop(stealer.steal_into(&mut thief));
    dropped(1);
    // Left in a ring: dropped with its `Local`, not with its last `Stealer`.
    drop(local);
    dropped(CAPACITY / 2 - CAPACITY / 4);
    drop((stealer, thief_stealer.clone()));
    dropped(0);
    drop(thief);
    dropped(CAPACITY / 4 - 1);
    drop(thief_stealer);
    dropped(0);

    // Left in the inject queue: dropped with it.
    drop(inject);
    dropped(CAPACITY / 2 + 1);
}

/// The owner pushes (overflowing now and then) and pops while two threads steal
/// and take batches from the inject queue; every item must come out exactly
/// once. A deadline turns a hang into a failure.
#[test]
fn stress_every_item_exactly_once() {
    const ITEMS: usize = 100_000;
    let deadline = Instant::now() + Duration::from_secs(30);
    let check_deadline = move || assert!(Instant::now() < deadline, "stress test hung");

    let seen: Arc<Vec<AtomicU8>> = Arc::new((0..ITEMS).map(|_| AtomicU8::new(0)).collect());
    let see = |seen: &[AtomicU8], x: usize| {
        seen[x].fetch_add(1, Ordering::Relaxed);
    };
    let inject = Arc::new(Inject::new());
    let done = Arc::new(AtomicBool::new(false));
    let (mut local, stealer) = ring();

    let thieves: Vec<_> = (0..2)
        .map(|_| {
            let (seen, inject, done, stealer) =
                (seen.clone(), inject.clone(), done.clone(), stealer.clone());
            thread::spawn(move || {
                let (mut mine, _) = ring();
                loop {
                    check_deadline();
                    let got = stealer
                        .steal_into(&mut mine)
                        .or_else(|| inject.pop_batch_into(&mut mine, 16));
                    match got {
                        Some(x) => {
                            see(&seen, x);
                            drain(&mut mine).into_iter().for_each(|y| see(&seen, y));
                        }
                        None if done.load(Ordering::Acquire) => return,
                        None => thread::yield_now(),
                    }
                }
            })
        })
        .collect();

    for i in 0..ITEMS {
        if i % 1024 == 0 {
            check_deadline();
        }
        local.push_back(i, &inject);
        if i % 3 == 0 {
            if let Some(x) = local.pop() {
                see(&seen, x);
            }
        }
    }
    drain(&mut local).into_iter().for_each(|x| see(&seen, x));
    done.store(true, Ordering::Release);
    for t in thieves {
        t.join().expect("a thief panicked");
    }
    drain_inject(&inject)
        .into_iter()
        .for_each(|x| see(&seen, x));
    for (x, n) in seen.iter().enumerate() {
        assert_eq!(n.load(Ordering::Relaxed), 1, "item {x}");
    }
}

#[test]
fn a_dry_deque_gives_its_burst_capacity_back() {
    let mut queue: std::collections::VecDeque<u64> = (0..100_000).collect();
    shrink_after_burst(&mut queue);
    assert!(queue.capacity() >= 100_000, "never while it holds tasks");
    queue.clear();
    shrink_after_burst(&mut queue);
    assert!(
        queue.capacity() <= 2 * KEEP_WHEN_EMPTY,
        "{}",
        queue.capacity()
    );
}

#[test]
fn a_drained_inject_queue_gives_its_burst_capacity_back() {
    let inject = Inject::new();
    inject.push_batch(0..100_000u64);
    let (mut local, _stealer) = ring();
    let mut popped = 0;
    while let Some(_first) = inject.pop_batch_into(&mut local, CAPACITY) {
        popped += 1 + drain(&mut local).len();
    }
    assert_eq!(popped, 100_000);
    let capacity = inject.locked(|q| q.capacity());
    assert!(capacity <= 2 * KEEP_WHEN_EMPTY, "{capacity}");
    // And through single pops.
    inject.push_batch(0..100_000u64);
    assert_eq!(drain_inject(&inject).len(), 100_000);
    let capacity = inject.locked(|q| q.capacity());
    assert!(capacity <= 2 * KEEP_WHEN_EMPTY, "{capacity}");
}
