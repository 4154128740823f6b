//! `JoinError`: why a task produced no output.

use std::any::Any;
use std::fmt;
use std::sync::Mutex;

use super::id::Id;

/// A task ended without producing its output: it panicked, or it was cancelled
/// (aborted, or its runtime shut down before it finished).
///
/// # Examples
///
/// ```
/// let err = kiwi_runtime::block_on(async {
///     kiwi_runtime::spawn(async { panic!("boom") }).await.unwrap_err()
/// });
/// assert!(err.is_panic());
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// ```
pub struct JoinError {
    repr: Cause,
    id: Id,
}

/// Why a task has no output, as stored in the task until its `JoinHandle`
/// reads it. The id is added then, from the header, so that a finished
/// task's stage does not grow by the id's eight bytes.
pub(crate) enum Cause {
    Cancelled,
    // `Box<dyn Any + Send>` is not `Sync`; the mutex makes `JoinError: Sync` (so it
    // can become an `io::Error`) at no cost on the happy path: it is only built
    // when a task panicked. Boxed to keep a finished task's stage small.
    Panic(Box<Mutex<Box<dyn Any + Send + 'static>>>),
}

impl Cause {
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> Cause {
        Cause::Panic(Box::new(Mutex::new(payload)))
    }
}

impl JoinError {
    pub(crate) fn new(repr: Cause, id: Id) -> JoinError {
        JoinError { repr, id }
    }

    /// The id of the task that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let h = kiwi_runtime::spawn(std::future::pending::<()>());
    ///     let id = h.id();
    ///     h.abort();
    ///     assert_eq!(h.await.unwrap_err().id(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }

    /// True if the task was aborted or its runtime shut down first.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Cause::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Cause::Panic(_))
    }

    /// Returns the panic payload, to inspect it or resume unwinding with
    /// `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the error is a cancellation; check [`JoinError::is_panic`] first or
    /// use [`JoinError::try_into_panic`].
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(p) => p,
            Err(_) => panic!("JoinError::into_panic called on a cancelled task's error"),
        }
    }

    /// Returns the panic payload, or gives the error back if it is a cancellation.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Cause::Panic(p) => Ok(p.into_inner().unwrap_or_else(|e| e.into_inner())),
            Cause::Cancelled => Err(self),
        }
    }

    fn panic_message(&self) -> Option<String> {
        let Cause::Panic(p) = &self.repr else {
            return None;
        };
        let guard = p.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = guard.downcast_ref::<&'static str>() {
            Some((*s).to_string())
        } else {
            guard.downcast_ref::<String>().cloned()
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Cause::Cancelled, _) => f.write_str("task was cancelled"),
            (Cause::Panic(_), Some(msg)) => write!(f, "task panicked with message {msg:?}"),
            (Cause::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Cause::Cancelled, _) => write!(f, "JoinError::Cancelled({:?})", self.id),
            (Cause::Panic(_), Some(msg)) => write!(f, "JoinError::Panic({:?}, {msg:?})", self.id),
            (Cause::Panic(_), None) => write!(f, "JoinError::Panic({:?}, ..)", self.id),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e)
    }
}
