//! `File` and `OpenOptions`: `std::fs::File` behind futures-io, through the
//! blocking pool (see `io/blocking.rs`).

use std::fmt;
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::on_pool;
use crate::handle::Handle;
use crate::io::blocking::Blocking;

/// An open file: futures-io `AsyncRead`, `AsyncWrite` and `AsyncSeek`.
///
/// Small writes are gathered and written in one pool job (when 64 KiB have
/// gathered, on `flush` or `close`, before a read or a seek, or when the file
/// is dropped); call `flush` (or `close`) to learn whether they succeeded.
///
/// Each read that finds nothing read ahead is one pool job that reads as
/// many bytes as the caller's buffer holds (up to 2 MiB), so a large buffer
/// means fewer hops between the worker and the pool: read a big file with a
/// big buffer (64 KiB to 1 MiB), not 8 KiB at a time.
///
/// # Examples
///
/// ```
/// use kiwi_runtime::fs::File;
/// use futures_util::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
///
/// kiwi_runtime::block_on(async {
///     let path = std::env::temp_dir().join(format!("kiwi-doc-file-{}", std::process::id()));
///     let mut f = File::create(&path).await?;
///     f.write_all(b"hello, ").await?;
///     f.write_all(b"world").await?;
///     f.seek(std::io::SeekFrom::Start(0)).await?;
///     let mut s = String::new();
///     f.read_to_string(&mut s).await?;
///     assert_eq!(s, "hello, world");
///     f.sync_all().await?;
///     kiwi_runtime::fs::remove_file(&path).await
/// }).unwrap();
/// ```
pub struct File {
    io: Blocking<std::fs::File>,
}

fn seek_back(f: &mut std::fs::File, by: i64) -> io::Result<()> {
    f.seek(SeekFrom::Current(by)).map(drop)
}

impl File {
    /// Opens a file for reading.
    ///
    /// # Errors
    ///
    /// The error of `open(2)`, with the path in its message.
    ///
    /// # Panics
    ///
    /// Outside a kiwi runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let err = kiwi_runtime::fs::File::open("/no/such/file").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Creates a file for writing, truncating it if it exists.
    ///
    /// # Errors
    ///
    /// The error of `open(2)`, with the path in its message.
    ///
    /// # Panics
    ///
    /// Outside a kiwi runtime.
    ///
    /// # Examples
    ///
    /// See [`File`].
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(true);
        o.open(path).await
    }

    /// Wraps an open `std::fs::File`.
    ///
    /// # Panics
    ///
    /// Outside a kiwi runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let f = kiwi_runtime::fs::File::from_std(std::fs::File::open("/dev/null").unwrap());
    ///     drop(f);
    /// });
    /// ```
    pub fn from_std(file: std::fs::File) -> File {
        File {
            io: Blocking::new(file, Handle::current(), seek_back),
        }
    }

    /// Writes what is buffered and waits until the data and metadata are on
    /// the disk (`fsync`).
    ///
    /// # Examples
    ///
    /// See [`File`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the sync running on the pool.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.io.run(|f| f.sync_all()).await
    }

    /// Writes what is buffered, then truncates or extends the file to `len`
    /// bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("kiwi-doc-len-{}", std::process::id()));
    ///     let mut f = kiwi_runtime::fs::File::create(&path).await?;
    ///     f.set_len(10).await?;
    ///     assert_eq!(kiwi_runtime::fs::metadata(&path).await?.len(), 10);
    ///     kiwi_runtime::fs::remove_file(&path).await
    /// }).unwrap();
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the work running on the pool.
    pub async fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.io.run(move |f| f.set_len(len)).await
    }
}

impl File {
    /// The file's metadata (`fstat`), once what is buffered was written, so
    /// that [`len`](std::fs::Metadata::len) counts every byte written so far.
    ///
    /// tokio's `File::metadata` reads it without writing what is buffered
    /// first; kiwi flushes, because a length that leaves out bytes the
    /// program already wrote is a surprise.
    ///
    /// # Errors
    ///
    /// A buffered write's error, or the error of `fstat(2)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::io::AsyncWriteExt;
    ///
    /// kiwi_runtime::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("kiwi-doc-meta-{}", std::process::id()));
    ///     let mut f = kiwi_runtime::fs::File::create(&path).await?;
    ///     f.write_all(b"twelve bytes").await?; // buffered, not yet written
    ///     let meta = f.metadata().await?;
    ///     assert!(meta.is_file());
    ///     assert_eq!(meta.len(), 12);
    ///     kiwi_runtime::fs::remove_file(&path).await
    /// }).unwrap();
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the work running on the pool.
    pub async fn metadata(&mut self) -> io::Result<std::fs::Metadata> {
        self.io.run(|f| f.metadata()).await
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io.poll_read(cx, buf)
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().io.poll_seek(cx, pos)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").finish_non_exhaustive()
    }
}

/// Options for opening a file, as `std::fs::OpenOptions`; `open` runs on
/// the blocking pool.
///
/// # Examples
///
/// ```
/// use futures_util::io::AsyncWriteExt;
///
/// kiwi_runtime::block_on(async {
///     let path = std::env::temp_dir().join(format!("kiwi-doc-append-{}", std::process::id()));
///     kiwi_runtime::fs::write(&path, b"a").await?;
///     let mut f = kiwi_runtime::fs::OpenOptions::new().append(true).open(&path).await?;
///     f.write_all(b"b").await?;
///     f.close().await?;
///     assert_eq!(kiwi_runtime::fs::read(&path).await?, b"ab");
///     kiwi_runtime::fs::remove_file(&path).await
/// }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// Nothing allowed yet: set what you need.
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }
    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut OpenOptions {
        self.0.read(on);
        self
    }
    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut OpenOptions {
        self.0.write(on);
        self
    }
    /// Write at the end, always.
    pub fn append(&mut self, on: bool) -> &mut OpenOptions {
        self.0.append(on);
        self
    }
    /// Empty the file when opening it.
    pub fn truncate(&mut self, on: bool) -> &mut OpenOptions {
        self.0.truncate(on);
        self
    }
    /// Create the file if it does not exist.
    pub fn create(&mut self, on: bool) -> &mut OpenOptions {
        self.0.create(on);
        self
    }
    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut OpenOptions {
        self.0.create_new(on);
        self
    }

    /// Opens `path` on the blocking pool.
    ///
    /// # Errors
    ///
    /// The error of `open(2)`, its kind kept, with the path in its message.
    ///
    /// # Panics
    ///
    /// Outside a kiwi runtime.
    ///
    /// # Examples
    ///
    /// See [`OpenOptions`].
    ///
    /// # Cancel safety
    ///
    /// A file opened after the future was dropped is closed.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let options = self.0.clone();
        let file = on_pool("open", path.as_ref().to_owned(), move |p| options.open(p)).await?;
        Ok(File::from_std(file))
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}
