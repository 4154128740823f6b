//! `#[kiwi::main]` and `#[kiwi::test]`: let `main` and tests be `async fn`s.
//!
//! You never depend on this crate directly. `kiwi` re-exports both macros, so
//! you write `#[kiwi::main]` and `#[kiwi::test]`.
//!
//! # What the macros do
//!
//! Rust will not run an `async fn main` by itself: something has to create a
//! runtime and drive the future `main` returns until it finishes. These
//! macros write that code for you. This
//!
//! ```text
//! #[kiwi::main]
//! async fn main() -> std::io::Result<()> {
//!     BODY
//! }
//! ```
//!
//! becomes a plain function that starts a runtime and blocks on the body:
//!
//! ```text
//! fn main() -> std::io::Result<()> {
//!     let body = async move { BODY };
//!     ::kiwi::Runtime::new()
//!         .expect("kiwi::main: failed to start the runtime")
//!         .block_on(body)
//! }
//! ```
//!
//! The return type is kept. `block_on` returns whatever the future returns, and
//! `block_on(body)` is the function's last expression, so the compiler infers the
//! `async` block's output from the function's return type. That's why `?` works
//! inside the body.
//!
//! # Examples
//!
//! ```
//! #[kiwi::main]
//! async fn main() -> Result<(), std::num::ParseIntError> {
//!     let answer: u32 = "42".parse()?;
//!     assert_eq!(answer, 42);
//!     Ok(())
//! }
//! ```
//!
//! Tests work the same way:
//!
//! ```
//! #[kiwi::test]
//! async fn adds() {
//!     let four = async { 2 + 2 }.await;
//!     assert_eq!(four, 4);
//! }
//! # fn main() {}
//! ```
//!
//! # How an attribute macro works
//!
//! An attribute macro is a function from tokens to tokens. For
//!
//! ```text
//! #[kiwi::main(workers = 4)]
//! async fn main() { ... }
//! ```
//!
//! the compiler calls [`main`](macro@main) with two [`TokenStream`]s: the
//! *arguments*, `workers = 4`, and the *item* the attribute sits on, the whole
//! `async fn main() { ... }`. Whatever stream we return replaces the item.
//! By then the item has already been parsed once, so we know it is valid Rust
//! syntax. We don't have to handle every malformed input, only check that it
//! is the kind of item we accept.
//!
//! A token stream is a flat list of [`TokenTree`]s. Each is an identifier
//! (`async`, `main`), a punctuation character (`#`, `-`, `>`), a literal
//! (`4`, `"hi"`), or a *group*: tokens inside a matching pair of `()`, `[]`
//! or `{}`. Because brackets are already matched into groups, the top level of
//! a function item is short and easy to walk:
//!
//! ```text
//! #  [doc = "..."]  pub  async  fn  main  ()  ->  io :: Result < () >  { ... }
//! ^  ^^^^^^^^^^^^^  ^^^  ^^^^^  ^^  ^^^^  ^^  ^^^^^^^^^^^^^^^^^^^^^^  ^^^^^^^
//! attribute         vis  qualifiers name  params  return type           body
//! ```
//!
//! (Doc comments reach us as `#[doc = "..."]` attributes.) Big parser
//! libraries like `syn` build a full syntax tree from this. We only need
//! three positions: where `async` is, where the parameters are, and where the
//! body is. So this crate uses nothing but the compiler's own `proc_macro`
//! crate, in three steps:
//!
//! 1. **Copy** the tokens into a plain [`Vec`] of `Tok` values (`Ident("fn")`,
//!    `Punct('#')`, ...). `proc_macro`'s types only work while the compiler is
//!    running a macro, so they can't be used in ordinary `#[test]`s. Plain
//!    data can.
//! 2. **Decide** on the plain data: `parse_args` reads `workers = N` and
//!    `flavor = "..."`, and `find_fn_parts` finds the `async` keyword and the
//!    body, or reports what is wrong and at which token.
//! 3. **Rewrite** the real tokens: drop `async`, replace the body. The user's
//!    own tokens keep their spans (source locations), so compiler errors inside
//!    the body still point at the user's code.
//!
//! When something is wrong, we return a `compile_error!("...")` invocation
//! whose tokens carry the span of the offending token. The compiler then shows
//! our message underlining that exact spot.

mod decide;
mod rewrite;
#[cfg(test)]
mod tests;
mod tokens;

use proc_macro::{TokenStream, TokenTree};

use decide::{find_fn_parts, parse_args, Config};
use rewrite::rewrite;
use tokens::plain;

/// Runs an `async fn` (usually `main`) on a kiwi runtime.
///
/// The function must be `async` and take no parameters. It may have any name,
/// visibility, attributes and return type. The attribute turns it into an
/// ordinary function that starts a runtime, blocks on the body and returns
/// the body's result.
///
/// # Arguments
///
/// - `#[kiwi::main]` starts a runtime with the default settings:
///   `::kiwi::Runtime::new()`.
/// - `#[kiwi::main(workers = N)]` starts one with `N` worker threads:
///   `::kiwi::Builder::new().workers(N).build()`. `N` must be an integer
///   literal of at least 1.
/// - `#[kiwi::main(flavor = "current_thread")]` runs the body with
///   `::kiwi::block_on`: one worker, the calling thread (`workers` is then an
///   error). `flavor = "multi_thread"` is the default, said out loud.
///
/// If the runtime cannot start, the generated code panics with
/// `kiwi::main: failed to start the runtime`.
///
/// # Expansion
///
/// ```text
/// #[kiwi::main(workers = 2)]
/// async fn main() -> std::io::Result<()> { BODY }
/// ```
///
/// becomes
///
/// ```text
/// fn main() -> std::io::Result<()> {
///     let body = async move { BODY };
///     ::kiwi::Builder::new()
///         .workers(2)
///         .build()
///         .expect("kiwi::main: failed to start the runtime")
///         .block_on(body)
/// }
/// ```
///
/// # Examples
///
/// ```
/// #[kiwi::main]
/// async fn main() {
///     let greeting = async { "hello from kiwi" }.await;
///     println!("{greeting}");
/// }
/// ```
///
/// A return type works, and so does `?` inside the body:
///
/// ```
/// use std::io;
///
/// #[kiwi::main(workers = 2)]
/// async fn main() -> io::Result<()> {
///     let n: usize = "2".parse().map_err(|_| io::Error::other("not a number"))?;
///     assert_eq!(n, 2);
///     Ok(())
/// }
/// ```
///
/// # Errors
///
/// Mistakes are reported at compile time, pointing at the offending token.
/// A function that isn't `async`:
///
/// ```compile_fail
/// #[kiwi::main] // error: the #[kiwi::main] attribute can only be used on an async fn
/// fn main() {}
/// ```
///
/// An argument other than `workers` and `flavor`, a `workers` that isn't a
/// positive integer, an unknown flavor, or `workers` on a current-thread
/// runtime:
///
/// ```compile_fail
/// #[kiwi::main(threads = 4)] // error: unknown argument `threads` to #[kiwi::main]
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[kiwi::main(workers = 0)] // error: `workers` must be at least 1
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[kiwi::main(flavor = "single")] // error: `flavor` must be "current_thread" or "multi_thread"
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[kiwi::main(flavor = "current_thread", workers = 2)] // error: `workers` needs `flavor = "multi_thread"`
/// async fn main() {}
/// ```
///
/// A function with parameters (there would be nobody to pass them):
///
/// ```compile_fail
/// #[kiwi::main] // error: a #[kiwi::main] function cannot take parameters
/// async fn main(name: String) {}
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args, item)
}

/// Runs an `async fn` as a `#[test]`.
///
/// The attribute adds `#[test]` itself, so don't write it as well. Other
/// attributes, such as `#[should_panic]` or `#[ignore]`, go below it as usual.
/// The test may return a `Result`, like any Rust test.
///
/// # Arguments
///
/// - `#[kiwi::test]` runs the body with `::kiwi::block_on`, on the test's
///   own thread.
/// - `#[kiwi::test(workers = N)]` starts a runtime with `N` worker threads
///   (`::kiwi::Builder::new().workers(N).build()`) and blocks on the body
///   there. Use this to test code that needs more than one thread.
/// - `#[kiwi::test(flavor = "multi_thread")]` starts a runtime with the
///   default number of workers (`::kiwi::Runtime::new()`);
///   `flavor = "current_thread"` is the default, said out loud.
///
/// # Expansion
///
/// ```text
/// #[kiwi::test]
/// async fn reads() { BODY }
/// ```
///
/// becomes
///
/// ```text
/// #[::core::prelude::v1::test]
/// fn reads() {
///     let body = async move { BODY };
///     ::kiwi::block_on(body)
/// }
/// ```
///
/// # Examples
///
/// ```
/// #[kiwi::test]
/// async fn ready_future() {
///     assert_eq!(async { 1 }.await, 1);
/// }
///
/// #[kiwi::test(workers = 4)]
/// async fn with_four_workers() -> Result<(), std::num::ParseIntError> {
///     let n: u8 = "4".parse()?;
///     assert_eq!(n, 4);
///     Ok(())
/// }
///
/// #[kiwi::test(flavor = "multi_thread")]
/// async fn on_a_pool() {
///     let name = kiwi::spawn(async { std::thread::current().name().map(String::from) });
///     assert!(name.await.unwrap().unwrap().contains("worker"));
/// }
/// # fn main() {}
/// ```
///
/// # Errors
///
/// The same mistakes as for [`main`](macro@main) are errors here, and so is
/// writing `#[test]` twice:
///
/// ```compile_fail
/// #[kiwi::test]
/// #[test] // error: #[kiwi::test] already adds #[test]; remove this one
/// async fn twice() {}
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args, item)
}

/// Which of the two attributes is being expanded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as the user wrote it, for error messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "#[kiwi::main]",
            Kind::Test => "#[kiwi::test]",
        }
    }
}

/// The whole macro: copy, decide, rewrite.
fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    // Step 1 (`tokens.rs`): collect the top-level tokens, and a plain copy of them to reason
    // about. Index `i` in one list is index `i` in the other.
    let args: Vec<TokenTree> = args.into_iter().collect();
    let item: Vec<TokenTree> = item.into_iter().collect();

    // Step 2 (`decide.rs`): decide. If the item isn't a fn we can handle, give back the
    // item unchanged plus the error. Returning the item keeps the function
    // defined, which avoids knock-on errors such as "`main` function not
    // found". (The compiler may still add its own complaint about the
    // untouched item, e.g. that `main` can't be `async`.)
    let parts = match find_fn_parts(kind, &plain(&item)) {
        Ok(parts) => parts,
        Err(error) => {
            let mut out = error.into_tokens(&item);
            out.extend(item);
            return out;
        }
    };
    // A bad argument is reported, but we still expand with the default
    // settings, so the function itself compiles and no further errors appear.
    let (config, arg_error) = match parse_args(kind, &plain(&args)) {
        Ok(config) => (config, TokenStream::new()),
        Err(error) => (Config::default(), error.into_tokens(&args)),
    };

    // Step 3 (`rewrite.rs`): rewrite.
    let mut out = rewrite(kind, &config, item, &parts);
    out.extend(arg_error);
    out
}
