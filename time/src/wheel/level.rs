//! The arithmetic of one wheel level: which level and slot a tick belongs in,
//! and where the next occupied slot of a level begins.
//!
//! Write a tick in base 64: six "digits" of 6 bits each, digit 0 lowest. The
//! wheel stands at tick `elapsed`. An entry due at tick `when > elapsed` is
//! filed at the level of the *highest digit in which `when` and `elapsed`
//! differ*, in the slot named by `when`'s digit at that level.
//!
//! ```text
//! elapsed = 0o_00_00_01_07   level 1: when differs from elapsed first in digit 1
//! when    = 0o_00_00_03_05   → level 1, slot 3 (the slot covering ticks 192..256)
//! ```
//!
//! Because the digits above agree, the entry's slot lies *ahead* of the
//! wheel's position at that level, inside the level's current rotation. When
//! the wheel reaches the first tick of that slot, the digits of `elapsed` and
//! `when` agree down to this level, so re-filing the entry (a *cascade*) puts
//! it at a lower level. At level 0 a slot is a single tick, so reaching it
//! means the entry is due.
//!
//! The top level is the exception: an entry whose `when` differs from
//! `elapsed` above digit 5 (more than the wheel's 2^36-tick span ahead) is
//! filed at level 5 anyway, in its digit-5 slot, which may be at or behind the
//! wheel's position there. It is then visited when that slot comes round in a
//! later rotation, and re-filed with its true tick until it fits.

/// Number of levels.
pub const LEVELS: usize = 6;
/// Slots per level (one bit of a `u64` occupancy bitmap each).
pub const SLOTS: usize = 64;
/// Bits of a tick consumed by one level: `SLOTS == 1 << BITS`.
const BITS: u32 = 6;
/// Ticks covered by the whole wheel: `64^6 = 2^36` ms, about 2.2 years.
pub const SPAN: u64 = 1 << (BITS * LEVELS as u32);

/// The number of ticks one slot at `level` covers: `64^level`.
pub const fn slot_range(level: usize) -> u64 {
    1 << (BITS * level as u32)
}

/// The level at which an entry due at `when` is filed while the wheel stands
/// at `elapsed`. Meaningful for `when > elapsed`.
pub fn level_for(elapsed: u64, when: u64) -> usize {
    // Setting the low 6 bits makes "differs only in digit 0" (or not at all)
    // come out as level 0 instead of needing a special case.
    let differing = (elapsed ^ when) | (SLOTS as u64 - 1);
    let highest_bit = 63 - differing.leading_zeros();
    ((highest_bit / BITS) as usize).min(LEVELS - 1)
}

/// The slot of `when` at `level`: its base-64 digit number `level`.
pub fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (BITS * level as u32)) % SLOTS as u64) as usize
}

/// One level's occupancy and list heads.
#[derive(Debug)]
pub(crate) struct Level {
    /// Bit `s` is set iff slot `s` holds at least one entry.
    pub(crate) occupied: u64,
    /// Head node index of each slot's list, `NIL` when empty.
    pub(crate) heads: [u32; SLOTS],
}

impl Level {
    /// An empty level whose list heads are all `nil`.
    pub(crate) const fn new(nil: u32) -> Level {
        Level {
            occupied: 0,
            heads: [nil; SLOTS],
        }
    }

    /// The first occupied slot strictly after the wheel's position at this
    /// level (wrapping, so the position's own slot comes last, a full rotation
    /// away), and the tick at which that slot begins.
    ///
    /// No slot scan: rotate the bitmap so that bit 0 is the slot after the
    /// current position, then count trailing zeros.
    pub(crate) fn next_occupied(&self, level: usize, elapsed: u64) -> Option<(usize, u64)> {
        if self.occupied == 0 {
            return None;
        }
        let position = slot_for(elapsed, level);
        let first_after = ((position + 1) % SLOTS) as u32;
        let distance = u64::from(self.occupied.rotate_right(first_after).trailing_zeros()) + 1;
        let slot = (position + distance as usize) % SLOTS;
        // Start of the slot the wheel is in at this level, plus `distance`
        // slots. `distance` is 1..=64, so this is always after `elapsed`.
        let current_slot_start = elapsed & !(slot_range(level) - 1);
        Some((slot, current_slot_start + distance * slot_range(level)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_zero_holds_the_rest_of_the_current_64_ticks() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(63, 64), 1);
        assert_eq!(level_for(64, 127), 0);
        assert_eq!(level_for(64, 128), 1);
    }

    #[test]
    fn level_boundaries_are_powers_of_64() {
        // (elapsed, when, level)
        let cases = [
            (0, 4095, 1),
            (0, 4096, 2),
            (4095, 4096, 2),
            (0, (1 << 18) - 1, 2),
            (0, 1 << 18, 3),
            (0, (1 << 24) - 1, 3),
            (0, 1 << 24, 4),
            (0, (1 << 30) - 1, 4),
            (0, 1 << 30, 5),
            (0, (1 << 36) - 1, 5),
            // Beyond the span: clamped to the top level.
            (0, 1 << 36, 5),
            (0, u64::MAX >> 1, 5),
            ((1 << 36) - 1, 1 << 36, 5),
        ];
        for (elapsed, when, level) in cases {
            assert_eq!(level_for(elapsed, when), level, "{elapsed} -> {when}");
        }
    }

    #[test]
    fn slots_are_base_64_digits() {
        assert_eq!(slot_for(63, 0), 63);
        assert_eq!(slot_for(64, 0), 0);
        assert_eq!(slot_for(64, 1), 1);
        assert_eq!(slot_for(4095, 1), 63);
        assert_eq!(slot_for(4096, 1), 0);
        assert_eq!(slot_for(4096, 2), 1);
        assert_eq!(slot_for(1 << 36, 5), 0);
        assert_eq!(slot_for((1 << 36) - 1, 5), 63);
    }

    #[test]
    fn next_occupied_uses_the_bitmap_and_wraps() {
        let mut level = Level::new(u32::MAX);
        assert_eq!(level.next_occupied(0, 5), None);

        level.occupied = 1 << 10;
        assert_eq!(level.next_occupied(0, 5), Some((10, 10)));
        assert_eq!(level.next_occupied(0, 64 + 5), Some((10, 64 + 10)));

        // Level 1, wheel at tick 200 (slot 3): slot 5 starts at 320.
        level.occupied = 1 << 5;
        assert_eq!(level.next_occupied(1, 200), Some((5, 320)));

        // Level 5 wraps: slot 0 behind position 63 is a rotation away.
        let elapsed = SPAN - 1;
        level.occupied = 1;
        assert_eq!(level.next_occupied(5, elapsed), Some((0, SPAN)));
        // ...and the position's own slot is a full rotation away.
        level.occupied = 1;
        assert_eq!(level.next_occupied(5, 0), Some((0, SPAN)));
    }
}
