//! `JoinSet`: a set of tasks whose outputs come back in completion order.
//!
//! Each member's `JoinHandle` is polled with a waker of its own that records the
//! member's index in a ready list, so `join_next` only looks at members that
//! actually made progress: O(1) per completion, not O(n) per call.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

use crate::task::{JoinError, JoinHandle};

/// A set of spawned tasks. Dropping it aborts every task still in it.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let mut set = kiwi_runtime::JoinSet::new();
///     for i in 0..10u64 {
///         set.spawn(async move { i * i });
///     }
///     let mut sum = 0;
///     while let Some(res) = set.join_next().await {
///         sum += res.unwrap();
///     }
///     assert_eq!(sum, 285);
/// });
/// ```
pub struct JoinSet<T> {
    members: Vec<Option<Member<T>>>,
    free: Vec<usize>,
    len: usize,
    notify: Arc<Notify>,
}

struct Member<T> {
    handle: JoinHandle<T>,
    waker: Waker,
}

#[derive(Default)]
struct Notify {
    ready: Mutex<Vec<usize>>,
    waker: AtomicWaker,
}

struct MemberWaker {
    index: usize,
    notify: Arc<Notify>,
}

impl Wake for MemberWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.notify
            .ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.index);
        self.notify.waker.wake();
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            members: Vec::new(),
            free: Vec::new(),
            len: 0,
            notify: Arc::default(),
        }
    }

    /// Number of tasks in the set (finished ones count until `join_next` returns them).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Spawns `future` with [`crate::spawn`] and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a kiwi runtime.
    pub fn spawn<F>(&mut self, future: F) -> crate::AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Spawns `future` with [`crate::spawn_local`] and adds it to the set.
    ///
    /// # Panics
    ///
    /// On a thread that runs no kiwi worker.
    pub fn spawn_local<F>(&mut self, future: F) -> crate::AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.insert(crate::spawn_local(future))
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> crate::AbortHandle {
        let abort = handle.abort_handle();
        let index = self.free.pop().unwrap_or(self.members.len());
        let waker = Waker::from(Arc::new(MemberWaker {
            index,
            notify: self.notify.clone(),
        }));
        let member = Some(Member { handle, waker });
        if index == self.members.len() {
            self.members.push(member);
        } else {
            self.members[index] = member;
        }
        self.len += 1;
        // Poll it once at the next `join_next`, which registers its waker.
        self.notify
            .ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(index);
        abort
    }

    /// Waits for the next task to finish and returns its result; `None` when the
    /// set is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a result is removed from the set only when it is returned.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Polls for the next finished task; see [`JoinSet::join_next`].
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        self.notify.waker.register(cx.waker());
        loop {
            let next = self
                .notify
                .ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop();
            let Some(index) = next else {
                return Poll::Pending;
            };
            let Some(Some(member)) = self.members.get_mut(index) else {
                continue;
            };
            let mut mcx = Context::from_waker(&member.waker);
            if let Poll::Ready(res) = Pin::new(&mut member.handle).poll(&mut mcx) {
                self.members[index] = None;
                self.free.push(index);
                self.len -= 1;
                return Poll::Ready(Some(res));
            }
        }
    }

    /// Aborts every task in the set; they stay in it until `join_next` returns
    /// their (cancelled) results.
    pub fn abort_all(&mut self) {
        for m in self.members.iter().flatten() {
            m.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it.
    pub fn detach_all(&mut self) {
        self.members.clear();
        self.free.clear();
        self.len = 0;
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
