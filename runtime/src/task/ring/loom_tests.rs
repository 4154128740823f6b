//! Loom models of the ring (4 slots under loom) and the inject queue. Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p kiwi-runtime --lib --release loom_ring`.
//!
//! Each model checks, over every interleaving loom explores, that every item
//! comes out exactly once; loom itself checks that no slot is read while it is
//! being written (the `UnsafeCell` accesses) and that nothing is left leaked.

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

use super::{ring, Inject, Local, Stealer, CAPACITY};

fn drain<T>(local: &mut Local<T>) -> Vec<T> {
    std::iter::from_fn(|| local.pop()).collect()
}

/// A thief with an empty ring of its own: one steal, then it runs what it got.
fn spawn_thief(victim: Stealer<usize>) -> thread::JoinHandle<Vec<usize>> {
    thread::spawn(move || {
        let (mut mine, _) = ring();
        let first = victim.steal_into(&mut mine);
        first.into_iter().chain(drain(&mut mine)).collect()
    })
}

/// Sorts what came out of every queue and checks it is `0..n`, once each.
fn assert_exactly_once(mut got: Vec<usize>, n: usize) {
    got.sort_unstable();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

/// The owner pops and refills a full ring while a thief steals: the refills
/// reuse slots the thief may still be copying out of, which the `steal` index
/// must prevent.
#[test]
fn loom_ring_owner_and_one_thief() {
    loom::model(|| {
        let (mut local, stealer) = ring();
        let inject = Inject::new();
        for i in 0..CAPACITY {
            local.push_back(i, &inject);
        }
        let thief = spawn_thief(stealer);
        let mut got: Vec<_> = local.pop().into_iter().collect();
        for i in CAPACITY..CAPACITY + 2 {
            local.push_back(i, &inject);
        }
        got.extend(drain(&mut local));
        got.extend(thief.join().unwrap());
        got.extend(std::iter::from_fn(|| inject.pop()));
        assert_exactly_once(got, CAPACITY + 2);
    });
}

/// A thief steals items pushed after it started, while the owner pops: it must
/// see each item's slot written (the `tail` rule) and never a `tail` behind the
/// owner's `real` (the `head` rule).
#[test]
fn loom_ring_thief_sees_fresh_pushes() {
    loom::model(|| {
        let (mut local, stealer) = ring();
        let inject = Inject::new();
        let thief = spawn_thief(stealer);
        local.push_back(0, &inject);
        local.push_back(1, &inject);
        let mut got: Vec<_> = local.pop().into_iter().collect();
        local.push_back(2, &inject);
        got.extend(drain(&mut local));
        got.extend(thief.join().unwrap());
        assert!(inject.is_empty());
        assert_exactly_once(got, 3);
    });
}

/// A worker steals into its own ring while another thief is still copying out
/// of that ring: the stolen batch may reuse a slot only once the other thief's
/// copy of it is done.
#[test]
fn loom_ring_steal_into_a_ring_being_robbed() {
    loom::model(|| {
        let inject = Inject::new();
        let (mut victim, victim_stealer) = ring();
        let (mut mine, my_stealer) = ring();
        for i in 0..CAPACITY {
            victim.push_back(i, &inject);
            mine.push_back(CAPACITY + i, &inject);
        }
        let robber = spawn_thief(my_stealer);
        let mut got = drain(&mut mine);
        got.extend(victim_stealer.steal_into(&mut mine));
        got.extend(drain(&mut mine));
        got.extend(drain(&mut victim));
        got.extend(robber.join().unwrap());
        assert_exactly_once(got, 2 * CAPACITY);
    });
}

/// Two thieves race each other (at most one steal in flight per victim) and the
/// owner, who pops and then refills slots either thief may be copying out of.
#[test]
fn loom_ring_two_thieves_and_owner() {
    loom::model(|| {
        let (mut local, stealer) = ring();
        let inject = Inject::new();
        for i in 0..CAPACITY {
            local.push_back(i, &inject);
        }
        let thieves = [spawn_thief(stealer.clone()), spawn_thief(stealer)];
        let mut got: Vec<_> = local.pop().into_iter().collect();
        for i in CAPACITY..CAPACITY + 2 {
            local.push_back(i, &inject);
        }
        got.extend(drain(&mut local));
        for t in thieves {
            got.extend(t.join().unwrap());
        }
        got.extend(std::iter::from_fn(|| inject.pop()));
        assert_exactly_once(got, CAPACITY + 2);
    });
}

/// The owner fills its ring and pushes one more while a thief steals: the push
/// overflows half to the inject queue, or sends only itself there while the
/// steal is in flight, or finds the room the steal left. The thief may read the
/// `head` an overflow wrote; it must not see a `tail` behind it.
#[test]
fn loom_ring_overflow_races_a_steal() {
    loom::model(|| {
        let (mut local, stealer) = ring();
        let inject = Inject::new();
        let thief = spawn_thief(stealer);
        for i in 0..=CAPACITY {
            local.push_back(i, &inject);
        }
        let mut got = drain(&mut local);
        got.extend(thief.join().unwrap());
        got.extend(std::iter::from_fn(|| inject.pop()));
        assert_exactly_once(got, CAPACITY + 1);
    });
}

/// An item that counts its drops.
struct Tracked {
    id: usize,
    drops: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// Pushes (single and batched) race a batch pop and a single pop: everything
/// pushed comes out once, in order, and nothing is dropped twice.
#[test]
fn loom_ring_inject_push_pop() {
    loom::model(|| {
        let inject = Arc::new(Inject::new());
        let drops = Arc::new(AtomicUsize::new(0));
        let tracked = |id| Tracked {
            id,
            drops: drops.clone(),
        };
        let pusher = {
            let inject = inject.clone();
            let (first, batch) = (tracked(0), [tracked(1), tracked(2)]);
            thread::spawn(move || {
                inject.push(first);
                inject.push_batch(batch.into_iter());
            })
        };
        let popper = {
            let inject = inject.clone();
            thread::spawn(move || inject.pop())
        };
        let (mut local, _) = ring();
        let mut got: Vec<_> = inject.pop_batch_into(&mut local, 2).into_iter().collect();
        got.extend(drain(&mut local));
        pusher.join().unwrap();
        let popped = popper.join().unwrap();
        got.extend(std::iter::from_fn(|| inject.pop()));
        assert!(inject.is_empty());

        let ids: Vec<_> = got.iter().map(|t| t.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "out of order: {ids:?}");
        assert_eq!(ids.len() + usize::from(popped.is_some()), 3);
        drop((got, popped));
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}
