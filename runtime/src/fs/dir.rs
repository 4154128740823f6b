//! `read_dir`: a directory's entries as a `Stream`, read on the blocking pool
//! a batch at a time.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::{on_pool, with_path};
use crate::task::JoinHandle;

/// Entries read per pool job.
const BATCH: usize = 64;

/// Lists a directory: a stream of its entries (`.` and `..` left out), in
/// the order the file system gives them.
///
/// # Errors
///
/// The error of opening the directory, with the path in its message; later
/// errors come as items of the stream.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
///
/// kiwi_runtime::block_on(async {
///     let dir = std::env::temp_dir().join(format!("kiwi-doc-dir-{}", std::process::id()));
///     kiwi_runtime::fs::create_dir_all(&dir).await?;
///     kiwi_runtime::fs::write(dir.join("one"), b"1").await?;
///     let mut names = Vec::new();
///     let mut entries = kiwi_runtime::fs::read_dir(&dir).await?;
///     while let Some(entry) = entries.next().await {
///         let entry = entry?;
///         assert!(entry.metadata().await?.is_file());
///         names.push(entry.file_name());
///     }
///     assert_eq!(names, ["one"]);
///     kiwi_runtime::fs::remove_dir_all(&dir).await
/// }).unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let iter = on_pool("read_dir", path.clone(), |p| std::fs::read_dir(p)).await?;
    Ok(ReadDir {
        state: State::Idle(Some(iter)),
        ready: VecDeque::new(),
        path,
    })
}

/// The stream of [`read_dir`].
pub struct ReadDir {
    state: State,
    /// Entries read and not yet handed out.
    ready: VecDeque<io::Result<DirEntry>>,
    path: PathBuf,
}

enum State {
    /// The iterator, or `None` once it ended.
    Idle(Option<std::fs::ReadDir>),
    /// A pool job reads the next batch.
    Busy(JoinHandle<Batch>),
}

type Batch = (Option<std::fs::ReadDir>, VecDeque<io::Result<DirEntry>>);

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(entry) = this.ready.pop_front() {
                return Poll::Ready(Some(entry));
            }
            match &mut this.state {
                State::Idle(None) => return Poll::Ready(None),
                State::Idle(iter) => {
                    let mut iter = iter.take().expect("matched Some");
                    let path = this.path.clone();
                    this.state = State::Busy(crate::spawn::spawn_blocking(move || {
                        let mut batch = VecDeque::with_capacity(BATCH);
                        for _ in 0..BATCH {
                            match iter.next() {
                                Some(entry) => batch.push_back(
                                    entry
                                        .map(|inner| DirEntry { inner })
                                        .map_err(|e| with_path(e, "read_dir", &path)),
                                ),
                                None => return (None, batch),
                            }
                        }
                        (Some(iter), batch)
                    }));
                }
                State::Busy(job) => {
                    let (iter, batch) = ready!(Pin::new(job).poll(cx)).map_err(|e| {
                        io::Error::other(format!("kiwi::fs: read_dir did not finish: {e}"))
                    })?;
                    this.state = State::Idle(iter);
                    this.ready = batch;
                }
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("path", &self.path).finish()
    }
}

/// One entry of a directory.
#[derive(Debug)]
pub struct DirEntry {
    inner: std::fs::DirEntry,
}

impl DirEntry {
    /// The entry's full path: the directory's path joined with its name.
    ///
    /// # Examples
    ///
    /// See [`read_dir`].
    pub fn path(&self) -> PathBuf {
        self.inner.path()
    }

    /// The entry's name, without the directory.
    ///
    /// # Examples
    ///
    /// See [`read_dir`].
    pub fn file_name(&self) -> OsString {
        self.inner.file_name()
    }

    /// The entry's metadata (symbolic links not followed), on the pool.
    ///
    /// # Examples
    ///
    /// See [`read_dir`].
    ///
    /// # Cancel safety
    ///
    /// Nothing to lose.
    pub async fn metadata(&self) -> io::Result<std::fs::Metadata> {
        on_pool("metadata", self.inner.path(), |p| {
            std::fs::symlink_metadata(p)
        })
        .await
    }
}
