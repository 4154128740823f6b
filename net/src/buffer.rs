//! `Buffer`: Kiwi's (and muduo's) byte buffer, the memory behind every stream.
//!
//! ```text
//! +-------------------+------------------+------------------+
//! | consumed (gap)    | readable bytes   | writable space   |
//! +-------------------+------------------+------------------+
//! 0       <=      read_idx     <=    write_idx    <=    data.len()
//! ```
//!
//! Bytes are appended at `write_idx` and consumed from `read_idx`. When the
//! writable space is too small, the buffer first tries to *compact*: if the gap
//! left by consumed bytes plus the writable space is enough, the unread bytes move
//! to the front (one `memmove`, no allocation). Only otherwise does it grow. When
//! everything was consumed both indices go back to 0 for free.
//!
//! Two more habits from muduo, minus one of Kiwi's defects:
//!
//! - **Lazy allocation.** A new buffer holds no memory; it allocates on first
//!   use. A connection that never receives (or never has to queue output) costs
//!   nothing here.
//! - **readv with a spill.** [`Buffer::read_with`] hands the reader two
//!   slices, the free space and a 64 KiB spill array, so one syscall can take
//!   up to 64 KiB more than the buffer has room for; only the bytes that
//!   actually came are copied in and the buffer grows just enough. Kiwi
//!   allocated a fresh 64 KiB block for every read instead. muduo's spill
//!   lives on the stack, where C leaves it uninitialised; safe Rust must
//!   initialise an array before `readv` may fill it, and a fresh `[0; 64 KiB]`
//!   per read cost a 64 KiB memset, 95 % of an echo server's instructions
//!   (`scripts/callgrind-examples.sh`). So the spill is one array per thread,
//!   zeroed once, reused by every read on that thread.
//!
//! The type is pure data, no I/O: the reader is a closure, so the index and
//! compaction arithmetic is tested exhaustively below.

use std::io::{self, IoSliceMut};

/// Size of the spill used by [`Buffer::read_with`].
pub const SPILL: usize = 64 * 1024;

thread_local! {
    /// This thread's spill, zeroed once when first used. Reads do not nest
    /// (the reader is one syscall), so one per thread is enough.
    static THREAD_SPILL: std::cell::RefCell<Box<[u8]>> = {
        #[cfg(test)]
        SPILLS_MADE.with(|n| n.set(n.get() + 1));
        std::cell::RefCell::new(vec![0u8; SPILL].into_boxed_slice())
    };
}

#[cfg(test)]
thread_local! {
    /// How many spills this thread has made: once, however many reads.
    static SPILLS_MADE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Space the buffer makes sure it has before a read (first allocation size).
pub const INITIAL: usize = 8 * 1024;

/// A growable byte buffer with read and write indices.
///
/// # Examples
///
/// ```
/// use kiwi_net::Buffer;
///
/// let mut buf = Buffer::new();
/// assert_eq!(buf.capacity(), 0); // lazy: nothing allocated yet
/// buf.append(b"hello world");
/// assert_eq!(buf.readable(), b"hello world");
/// buf.consume(6);
/// assert_eq!(buf.readable(), b"world");
/// ```
#[derive(Default, Clone)]
pub struct Buffer {
    data: Vec<u8>,
    read: usize,
    write: usize,
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("readable", &self.len())
            .field("writable", &self.writable_len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

impl Buffer {
    /// An empty buffer that owns no memory.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(kiwi_net::Buffer::new().is_empty());
    /// ```
    pub const fn new() -> Buffer {
        Buffer {
            data: Vec::new(),
            read: 0,
            write: 0,
        }
    }

    /// Number of unread bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = kiwi_net::Buffer::new();
    /// b.append(b"abc");
    /// assert_eq!(b.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.write - self.read
    }

    /// True if there is nothing to read.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = kiwi_net::Buffer::new();
    /// b.append(b"x");
    /// b.consume(1);
    /// assert!(b.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.read == self.write
    }

    /// Bytes of memory held.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = kiwi_net::Buffer::new();
    /// b.append(b"x");
    /// assert!(b.capacity() >= 1);
    /// ```
    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// Free space after the unread bytes (before any compaction).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(kiwi_net::Buffer::new().writable_len(), 0);
    /// ```
    pub fn writable_len(&self) -> usize {
        self.data.len() - self.write
    }

    /// The unread bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = kiwi_net::Buffer::new();
    /// b.append(b"hi");
    /// assert_eq!(b.readable(), b"hi");
    /// ```
    pub fn readable(&self) -> &[u8] {
        &self.data[self.read..self.write]
    }

    /// Marks `n` unread bytes as consumed.
    ///
    /// # Panics
    ///
    /// If `n > self.len()`: consuming bytes that are not there is a caller bug.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = kiwi_net::Buffer::new();
    /// b.append(b"hello");
    /// b.consume(2);
    /// assert_eq!(b.readable(), b"llo");
    /// ```
    pub fn consume(&mut self, n: usize) {
        assert!(
            n <= self.len(),
            "kiwi: Buffer::consume({n}) with only {} bytes readable",
            self.len()
        );
        self.read += n;
        if self.read == self.write {
            // Everything read: start over at the front, for free.
            self.read = 0;
            self.write = 0;
            // A burst grew the buffer past the spill size: give that memory
            // back now that it is empty, so a connection that goes idle after
            // a burst holds nothing. (Smaller buffers are kept: reallocating
            // on every message would cost more than it saves.)
            if self.data.len() > SPILL {
                self.data = Vec::new();
            }
        }
    }

    /// Drops every unread byte.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = kiwi_net::Buffer::new();
    /// b.append(b"abc");
    /// b.clear();
    /// assert!(b.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.read = 0;
        self.write = 0;
    }

    /// Frees the memory if the buffer is empty (an idle connection then holds
    /// nothing).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = kiwi_net::Buffer::new();
    /// b.append(b"x");
    /// b.consume(1);
    /// b.release();
    /// assert_eq!(b.capacity(), 0);
    /// ```
    pub fn release(&mut self) {
        if self.is_empty() {
            self.data = Vec::new();
            self.clear();
        }
    }

    /// Makes room for at least `n` more bytes after the unread ones: compact if
    /// the consumed gap plus the free space suffices, otherwise grow.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = kiwi_net::Buffer::new();
    /// b.reserve(100);
    /// assert!(b.writable_len() >= 100);
    /// ```
    pub fn reserve(&mut self, n: usize) {
        if self.writable_len() >= n {
            return;
        }
        if self.read + self.writable_len() >= n {
            // Compaction: move the unread bytes to the front.
            self.data.copy_within(self.read..self.write, 0);
            self.write -= self.read;
            self.read = 0;
        } else {
            let need = self.write + n;
            let new_len = need
                .max(self.data.len() * 2)
                .max(INITIAL.min(need.next_power_of_two()));
            self.data.resize(new_len, 0);
        }
    }

    /// Appends `bytes` after the unread ones.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = kiwi_net::Buffer::new();
    /// b.append(b"ab");
    /// b.append(b"cd");
    /// assert_eq!(b.readable(), b"abcd");
    /// ```
    pub fn append(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.data[self.write..self.write + bytes.len()].copy_from_slice(bytes);
        self.write += bytes.len();
    }

    /// Fills the buffer with one call of `read`, which gets the free space (at
    /// least `INITIAL` (8 KiB) bytes, after compaction or growth) and this thread's
    /// 64 KiB spill array, as `readv` wants them. Returns what `read` returned and
    /// whether the read was *short* (filled less than both slices together).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let mut b = kiwi_net::Buffer::new();
    /// let mut src: &[u8] = b"from a reader";
    /// let (n, short) = b.read_with(|bufs| src.read_vectored(bufs)).unwrap();
    /// assert_eq!((n, short), (13, true));
    /// assert_eq!(b.readable(), b"from a reader");
    /// ```
    pub fn read_with(
        &mut self,
        read: impl FnOnce(&mut [IoSliceMut<'_>]) -> io::Result<usize>,
    ) -> io::Result<(usize, bool)> {
        // The thread's spill, unless it is in use already (a `read` closure
        // that fills another buffer) or gone (a read from a thread-local
        // destructor): then a fresh one, zeroed as before, rather than a panic.
        let mut read = Some(read);
        let shared = THREAD_SPILL.try_with(|cell| {
            cell.try_borrow_mut().ok().map(|mut spill| {
                let read = read.take().expect("read is taken once");
                self.read_with_spill(&mut spill, read)
            })
        });
        match (shared, read) {
            (Ok(Some(done)), _) => done,
            (_, Some(read)) => self.read_with_spill(&mut vec![0u8; SPILL], read),
            (_, None) => unreachable!("read was used, so its result came back"),
        }
    }

    /// [`Buffer::read_with`] with a caller-provided spill (tests use small ones).
    fn read_with_spill(
        &mut self,
        spill: &mut [u8],
        read: impl FnOnce(&mut [IoSliceMut<'_>]) -> io::Result<usize>,
    ) -> io::Result<(usize, bool)> {
        if self.data.is_empty() {
            // Nothing allocated yet (a new or idle connection): read into the
            // spill alone, and allocate only for bytes that actually arrived. A
            // wake-up that finds nothing, or a connection parked on a small
            // read, then never allocates a buffer at all.
            let n = read(&mut [IoSliceMut::new(spill)])?.min(spill.len());
            if n > 0 {
                // Room for what came plus the usual working size.
                self.reserve(n.max(INITIAL));
                self.append(&spill[..n]);
            }
            return Ok((n, n < spill.len()));
        }
        self.reserve(INITIAL.min(SPILL));
        let free = self.writable_len();
        let n = {
            let (_, tail) = self.data.split_at_mut(self.write);
            let mut bufs = [IoSliceMut::new(tail), IoSliceMut::new(spill)];
            read(&mut bufs)?
        };
        let total = free + spill.len();
        let n = n.min(total);
        if n <= free {
            self.write += n;
        } else {
            self.write += free;
            self.append(&spill[..n - free]);
        }
        Ok((n, n < total))
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn read_with_spills_and_grows_just_enough() {
        let mut b = allocated();
        let data: Vec<u8> = (0..INITIAL + 10).map(|i| i as u8).collect();
        let mut src: &[u8] = &data;
        let mut spill = [0u8; 16];
        let (n, short) = b
            .read_with_spill(&mut spill, |bufs| src.read_vectored(bufs))
            .unwrap();
        assert_eq!((n, short), (INITIAL + 10, true));
        assert_eq!(b.readable(), data.as_slice());
        check(&b);
    }

    #[test]
    fn read_with_full_read_is_not_short() {
        let mut b = allocated();
        let data = vec![5u8; INITIAL + 16 + 50];
        let mut src: &[u8] = &data;
        let mut spill = [0u8; 16];
        let (n, short) = b
            .read_with_spill(&mut spill, |bufs| src.read_vectored(bufs))
            .unwrap();
        assert_eq!((n, short), (INITIAL + 16, false));
        assert_eq!(b.len(), INITIAL + 16);
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
}
