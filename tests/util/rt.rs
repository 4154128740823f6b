//! Helpers shared by the runtime tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it takes longer than `secs`:
/// a hang becomes a failure instead of a stuck CI run.
pub fn with_deadline<F: FnOnce() + Send + 'static>(secs: u64, f: F) {
    let (tx, rx) = channel();
    let body = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => body.join().unwrap(),
        Err(RecvTimeoutError::Timeout) => panic!("test exceeded its {secs} s deadline"),
        Err(RecvTimeoutError::Disconnected) => {
            if let Err(p) = body.join() {
                std::panic::resume_unwind(p);
            }
        }
    }
}

/// Counts drops, and remembers the thread each drop happened on.
#[derive(Clone, Default)]
pub struct DropLog {
    pub drops: Arc<AtomicUsize>,
    pub threads: Arc<std::sync::Mutex<Vec<Option<String>>>>,
}

impl DropLog {
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.clone())
    }
    pub fn count(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
    pub fn thread_names(&self) -> Vec<Option<String>> {
        self.threads.lock().unwrap().clone()
    }
}

/// Records its drop in a [`DropLog`].
pub struct DropGuard(DropLog);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, Ordering::SeqCst);
        self.0
            .threads
            .lock()
            .unwrap()
            .push(std::thread::current().name().map(str::to_owned));
    }
}
