//! Runs the real expansions of `#[kiwi_macros::main]` and `#[kiwi_macros::test]`.
//!
//! The generated code calls `::kiwi::Runtime`, `::kiwi::Builder` and
//! `::kiwi::block_on`. `extern crate self as kiwi` makes `::kiwi` mean
//! *this* test crate, and below we define a small stand-in for those three
//! items. The stand-in records which entry point ran, so each test can check
//! that the macro picked the right one and passed `workers` through. It also
//! keeps these tests independent of the real runtime.

extern crate self as kiwi;

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Which entry point the generated code called.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Entry {
    /// `Runtime::new()`.
    DefaultRuntime,
    /// `Builder::new().workers(n).build()`.
    Workers(usize),
    /// `kiwi::block_on`.
    BlockOn,
}

thread_local! {
    static ENTRY: Cell<Option<Entry>> = const { Cell::new(None) };
}

/// The entry point that is running the current test's body.
fn entered() -> Option<Entry> {
    ENTRY.with(Cell::get)
}

/// Polls `future` until it is ready. Nothing here needs a real waker.
fn run<F: Future>(entry: Entry, future: F) -> F::Output {
    ENTRY.with(|cell| cell.set(Some(entry)));
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Stand-in for `kiwi::Runtime`.
pub struct Runtime {
    entry: Entry,
}

impl Runtime {
    /// Stand-in for `kiwi::Runtime::new`.
    pub fn new() -> std::io::Result<Runtime> {
        Ok(Runtime {
            entry: Entry::DefaultRuntime,
        })
    }

    /// Stand-in for `kiwi::Runtime::block_on`.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        run(self.entry, future)
    }
}

/// Stand-in for `kiwi::Builder`.
pub struct Builder {
    workers: usize,
}

impl Builder {
    /// Stand-in for `kiwi::Builder::new`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Builder {
        Builder { workers: 0 }
    }

    /// Stand-in for `kiwi::Builder::workers`.
    pub fn workers(self, workers: usize) -> Builder {
        Builder { workers }
    }

    /// Stand-in for `kiwi::Builder::build`.
    pub fn build(self) -> std::io::Result<Runtime> {
        Ok(Runtime {
            entry: Entry::Workers(self.workers),
        })
    }
}

/// Stand-in for `kiwi::block_on`.
pub fn block_on<F: Future>(future: F) -> F::Output {
    run(Entry::BlockOn, future)
}

/// A future that is pending once before it completes, so the bodies below
/// really suspend at an `.await`.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|_| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            Poll::Pending
        }
    })
    .await
}

// --- #[main] ----------------------------------------------------------------

#[kiwi_macros::main]
async fn main_default() -> Option<Entry> {
    yield_once().await;
    entered()
}

#[kiwi_macros::main(workers = 3)]
async fn main_three_workers() -> Option<Entry> {
    entered()
}

#[kiwi_macros::main(flavor = "current_thread")]
async fn main_current_thread() -> Option<Entry> {
    entered()
}

#[kiwi_macros::main(flavor = "multi_thread", workers = 2)]
async fn main_multi_thread_two() -> Option<Entry> {
    entered()
}

#[test]
fn main_picks_the_runtime() {
    assert_eq!(main_default(), Some(Entry::DefaultRuntime));
    assert_eq!(main_three_workers(), Some(Entry::Workers(3)));
    assert_eq!(main_current_thread(), Some(Entry::BlockOn));
    assert_eq!(main_multi_thread_two(), Some(Entry::Workers(2)));
}

thread_local! {
    static INPUT: Cell<&'static str> = const { Cell::new("") };
}

/// `?` converts a `ParseIntError` into a `Box<dyn Error>`. For that the body
/// needs its error type, which comes only from the function's return type.
/// The `where` clause checks that tokens between the parameters and the body
/// are left alone.
#[kiwi_macros::main]
pub(crate) async fn parse_and_double() -> Result<u32, Box<dyn std::error::Error>>
where
    (): Sized,
{
    let n: u32 = INPUT.with(Cell::get).parse()?;
    yield_once().await;
    Ok(n * 2)
}

#[test]
fn question_mark_in_main() {
    INPUT.with(|input| input.set("21"));
    assert_eq!(parse_and_double().unwrap(), 42);
    INPUT.with(|input| input.set("twenty-one"));
    assert!(parse_and_double().is_err());
}

#[kiwi_macros::main]
async fn io_main() -> std::io::Result<&'static str> {
    let error = std::io::Error::other("boom");
    if INPUT.with(Cell::get) == "fail" {
        return Err(error);
    }
    Ok("fine")
}

#[test]
fn return_inside_the_body_leaves_the_body() {
    INPUT.with(|input| input.set("fail"));
    assert_eq!(io_main().unwrap_err().to_string(), "boom");
    INPUT.with(|input| input.set(""));
    assert_eq!(io_main().unwrap(), "fine");
}

/// `main` itself works too, inside a module so it isn't the crate's `main`.
mod named_main {
    /// Doc comments and other attributes are kept.
    #[kiwi_macros::main(workers = 2)]
    #[inline(never)]
    pub async fn main() -> Option<super::Entry> {
        super::entered()
    }
}

#[test]
fn a_function_called_main() {
    assert_eq!(named_main::main(), Some(Entry::Workers(2)));
}

// --- #[test] ----------------------------------------------------------------

#[kiwi_macros::test]
async fn test_runs_on_block_on() {
    yield_once().await;
    assert_eq!(entered(), Some(Entry::BlockOn));
}

#[kiwi_macros::test(workers = 4)]
async fn test_with_workers() {
    assert_eq!(entered(), Some(Entry::Workers(4)));
}

#[kiwi_macros::test(flavor = "multi_thread")]
async fn test_multi_thread_flavor() {
    assert_eq!(entered(), Some(Entry::DefaultRuntime));
}

#[kiwi_macros::test(flavor = "current_thread")]
async fn test_current_thread_flavor() {
    assert_eq!(entered(), Some(Entry::BlockOn));
}

#[kiwi_macros::test]
async fn test_returning_result() -> Result<(), std::num::ParseIntError> {
    let n: u8 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}

#[kiwi_macros::test]
#[should_panic(expected = "from inside the body")]
async fn test_keeps_should_panic() {
    yield_once().await;
    panic!("from inside the body");
}

#[kiwi_macros::test]
#[ignore = "checks that #[ignore] is passed through; never runs"]
async fn test_keeps_ignore() {
    panic!("ignored tests don't run");
}
