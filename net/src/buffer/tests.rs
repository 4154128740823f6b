//! `Buffer`'s index and compaction arithmetic, tested without I/O: the
//! reader is a closure over a byte slice.

use super::*;
use std::io::{self, Read};

/// A `read` closure that fills another buffer on the same thread (the
/// spill is in use) gets a spill of its own instead of a panic.
#[test]
fn nested_read_with_gets_its_own_spill() {
    let mut outer = Buffer::new();
    let mut inner = Buffer::new();
    let (n, _) = outer
        .read_with(|bufs| {
            let mut src: &[u8] = b"inner";
            inner.read_with(|b| src.read_vectored(b)).unwrap();
            let mut src: &[u8] = b"outer";
            src.read_vectored(bufs)
        })
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        (outer.readable(), inner.readable()),
        (&b"outer"[..], &b"inner"[..])
    );
}

/// Regression: every `read_with` zeroed a fresh 64 KiB spill array, a
/// memset that was 95 % of the echo example's instructions per request.
#[test]
fn read_with_zeroed_a_fresh_spill_per_read() {
    std::thread::spawn(|| {
        let mut b = Buffer::new();
        for _ in 0..1000 {
            let mut src: &[u8] = b"abc";
            b.read_with(|bufs| src.read_vectored(bufs)).unwrap();
            b.consume(3);
        }
        assert_eq!(SPILLS_MADE.with(|n| n.get()), 1);
    })
    .join()
    .unwrap();
}

fn check(b: &Buffer) {
    assert!(b.read <= b.write && b.write <= b.data.len());
    if b.is_empty() {
        assert_eq!(
            (b.read, b.write),
            (0, 0),
            "empty buffers restart at the front"
        );
    }
}

#[test]
fn lazy_until_used() {
    let b = Buffer::new();
    assert_eq!(b.capacity(), 0);
    assert_eq!(b.readable(), b"");
}

#[test]
fn consume_all_resets_indices() {
    let mut b = Buffer::new();
    b.append(b"abcdef");
    b.consume(3);
    assert_eq!((b.read, b.write), (3, 6));
    b.consume(3);
    assert_eq!((b.read, b.write), (0, 0));
}

#[test]
#[should_panic(expected = "consume")]
fn consume_too_much_panics() {
    let mut b = Buffer::new();
    b.append(b"ab");
    b.consume(3);
}

#[test]
fn compaction_moves_instead_of_growing() {
    let mut b = Buffer::new();
    b.reserve(16);
    let cap = b.capacity();
    b.append(&vec![1; cap]);
    b.consume(cap - 2); // two unread bytes at the very end
    b.append(&[7; 4]); // gap is large enough: compact
    assert_eq!(b.capacity(), cap, "no growth");
    assert_eq!(b.read, 0);
    assert_eq!(b.readable(), &[1, 1, 7, 7, 7, 7]);
}

#[test]
fn grows_when_compaction_is_not_enough() {
    let mut b = Buffer::new();
    b.reserve(16);
    let cap = b.capacity();
    b.append(&vec![1; cap]);
    b.consume(1);
    b.append(&[2; 2]);
    assert!(b.capacity() > cap);
    assert_eq!(b.len(), cap + 1);
    assert_eq!(*b.readable().last().unwrap(), 2);
}

/// Every combination of (capacity, consumed, unread, append) up to small
/// sizes, against a `VecDeque` model.
#[test]
fn exhaustive_against_model() {
    for cap in [0usize, 1, 2, 3, 5, 8] {
        for unread in 0..=cap {
            for consumed in 0..=(cap - unread) {
                for add in 0..=cap + 2 {
                    let mut b = Buffer {
                        data: vec![0; cap],
                        read: 0,
                        write: 0,
                    };
                    let mut model = std::collections::VecDeque::new();
                    let fill: Vec<u8> = (0..(consumed + unread) as u8).collect();
                    b.append(&fill);
                    model.extend(fill.iter().copied());
                    b.consume(consumed);
                    model.drain(..consumed);
                    check(&b);
                    let before = b.capacity();
                    let extra: Vec<u8> = (100..100 + add as u8).collect();
                    b.append(&extra);
                    model.extend(extra.iter().copied());
                    check(&b);
                    assert_eq!(
                        b.readable(),
                        model.iter().copied().collect::<Vec<_>>().as_slice()
                    );
                    if unread + add <= before {
                        assert_eq!(
                            b.capacity(),
                            before,
                            "cap {cap} unread {unread} add {add}: must not grow"
                        );
                    }
                }
            }
        }
    }
}

/// A buffer that already holds its initial allocation (an active connection).
fn allocated() -> Buffer {
    let mut b = Buffer::new();
    b.reserve(INITIAL);
    assert_eq!(b.capacity(), INITIAL);
    b
}

#[test]
fn a_read_that_finds_nothing_allocates_nothing() {
    let mut b = Buffer::new();
    let err = b
        .read_with(|_| Err(io::Error::from(io::ErrorKind::WouldBlock)))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(b.read_with(|_| Ok(0)).unwrap(), (0, true), "EOF");
    assert_eq!(b.capacity(), 0, "an idle connection holds no buffer");
}

#[test]
fn a_fresh_buffer_reads_into_the_spill_and_keeps_only_what_arrived() {
    let mut b = Buffer::new();
    let mut src: &[u8] = b"ping";
    assert_eq!(
        b.read_with(|bufs| src.read_vectored(bufs)).unwrap(),
        (4, true)
    );
    assert_eq!(b.readable(), b"ping");
    assert_eq!(b.capacity(), INITIAL);
}

#[test]
fn a_drained_burst_gives_its_memory_back() {
    let mut b = Buffer::new();
    b.append(&vec![1; 2 * SPILL]);
    assert!(b.capacity() > SPILL);
    b.consume(2 * SPILL);
    assert_eq!(b.capacity(), 0);
    let mut small = allocated();
    small.append(b"abc");
    small.consume(3);
    assert_eq!(
        small.capacity(),
        INITIAL,
        "small buffers are kept for reuse"
    );
}

#[test]
fn read_with_fits_in_free_space() {
    let mut b = allocated();
    let mut src: &[u8] = &[9; 100];
    let mut spill = [0u8; 16];
    let (n, short) = b
        .read_with_spill(&mut spill, |bufs| src.read_vectored(bufs))
        .unwrap();
    assert_eq!((n, short), (100, true));
    assert_eq!(b.len(), 100);
    assert_eq!(b.capacity(), INITIAL, "the spill was not needed: no growth");
}

/// An allocated buffer holding one unread byte (a partial message), so that a
/// read gets its free space and the spill.
fn holding_one_byte() -> Buffer {
    let mut b = allocated();
    b.append(&[0]);
    b
}

#[test]
fn read_with_spills_and_grows_just_enough() {
    let mut b = holding_one_byte();
    let data: Vec<u8> = (0..INITIAL + 10).map(|i| i as u8).collect();
    let mut src: &[u8] = &data;
    let mut spill = [0u8; 16];
    let (n, short) = b
        .read_with_spill(&mut spill, |bufs| src.read_vectored(bufs))
        .unwrap();
    assert_eq!((n, short), (INITIAL + 10, true));
    assert_eq!(&b.readable()[1..], data.as_slice());
    check(&b);
}

#[test]
fn read_with_full_read_is_not_short() {
    let mut b = holding_one_byte();
    let data = vec![5u8; 4 * INITIAL];
    let mut src: &[u8] = &data;
    let mut spill = [0u8; 16];
    let (n, short) = b
        .read_with_spill(&mut spill, |bufs| src.read_vectored(bufs))
        .unwrap();
    // The reserve of INITIAL free bytes grew the buffer to 2 * INITIAL (one
    // byte short of room), and the read filled that free space and the spill.
    assert_eq!((n, short), (2 * INITIAL - 1 + 16, false));
    assert_eq!(b.len(), 2 * INITIAL + 16);
}

#[test]
fn an_empty_buffer_reads_into_itself_alone() {
    // One slice, so the socket read is a plain `recv` (sys::readv).
    let mut b = allocated();
    let mut src: &[u8] = &[3; 100];
    let (n, short) = b
        .read_with(|bufs| {
            assert_eq!(bufs.len(), 1, "no spill slice");
            assert_eq!(bufs[0].len(), INITIAL, "the whole buffer");
            src.read_vectored(bufs)
        })
        .unwrap();
    assert_eq!((n, short), (100, true));
    assert_eq!(b.readable(), &[3; 100]);
    assert_eq!(b.capacity(), INITIAL);
}

#[test]
fn an_empty_buffer_that_a_read_fills_doubles_up_to_the_spill_size() {
    let mut b = allocated();
    let data: Vec<u8> = (0..4 * SPILL).map(|i| (i % 251) as u8).collect();
    let mut src: &[u8] = &data;
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    while !src.is_empty() {
        sizes.push(b.capacity());
        let (n, short) = b.read_with(|bufs| src.read_vectored(bufs)).unwrap();
        assert!(!short || src.is_empty());
        seen.extend_from_slice(b.readable());
        assert_eq!(b.len(), n);
        b.consume(n);
    }
    assert_eq!(seen, data, "every byte, in order");
    assert_eq!(
        &sizes[..4],
        &[INITIAL, 2 * INITIAL, 4 * INITIAL, SPILL],
        "a bulk reader's buffer grows to the spill size"
    );
    assert!(sizes[4..].iter().all(|&c| c == SPILL), "and stays there");
    assert_eq!(
        b.capacity(),
        SPILL,
        "kept for the next read: not above SPILL"
    );
}

#[test]
fn read_with_compacts_first() {
    let mut b = Buffer::new();
    b.append(&vec![1; 2 * INITIAL]);
    let cap = b.capacity();
    b.consume(cap - 1); // one unread byte at the very end; the gap is large
    let mut src: &[u8] = b"xyz";
    let (n, _) = b
        .read_with_spill(&mut [0u8; 4], |bufs| src.read_vectored(bufs))
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(b.readable(), &[1, b'x', b'y', b'z']);
    assert_eq!(b.capacity(), cap, "compacted, not grown");
}

#[test]
fn read_with_error_leaves_buffer_intact() {
    let mut b = Buffer::new();
    b.append(b"keep");
    let r = b.read_with_spill(&mut [0u8; 4], |_| Err(io::ErrorKind::WouldBlock.into()));
    assert!(r.is_err());
    assert_eq!(b.readable(), b"keep");
}

#[test]
fn release_only_when_empty() {
    let mut b = Buffer::new();
    b.append(b"x");
    b.release();
    assert!(b.capacity() > 0);
    b.consume(1);
    b.release();
    assert_eq!(b.capacity(), 0);
}
