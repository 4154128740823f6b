//! Bytes both ways: hyper's `rt::Read`/`rt::Write` over futures-io streams
//! ([`KiwiIo`]), and futures-io over hyper's streams ([`HyperIo`], for an
//! upgraded connection such as a WebSocket).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::io::{AsyncBufRead, AsyncRead, AsyncWrite};
use hyper::rt::{Read, ReadBuf, ReadBufCursor, Write};
use pin_project_lite::pin_project;

pin_project! {
    /// A futures-io stream that hyper can serve or drive: it implements
    /// `hyper::rt::Read` and `hyper::rt::Write`.
    ///
    /// The stream must be buffered (`AsyncBufRead`), so that hyper's read is a
    /// copy out of a buffer that is already filled, with no `unsafe` and no
    /// zeroing of hyper's buffer first. Every kiwi stream is. Anything else,
    /// a TLS stream for one, goes through a `BufReader` first:
    /// `KiwiIo::new(BufReader::new(tls))`.
    ///
    /// hyper asks `is_write_vectored` once per connection, to choose between
    /// handing the stream a header buffer and body chunks as separate slices
    /// and copying them into one buffer first. `KiwiIo` says yes: kiwi's
    /// streams send every slice with one `sendmsg` (or queue them all), and
    /// futures-rustls gathers them into one TLS record. A stream whose
    /// `poll_write_vectored` is futures-io's default writes one slice per call:
    /// still correct (hyper finishes partial writes), at one call per slice.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi::io::BufReader;
    /// use kiwi_hyper::KiwiIo;
    ///
    /// # kiwi::block_on(async {
    /// let (a, _b) = kiwi::net::AsyncUnixStream::pair()?;
    /// let io = KiwiIo::new(a);                               // a kiwi stream as it is
    /// let wrapped = KiwiIo::new(BufReader::new(kiwi::io::Cursor::new(vec![1u8])));
    /// # let _ = (io, wrapped);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[derive(Debug)]
    pub struct KiwiIo<T> {
        #[pin]
        inner: T,
    }
}

impl<T> KiwiIo<T> {
    /// Wraps `inner`.
    ///
    /// # Examples
    ///
    /// ```
    /// let io = kiwi_hyper::KiwiIo::new(kiwi::io::Cursor::new(Vec::<u8>::new()));
    /// assert!(io.inner().get_ref().is_empty());
    /// ```
    pub fn new(inner: T) -> KiwiIo<T> {
        KiwiIo { inner }
    }

    /// The wrapped stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let io = kiwi_hyper::KiwiIo::new(kiwi::io::Cursor::new(vec![7u8]));
    /// assert_eq!(io.inner().get_ref(), &[7]);
    /// ```
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut io = kiwi_hyper::KiwiIo::new(kiwi::io::Cursor::new(vec![7u8]));
    /// io.inner_mut().get_mut().push(8);
    /// assert_eq!(io.inner().get_ref(), &[7, 8]);
    /// ```
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let io = kiwi_hyper::KiwiIo::new(kiwi::io::Cursor::new(vec![7u8]));
    /// assert_eq!(io.into_inner().into_inner(), vec![7]);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncBufRead + AsyncWrite + Unpin> Read for KiwiIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut inner = self.project().inner;
        let data = ready!(inner.as_mut().poll_fill_buf(cx))?;
        // An empty `data` is end of stream, which hyper reads as zero bytes.
        let n = data.len().min(buf.remaining());
        buf.put_slice(&data[..n]);
        inner.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncBufRead + AsyncWrite + Unpin> Write for KiwiIo<T> {
    /// Yes: see [`KiwiIo`] (futures-io cannot be asked).
    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}

pin_project! {
    /// The other direction: a hyper stream (`hyper::upgrade::Upgraded`, after
    /// a WebSocket handshake) as a futures-io stream, for crates such as
    /// async-tungstenite.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi::io::{AsyncReadExt, AsyncWriteExt};
    /// use kiwi_hyper::{HyperIo, KiwiIo};
    ///
    /// # kiwi::block_on(async {
    /// // Round trip: kiwi stream -> hyper stream -> futures-io stream.
    /// let (a, mut b) = kiwi::net::AsyncUnixStream::pair()?;
    /// let mut io = HyperIo::new(KiwiIo::new(a));
    /// io.write_all(b"ping").await?;
    /// let mut got = [0; 4];
    /// b.read_exact(&mut got).await?;
    /// assert_eq!(&got, b"ping");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[derive(Debug)]
    pub struct HyperIo<T> {
        #[pin]
        inner: T,
    }
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    ///
    /// # Examples
    ///
    /// See [`HyperIo`].
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo { inner }
    }

    /// Unwraps the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_hyper::{HyperIo, KiwiIo};
    /// let io = HyperIo::new(KiwiIo::new(kiwi::io::Cursor::new(vec![1u8])));
    /// assert_eq!(io.into_inner().into_inner().into_inner(), vec![1]);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Read> AsyncRead for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = ReadBuf::new(buf);
        ready!(self.project().inner.poll_read(cx, rb.unfilled()))?;
        Poll::Ready(Ok(rb.filled().len()))
    }
}

impl<T: Write> AsyncWrite for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}
