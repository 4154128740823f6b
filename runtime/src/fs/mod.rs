//! Files and directories, without stalling a worker: each operation runs
//! `std::fs` on the blocking pool, as tokio's `fs` does.
//!
//! epoll cannot help here: a regular file always reports "ready", and a read
//! may still wait for the disk. So [`read`], [`write`](fn@write) and the rest are
//! `spawn_blocking` around their `std::fs` namesakes, and [`File`] hands its
//! `std::fs::File` to the pool for each batch of work (see
//! `io/blocking.rs`: small writes are gathered into one job).
//!
//! Errors keep their [`io::ErrorKind`] and name the path, so that
//! "No such file or directory" says which one.

mod dir;
mod file;

use std::io;
use std::path::{Path, PathBuf};

pub use dir::{read_dir, DirEntry, ReadDir};
pub use file::{File, OpenOptions};

use crate::spawn::spawn_blocking;

/// Runs `f` on the blocking pool; an error gets `what` and the path added.
pub(crate) async fn on_pool<R: Send + 'static>(
    what: &'static str,
    path: PathBuf,
    f: impl FnOnce(&Path) -> io::Result<R> + Send + 'static,
) -> io::Result<R> {
    spawn_blocking(move || f(&path).map_err(|e| with_path(e, what, &path)))
        .await
        .map_err(|e| io::Error::other(format!("kiwi::fs: {what} did not finish: {e}")))?
}

/// `e`, its kind kept, with `what` and the path in the message.
pub(crate) fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Reads a whole file.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let dir = std::env::temp_dir().join(format!("kiwi-doc-read-{}", std::process::id()));
///     kiwi_runtime::fs::create_dir_all(&dir).await?;
///     kiwi_runtime::fs::write(dir.join("a"), b"hello").await?;
///     assert_eq!(kiwi_runtime::fs::read(dir.join("a")).await?, b"hello");
///     let missing = kiwi_runtime::fs::read(dir.join("nope")).await.unwrap_err();
///     assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
///     assert!(missing.to_string().contains("nope"));
///     kiwi_runtime::fs::remove_dir_all(&dir).await
/// }).unwrap();
/// ```
///
/// # Cancel safety
///
/// Dropping the future leaves the read running on the pool; its result is lost.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    on_pool("read", path.as_ref().to_owned(), |p| std::fs::read(p)).await
}

/// Reads a whole file as UTF-8.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let p = std::env::temp_dir().join(format!("kiwi-doc-rts-{}", std::process::id()));
///     kiwi_runtime::fs::write(&p, "kiwi").await?;
///     assert_eq!(kiwi_runtime::fs::read_to_string(&p).await?, "kiwi");
///     kiwi_runtime::fs::remove_file(&p).await
/// }).unwrap();
/// ```
///
/// # Cancel safety
///
/// As [`read`].
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    on_pool("read", path.as_ref().to_owned(), |p| {
        std::fs::read_to_string(p)
    })
    .await
}

/// Writes `contents` to a file, creating it or replacing what it held.
///
/// # Examples
///
/// See [`read`].
///
/// # Cancel safety
///
/// Dropping the future leaves the write running on the pool.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    on_pool("write", path.as_ref().to_owned(), move |p| {
        std::fs::write(p, contents)
    })
    .await
}

/// The metadata of a file or directory (symbolic links followed).
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     assert!(kiwi_runtime::fs::metadata("/").await?.is_dir());
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
///
/// # Cancel safety
///
/// Nothing to lose.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    on_pool("metadata", path.as_ref().to_owned(), |p| {
        std::fs::metadata(p)
    })
    .await
}

/// Copies a file's contents (and permissions) to another; returns the bytes
/// copied.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let dir = std::env::temp_dir().join(format!("kiwi-doc-copy-{}", std::process::id()));
///     kiwi_runtime::fs::create_dir_all(&dir).await?;
///     kiwi_runtime::fs::write(dir.join("a"), b"abc").await?;
///     assert_eq!(kiwi_runtime::fs::copy(dir.join("a"), dir.join("b")).await?, 3);
///     kiwi_runtime::fs::rename(dir.join("b"), dir.join("c")).await?;
///     assert_eq!(kiwi_runtime::fs::read(dir.join("c")).await?, b"abc");
///     kiwi_runtime::fs::remove_dir_all(&dir).await
/// }).unwrap();
/// ```
///
/// # Cancel safety
///
/// Dropping the future leaves the copy running on the pool.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let to = to.as_ref().to_owned();
    on_pool("copy", from.as_ref().to_owned(), move |p| {
        std::fs::copy(p, &to)
    })
    .await
}

/// Creates a directory and every missing parent.
///
/// # Examples
///
/// See [`read`].
///
/// # Cancel safety
///
/// Dropping the future leaves the work running on the pool.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_pool("create_dir_all", path.as_ref().to_owned(), |p| {
        std::fs::create_dir_all(p)
    })
    .await
}

/// Removes a file.
///
/// # Examples
///
/// See [`read_to_string`].
///
/// # Cancel safety
///
/// Dropping the future leaves the removal running on the pool.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_pool("remove_file", path.as_ref().to_owned(), |p| {
        std::fs::remove_file(p)
    })
    .await
}

/// Removes a directory and everything in it.
///
/// # Examples
///
/// See [`read`].
///
/// # Cancel safety
///
/// Dropping the future leaves the removal running on the pool.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_pool("remove_dir_all", path.as_ref().to_owned(), |p| {
        std::fs::remove_dir_all(p)
    })
    .await
}

/// Renames a file or directory, replacing `to` if it exists.
///
/// # Examples
///
/// See [`copy`].
///
/// # Cancel safety
///
/// Dropping the future leaves the rename running on the pool.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let to = to.as_ref().to_owned();
    on_pool("rename", from.as_ref().to_owned(), move |p| {
        std::fs::rename(p, &to)
    })
    .await
}
