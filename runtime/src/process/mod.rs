//! Child processes, in tokio's shape: [`Command`] spawns, [`Child`] waits.
//!
//! # A child's exit is a readiness event
//!
//! `pidfd_open(2)` (Linux 5.3) gives a descriptor for a process that turns
//! readable when the process exits. kiwi registers it with the reactor like
//! any socket, so waiting for a child is waiting for one more edge: no
//! SIGCHLD handler, no reaper thread, no global list. When the edge comes,
//! `waitpid` (through `std::process::Child::try_wait`) collects the status.
//! Where `pidfd_open` is refused (`ENOSYS` before 5.3, `EPERM` under some
//! sandboxes), kiwi falls back to SIGCHLD through its signal handler
//! (`kiwi::signal`): every delivery makes each waiting `Child` try again.
//!
//! The standard streams a child gets with `Stdio::piped()` are pipes; kiwi
//! makes its ends nonblocking and registers them too, so [`ChildStdout`]
//! and friends are futures-io streams like sockets.
//!
//! # Children the program forgets
//!
//! A `Child` dropped before its exit was seen is reaped all the same: a task
//! on the current runtime waits for the exit in its place, so no zombie is
//! left behind. With [`Command::kill_on_drop`] it is killed first. Children
//! still running when the runtime shuts down are left running (or killed,
//! with `kill_on_drop`) and unreaped: a zombie each until this process
//! exits. That is a shortcut: tokio keeps a global orphan queue that the
//! next runtime's SIGCHLD reaps; kiwi keeps no global list.

mod pipe;

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output};
use std::task::{ready, Context, Poll};

use futures_util::io::AsyncReadExt;

pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::Stdio;

use crate::io::{Direction, FdSource, Registration};
use crate::signal::Watch;
use crate::sys::process as sys;

/// A process to spawn: `std::process::Command`, with an async [`Child`].
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let out = kiwi_runtime::process::Command::new("echo").arg("hello").output().await?;
///     assert!(out.status.success());
///     assert_eq!(out.stdout, b"hello\n");
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command running `program`, found on `PATH` unless it contains a
    /// slash.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }
    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }
    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&mut self, args: I) -> &mut Command {
        self.std.args(args);
        self
    }
    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }
    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }
    /// The child's standard input: `Stdio::piped()`, `null()` or `inherit()`.
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self
    }
    /// The child's standard output.
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }
    /// The child's standard error.
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }
    /// Kill the child (SIGKILL) if its [`Child`] is dropped before it exited.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let child = kiwi_runtime::process::Command::new("sleep")
    ///         .arg("60")
    ///         .kill_on_drop(true)
    ///         .spawn()?;
    ///     drop(child); // killed, and reaped in the background
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    pub fn kill_on_drop(&mut self, on: bool) -> &mut Command {
        self.kill_on_drop = on;
        self
    }
    /// The `std::process::Command` inside, for everything else (`pre_exec`,
    /// `uid`, `process_group`...).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the process.
    ///
    /// # Errors
    ///
    /// The error of starting it, its kind kept and the program named:
    /// `NotFound` for a missing program, and so on.
    ///
    /// # Panics
    ///
    /// Outside a kiwi runtime, if a pipe or the exit watch cannot be set up
    /// there (they need its reactor at the first wait, not here).
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let err = kiwi_runtime::process::Command::new("no-such-program-kiwi").spawn().unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     assert!(err.to_string().contains("no-such-program-kiwi"));
    /// });
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let mut std = self.std.spawn().map_err(|e| {
            let program = self.std.get_program().to_string_lossy().into_owned();
            io::Error::new(e.kind(), format!("failed to spawn {program:?}: {e}"))
        })?;
        let stdin = std.stdin.take().map(ChildStdin::from_std).transpose()?;
        let stdout = std.stdout.take().map(ChildStdout::from_std).transpose()?;
        let stderr = std.stderr.take().map(ChildStderr::from_std).transpose()?;
        let exit = match sys::pidfd_open(std.id()) {
            Ok(fd) => Exit::Pidfd(Registration::new(FdSource::new(fd))),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                Exit::Sigchld(Watch::new(libc::SIGCHLD)?)
            }
            Err(e) => return Err(e),
        };
        Ok(Child {
            inner: Some(Inner { std, exit }),
            status: None,
            kill_on_drop: self.kill_on_drop,
            stdin,
            stdout,
            stderr,
        })
    }

    /// Runs the process with its standard output and error captured and its
    /// input closed, and returns all of it once it exited.
    ///
    /// # Examples
    ///
    /// See [`Command`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the `Child` (see the module docs).
    pub async fn output(&mut self) -> io::Result<Output> {
        self.std.stdin(Stdio::null());
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        self.spawn()?.wait_with_output().await
    }

    /// Runs the process (its standard streams inherited unless set) and
    /// returns its exit status.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let status = kiwi_runtime::process::Command::new("sh").args(["-c", "exit 3"]).status().await?;
    ///     assert_eq!(status.code(), Some(3));
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the `Child` (see the module docs).
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

/// How a `Child` learns of its exit.
enum Exit {
    /// The pidfd turns readable.
    Pidfd(Registration),
    /// Some SIGCHLD arrives (the fallback).
    Sigchld(Watch),
}

/// What a running child needs: the std handle (to reap) and its exit watch.
struct Inner {
    std: std::process::Child,
    exit: Exit,
}

impl Inner {
    /// Ready with the exit status once the child exited (and was reaped).
    fn poll_exit(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(status) = self.std.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            match &mut self.exit {
                Exit::Pidfd(reg) => {
                    let ev = ready!(reg.poll_ready(cx, Direction::Read))?;
                    if let Some(status) = self.std.try_wait()? {
                        return Poll::Ready(Ok(status));
                    }
                    reg.clear_readiness(ev);
                }
                Exit::Sigchld(watch) => ready!(watch.poll(cx))?,
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Exit::Pidfd(reg) = &self.exit {
            let _ = reg.deregister();
        }
    }
}

/// A spawned process.
///
/// # Examples
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use kiwi_runtime::process::{Command, Stdio};
///
/// kiwi_runtime::block_on(async {
///     let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
///     let mut stdin = child.stdin.take().unwrap();
///     stdin.write_all(b"through cat").await?;
///     drop(stdin); // EOF for cat
///     let mut out = String::new();
///     child.stdout.take().unwrap().read_to_string(&mut out).await?;
///     assert_eq!(out, "through cat");
///     assert!(child.wait().await?.success());
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct Child {
    /// `None` once reaped.
    inner: Option<Inner>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    /// The child's standard input, if it was `Stdio::piped()`.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// Reads the child's captured standard output and error to their ends,
    /// both at once (so neither pipe can fill and stall the child), then
    /// waits for it to exit. Streams that were not piped come back empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_runtime::process::{Command, Stdio};
    /// kiwi_runtime::block_on(async {
    ///     let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    ///     let out = child.wait_with_output().await?;
    ///     assert_eq!(out.stdout, b"hi\n");
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the `Child` (see the module docs).
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let read_out = async {
            match stdout.as_mut() {
                Some(s) => s.read_to_end(&mut out).await.map(drop),
                None => Ok(()),
            }
        };
        let read_err = async {
            match stderr.as_mut() {
                Some(s) => s.read_to_end(&mut err).await.map(drop),
                None => Ok(()),
            }
        };
        let (a, b) = futures_util::future::join(read_out, read_err).await;
        a?;
        b?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout: out,
            stderr: err,
        })
    }

    /// The process id, or `None` once the child was reaped (the number may
    /// then belong to another process).
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let mut child = kiwi_runtime::process::Command::new("true").spawn()?;
    ///     assert!(child.id().is_some());
    ///     child.wait().await?;
    ///     assert_eq!(child.id(), None);
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    pub fn id(&self) -> Option<u32> {
        self.inner.as_ref().map(|i| i.std.id())
    }

    /// Waits for the child to exit and returns its status; later calls
    /// return the same status at once. The child's stdin is closed first, so
    /// that a child waiting for EOF does not deadlock this wait.
    ///
    /// # Examples
    ///
    /// See [`Child`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the status is kept for the next call.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        std::future::poll_fn(|cx| self.poll_wait(cx)).await
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(status) = self.status {
            return Poll::Ready(Ok(status));
        }
        let inner = self
            .inner
            .as_mut()
            .expect("a child without a status is not reaped yet");
        let status = ready!(inner.poll_exit(cx))?;
        self.status = Some(status);
        self.inner = None; // reaped: the pidfd and pid are done with
        Poll::Ready(Ok(status))
    }

    /// The exit status if the child has exited, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let mut child = kiwi_runtime::process::Command::new("sleep").arg("60").spawn()?;
    ///     assert!(child.try_wait()?.is_none());
    ///     child.kill().await?;
    ///     assert!(child.try_wait()?.is_some());
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some(inner) = self.inner.as_mut() else {
            return Ok(self.status);
        };
        let status = inner.std.try_wait()?;
        if status.is_some() {
            self.status = status;
            self.inner = None;
        }
        Ok(status)
    }

    /// Sends SIGKILL, and returns without waiting. A child that already exited
    /// is not an error.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let mut child = kiwi_runtime::process::Command::new("sleep").arg("60").spawn()?;
    ///     child.start_kill()?;
    ///     assert!(!child.wait().await?.success());
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(inner) => inner.std.kill(),
            None => Ok(()),
        }
    }

    /// Kills the child, then waits for it; a later [`Child::wait`] returns
    /// the same status.
    ///
    /// # Examples
    ///
    /// See [`Child::try_wait`].
    ///
    /// # Cancel safety
    ///
    /// The signal is sent at the first poll; the status is kept.
    pub async fn kill(&mut self) -> io::Result<ExitStatus> {
        self.start_kill()?;
        self.wait().await
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else {
            return; // reaped
        };
        if let Ok(Some(_)) = inner.std.try_wait() {
            return; // reaped just now
        }
        if self.kill_on_drop {
            let _ = inner.std.kill();
        }
        // Nobody will wait for it: a task does, so that no zombie is left.
        // Outside a runtime there is nobody to ask; the system reaps it when
        // this process exits.
        if let Some(handle) = crate::Handle::try_current() {
            drop(handle.spawn(async move {
                let _ = std::future::poll_fn(|cx| inner.poll_exit(cx)).await;
            }));
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}
