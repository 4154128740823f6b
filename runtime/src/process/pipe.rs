//! A child's standard streams, as futures-io over nonblocking pipes
//! registered with the reactor like any socket.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::io::{AsyncRead, AsyncWrite};

use crate::io::{Direction, FdSource, Io, Registration, Source};
use crate::sys::process as sys;

/// One pipe end, nonblocking and registered on first use.
struct Pipe {
    reg: Registration,
}

impl Pipe {
    fn new(fd: OwnedFd) -> io::Result<Pipe> {
        sys::set_nonblocking(std::os::fd::AsFd::as_fd(&fd))?;
        Ok(Pipe {
            reg: Registration::new(FdSource::new(fd)),
        })
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let fd = self.reg.source().fd();
        self.reg
            .poll_io(cx, Direction::Read, || sys::read(fd, buf).map(Io::Done))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let fd = self.reg.source().fd();
        self.reg
            .poll_io(cx, Direction::Write, || sys::write(fd, buf).map(Io::Done))
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let _ = self.reg.deregister();
    }
}

macro_rules! pipe_type {
    ($name:ident, $std:ty, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(Pipe);

        impl $name {
            pub(crate) fn from_std(pipe: $std) -> io::Result<$name> {
                Pipe::new(OwnedFd::from(pipe)).map($name)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}

pipe_type!(
    ChildStdin,
    std::process::ChildStdin,
    "The write end of a child's standard input (`Stdio::piped()`). Dropping or \
     closing it gives the child EOF. Writing after the child closed its end is \
     a `BrokenPipe` error, never a SIGPIPE."
);
pipe_type!(
    ChildStdout,
    std::process::ChildStdout,
    "The read end of a child's standard output (`Stdio::piped()`)."
);
pipe_type!(
    ChildStderr,
    std::process::ChildStderr,
    "The read end of a child's standard error (`Stdio::piped()`)."
);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // nothing is buffered here
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The child sees EOF when this end is dropped; there is no
        // half-close on a pipe.
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read(cx, buf)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read(cx, buf)
    }
}
