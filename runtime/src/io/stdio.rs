//! The standard streams, through the blocking pool.
//!
//! Why not the reactor: file descriptors 0, 1 and 2 are shared with the
//! parent shell and every other program on the same terminal or pipe.
//! `O_NONBLOCK` is a flag of the open file *description*, not of our
//! descriptor, so setting it would make their reads and writes fail with
//! `EAGAIN` too (a shell left with a nonblocking terminal is a classic bug).
//! kiwi leaves them blocking and runs each read or write on the blocking
//! pool, as tokio does.

use std::fmt;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::io::{AsyncRead, AsyncWrite};

use super::blocking::Blocking;
use crate::handle::Handle;

/// A standard stream in the one direction it supports.
struct Raw<T>(T);

impl Read for Raw<io::Stdin> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Raw<io::Stdin> {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "stdin is not writable",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

macro_rules! write_only {
    ($ty:ty, $name:literal) => {
        impl Read for Raw<$ty> {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    concat!($name, " is not readable"),
                ))
            }
        }
        impl Write for Raw<$ty> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.0.flush()
            }
        }
    };
}
write_only!(io::Stdout, "stdout");
write_only!(io::Stderr, "stderr");

fn no_seek<T>(_: &mut T, _: i64) -> io::Result<()> {
    Ok(())
}

/// The process's standard input, as a futures-io `AsyncRead`.
///
/// # Panics
///
/// Outside a kiwi runtime.
///
/// # Examples
///
/// ```no_run
/// use futures_util::io::{AsyncBufReadExt, BufReader};
///
/// kiwi_runtime::block_on(async {
///     let mut lines = BufReader::new(kiwi_runtime::io::stdin()).lines();
///     # use futures_util::StreamExt;
///     while let Some(line) = lines.next().await {
///         println!("got {}", line?);
///     }
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub fn stdin() -> Stdin {
    Stdin(Blocking::new(Raw(io::stdin()), Handle::current(), no_seek))
}

/// The process's standard output, as a futures-io `AsyncWrite`. Small writes
/// are gathered; `flush` sends them.
///
/// # Panics
///
/// Outside a kiwi runtime.
///
/// # Examples
///
/// ```
/// use futures_util::io::AsyncWriteExt;
///
/// kiwi_runtime::block_on(async {
///     let mut out = kiwi_runtime::io::stdout();
///     out.write_all(b"hello from kiwi\n").await?;
///     out.flush().await
/// }).unwrap();
/// ```
pub fn stdout() -> Stdout {
    Stdout(Blocking::new(Raw(io::stdout()), Handle::current(), no_seek))
}

/// The process's standard error, as a futures-io `AsyncWrite`.
///
/// # Panics
///
/// Outside a kiwi runtime.
///
/// # Examples
///
/// ```
/// use futures_util::io::AsyncWriteExt;
///
/// kiwi_runtime::block_on(async {
///     let mut err = kiwi_runtime::io::stderr();
///     err.write_all(b"a warning\n").await?;
///     err.flush().await
/// }).unwrap();
/// ```
pub fn stderr() -> Stderr {
    Stderr(Blocking::new(Raw(io::stderr()), Handle::current(), no_seek))
}

/// See [`stdin`].
pub struct Stdin(Blocking<Raw<io::Stdin>>);
/// See [`stdout`].
pub struct Stdout(Blocking<Raw<io::Stdout>>);
/// See [`stderr`].
pub struct Stderr(Blocking<Raw<io::Stderr>>);

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_read(cx, buf)
    }
}

macro_rules! async_write {
    ($ty:ident) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().0.poll_write(cx, buf)
            }
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().0.poll_flush(cx)
            }
            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().0.poll_flush(cx)
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($ty))
            }
        }
    };
}
async_write!(Stdout);
async_write!(Stderr);

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stdin")
    }
}
