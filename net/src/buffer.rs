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
    /// 64 KiB spill array, as `readv` wants them. Two cases get one slice: a
    /// buffer with no memory yet gets the spill alone, and an empty buffer of at
    /// least `INITIAL` bytes gets itself alone (doubled, up to 64 KiB, when a
    /// read fills it). Returns what `read` returned and whether the read was
    /// *short* (filled less than the slices together).
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
        if self.is_empty() && self.data.len() >= INITIAL {
            // Allocated and empty (the common case: `fill_buf` refills only an
            // empty buffer): read into the buffer alone. One slice is a plain
            // `recv` in the kernel, cheaper than the two-slice `recvmsg`
            // (sys::readv). A read that fills it doubles it for the next one, up
            // to the spill's size, so a bulk stream soon reads 64 KiB a call.
            self.read = 0;
            self.write = 0;
            let cap = self.data.len();
            let n = read(&mut [IoSliceMut::new(&mut self.data)])?.min(cap);
            self.write = n;
            if n == cap && cap < SPILL {
                self.reserve(cap);
            }
            return Ok((n, n < cap));
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
mod tests;
