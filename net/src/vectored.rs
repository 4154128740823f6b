//! Whether a stream's vectored write is worth calling: the query futures-io
//! lacks.
//!
//! tokio's `AsyncWrite` has `is_write_vectored`; futures-io's does not. Every
//! futures-io writer has a `poll_write_vectored`, but the default one writes
//! only the first non-empty slice. A caller such as hyper, which holds a
//! response as a header buffer plus body chunks, must choose before it writes:
//! hand over the list of slices (right when the writer takes them all in one
//! call), or first copy them into one buffer (right when it would take one at a
//! time: two small writes per response are two syscalls, and with Nagle on, a
//! delayed-ACK stall).
//!
//! [`IsWriteVectored`] answers for the types kiwi knows. Its stream types write
//! every slice with one `sendmsg` or queue them all in their buffer, so they
//! say yes. A wrapper whose inner stream kiwi cannot see (`BufReader<T>` around
//! a TLS stream, say) says no, the safe answer. The trait is sealed: a "yes"
//! from a type that does not mean it would cost stalls, so only kiwi answers.
//!
//! A shortcut admitted: without specialization, a generic wrapper cannot ask
//! its inner type, so `BufReader<AsyncTcpStream>` says no although its inner
//! stream would say yes. Wrap kiwi streams in nothing; they are buffered.

use std::pin::Pin;

use futures_util::io::{AllowStdIo, BufReader, BufWriter, Cursor};

use crate::{AsyncTcpStream, AsyncUnixStream, OwnedWriteHalf, WriteHalf};

mod sealed {
    /// Keeps [`IsWriteVectored`](super::IsWriteVectored) implemented by kiwi only.
    pub trait Sealed {}
}

/// Tells whether `poll_write_vectored` takes all the slices it is given in one
/// call, so that gathering a message from several buffers costs nothing.
///
/// Sealed: implemented by kiwi's streams (yes), by references, boxes and pins
/// of them (they ask the inner value), by `Cursor` (yes), and by futures-io's
/// `BufReader`, `BufWriter` and `AllowStdIo` (no: they cannot see their inner
/// stream). `kiwi_hyper::KiwiIo` reports it to hyper.
///
/// # Examples
///
/// ```
/// use futures_util::io::{BufReader, Cursor};
/// use kiwi_net::{AsyncUnixStream, IsWriteVectored};
///
/// # kiwi_runtime::block_on(async {
/// let (a, _b) = AsyncUnixStream::pair()?;
/// assert!(a.is_write_vectored());
/// assert!(!BufReader::new(Cursor::new(Vec::<u8>::new())).is_write_vectored());
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub trait IsWriteVectored: sealed::Sealed {
    /// True if one `poll_write_vectored` call writes or queues every slice it
    /// can, rather than only the first.
    ///
    /// # Examples
    ///
    /// See [`IsWriteVectored`].
    fn is_write_vectored(&self) -> bool;
}

/// kiwi's own streams: `sendmsg` with every slice, or all of them queued.
macro_rules! yes {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}
        impl IsWriteVectored for $ty {
            fn is_write_vectored(&self) -> bool {
                true
            }
        }
    )*};
}
yes!(
    AsyncTcpStream,
    AsyncUnixStream,
    OwnedWriteHalf,
    WriteHalf<'_>,
    crate::unix::OwnedWriteHalf,
    crate::unix::WriteHalf<'_>
);

impl<T> sealed::Sealed for Cursor<T> {}
/// `Cursor`'s vectored write copies every slice into its buffer.
impl<T> IsWriteVectored for Cursor<T> {
    fn is_write_vectored(&self) -> bool {
        true
    }
}

/// Wrappers that cannot see their inner stream (no specialization): no.
macro_rules! unknown {
    ($($ty:ident),*) => {$(
        impl<T> sealed::Sealed for $ty<T> {}
        impl<T> IsWriteVectored for $ty<T> {
            fn is_write_vectored(&self) -> bool {
                false
            }
        }
    )*};
}
unknown!(BufReader, BufWriter, AllowStdIo);

impl<T: IsWriteVectored + ?Sized> sealed::Sealed for &mut T {}
impl<T: IsWriteVectored + ?Sized> IsWriteVectored for &mut T {
    fn is_write_vectored(&self) -> bool {
        (**self).is_write_vectored()
    }
}

impl<T: IsWriteVectored + ?Sized> sealed::Sealed for Box<T> {}
impl<T: IsWriteVectored + ?Sized> IsWriteVectored for Box<T> {
    fn is_write_vectored(&self) -> bool {
        (**self).is_write_vectored()
    }
}

impl<P> sealed::Sealed for Pin<P>
where
    P: std::ops::Deref,
    P::Target: IsWriteVectored,
{
}
impl<P> IsWriteVectored for Pin<P>
where
    P: std::ops::Deref,
    P::Target: IsWriteVectored,
{
    fn is_write_vectored(&self) -> bool {
        (**self).is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asks through the trait's impl for `T` itself, as generic code would.
    fn ask<T: IsWriteVectored>(t: T) -> bool {
        t.is_write_vectored()
    }

    #[test]
    fn wrappers_ask_the_inner_value_or_say_no() {
        let mut c = Cursor::new(Vec::<u8>::new());
        assert!(ask(&mut c));
        assert!(ask(Box::new(Cursor::new([0u8; 1]))));
        assert!(ask(Pin::new(&mut c)));
        assert!(ask(c));
        assert!(!ask(BufReader::new(Cursor::new(Vec::<u8>::new()))));
        assert!(!ask(BufWriter::new(Cursor::new(Vec::<u8>::new()))));
        assert!(!ask(AllowStdIo::new(std::io::sink())));
    }
}
