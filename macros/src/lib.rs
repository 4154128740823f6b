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

use proc_macro::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};

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
enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as the user wrote it, for error messages.
    fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "#[kiwi::main]",
            Kind::Test => "#[kiwi::test]",
        }
    }
}

/// The whole macro: copy, decide, rewrite.
fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    // Step 1: collect the top-level tokens, and a plain copy of them to reason
    // about. Index `i` in one list is index `i` in the other.
    let args: Vec<TokenTree> = args.into_iter().collect();
    let item: Vec<TokenTree> = item.into_iter().collect();

    // Step 2: decide. If the item isn't a fn we can handle, give back the
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

    // Step 3: rewrite.
    let mut out = rewrite(kind, &config, item, &parts);
    out.extend(arg_error);
    out
}

// ---------------------------------------------------------------------------
// Step 1: plain tokens
// ---------------------------------------------------------------------------

/// A token tree, stripped down to plain data we can inspect and test.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// An identifier or keyword: `fn`, `async`, `main`, `workers`.
    Ident(String),
    /// A single punctuation character: `#`, `=`, `,`, `<`.
    Punct(char),
    /// A literal, as written in the source: `4`, `"text"`.
    Literal(String),
    /// A bracketed group and the tokens inside it.
    Group(Delimiter, Vec<Tok>),
}

/// Copies token trees into plain [`Tok`]s, one for one.
fn plain(trees: &[TokenTree]) -> Vec<Tok> {
    trees
        .iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) => Tok::Ident(ident.to_string()),
            TokenTree::Punct(punct) => Tok::Punct(punct.as_char()),
            TokenTree::Literal(literal) => Tok::Literal(literal.to_string()),
            TokenTree::Group(group) => {
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                Tok::Group(group.delimiter(), plain(&inner))
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Step 2: decisions on plain data
// ---------------------------------------------------------------------------

/// A compile error, and which top-level token it should point at.
#[derive(Debug, PartialEq)]
struct Error {
    /// Index of the offending token. `None` means "the attribute itself".
    at: Option<usize>,
    message: String,
}

impl Error {
    fn at(index: usize, message: impl Into<String>) -> Error {
        Error {
            at: Some(index),
            message: message.into(),
        }
    }

    /// Turns the error into `::core::compile_error! { "message" }`, with every
    /// token carrying the span of the offending token in `trees`. The span is
    /// what the compiler underlines when it reports the error.
    fn into_tokens(self, trees: &[TokenTree]) -> TokenStream {
        // An index one past the end (a missing value, say) falls back to
        // the last token.
        let span = match self.at {
            Some(index) => trees
                .get(index)
                .or(trees.last())
                .map_or_else(Span::call_site, TokenTree::span),
            None => Span::call_site(),
        };
        let mut message = Literal::string(&self.message);
        message.set_span(span);
        let mut group = Group::new(Delimiter::Brace, TokenTree::from(message).into());
        group.set_span(span);

        let mut out: TokenStream = code("::core::compile_error!")
            .into_iter()
            .map(|mut tree| {
                tree.set_span(span);
                tree
            })
            .collect();
        out.extend([TokenTree::from(group)]);
        out
    }
}

/// The settings given in the attribute's parentheses.
#[derive(Debug, Default, PartialEq)]
struct Config {
    /// `workers = N`; `None` means "the flavor's default".
    workers: Option<usize>,
    /// `flavor = "..."`; `None` means "the attribute's default" (a pool of
    /// workers for `main`, the current thread for `test`, as in tokio).
    flavor: Option<Flavor>,
    /// `start_paused = true` (`test` only): the body runs with time paused.
    start_paused: bool,
}

/// Which runtime to start.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flavor {
    /// `kiwi::block_on`: one worker, the calling thread.
    CurrentThread,
    /// A `Runtime` with worker threads.
    MultiThread,
}

/// The arguments each attribute accepts, for error messages.
const ARGUMENTS: &str = "`workers = N`, `flavor = \"current_thread\" | \"multi_thread\"` \
                         and (tests only) `start_paused = true`";

/// Parses the attribute's arguments: `name = value` pairs separated by
/// commas, each name at most once. Adding an argument means adding one
/// `match` arm.
fn parse_args(kind: Kind, args: &[Tok]) -> Result<Config, Error> {
    let mut config = Config::default();
    let mut i = 0;
    while i < args.len() {
        let name = match &args[i] {
            Tok::Ident(name) if name == "workers" || name == "flavor" => name.as_str(),
            Tok::Ident(name) if name == "start_paused" && kind == Kind::Test => name.as_str(),
            Tok::Ident(name) => {
                let message = format!(
                    "unknown argument `{name}` to {}; the arguments are {ARGUMENTS}",
                    kind.attribute()
                );
                return Err(Error::at(i, message));
            }
            _ => return Err(Error::at(i, "expected an argument, like `workers = 4`")),
        };
        if args.get(i + 1) != Some(&Tok::Punct('=')) {
            let example = if name == "flavor" {
                "\"multi_thread\""
            } else {
                "4"
            };
            let message = format!("expected `=` after `{name}`, as in `{name} = {example}`");
            return Err(Error::at(i + 1, message));
        }
        let value = match args.get(i + 2) {
            // `true` and `false` are identifiers to the lexer.
            Some(Tok::Literal(text) | Tok::Ident(text)) => text.as_str(),
            _ => "",
        };
        if name == "start_paused" {
            match value {
                "true" => config.start_paused = true,
                "false" => config.start_paused = false,
                _ => {
                    let message = "`start_paused` must be `true` or `false`";
                    return Err(Error::at(i + 2, message));
                }
            }
        } else if name == "workers" {
            match value.parse::<usize>().ok() {
                None => {
                    let message = "`workers` must be a whole number, as in `workers = 4`";
                    return Err(Error::at(i + 2, message));
                }
                Some(0) => return Err(Error::at(i + 2, "`workers` must be at least 1")),
                Some(_) if config.workers.is_some() => {
                    return Err(Error::at(i, "`workers` is given twice"));
                }
                Some(n) => config.workers = Some(n),
            }
        } else {
            let flavor = match value {
                "\"current_thread\"" => Flavor::CurrentThread,
                "\"multi_thread\"" => Flavor::MultiThread,
                _ => {
                    let message = "`flavor` must be \"current_thread\" or \"multi_thread\"";
                    return Err(Error::at(i + 2, message));
                }
            };
            if config.flavor.is_some() {
                return Err(Error::at(i, "`flavor` is given twice"));
            }
            config.flavor = Some(flavor);
        }
        i += 3;
        // Arguments are separated by commas; a trailing comma is fine.
        match args.get(i) {
            None => {}
            Some(Tok::Punct(',')) => i += 1,
            Some(_) => return Err(Error::at(i, "expected `,` between arguments")),
        }
    }
    let multi = config.flavor == Some(Flavor::MultiThread) || config.workers.is_some();
    if config.start_paused && multi {
        let at = args
            .iter()
            .position(|t| *t == Tok::Ident("start_paused".into()))
            .unwrap_or(0);
        let message = "`start_paused` needs a current-thread test: paused time works only on \
                       a runtime whose one worker is the test's thread";
        return Err(Error::at(at, message));
    }
    if config.flavor == Some(Flavor::CurrentThread) && config.workers.is_some() {
        let at = args
            .iter()
            .position(|t| *t == Tok::Ident("workers".into()))
            .unwrap_or(0);
        let message = "`workers` needs `flavor = \"multi_thread\"`: a current_thread \
                       runtime has one worker, the calling thread";
        return Err(Error::at(at, message));
    }
    Ok(config)
}

/// Where the tokens we change sit among the function's top-level tokens.
#[derive(Debug, PartialEq)]
struct FnParts {
    /// Index of the `async` keyword, which we drop.
    async_at: usize,
    /// Index of the `{ ... }` body, which we wrap.
    body_at: usize,
}

/// Checks that `item` is an `async fn` without parameters or generics, and
/// finds its `async` keyword and body.
fn find_fn_parts(kind: Kind, item: &[Tok]) -> Result<FnParts, Error> {
    let attribute = kind.attribute();
    let not_async = format!("the {attribute} attribute can only be used on an async fn");
    let mut i = 0;

    // Outer attributes: a `#` followed by a `[...]` group.
    while let (Some(Tok::Punct('#')), Some(Tok::Group(Delimiter::Bracket, inner))) =
        (item.get(i), item.get(i + 1))
    {
        if kind == Kind::Test && inner[..] == [Tok::Ident("test".into())] {
            let message = format!("{attribute} already adds #[test]; remove this one");
            return Err(Error::at(i, message));
        }
        i += 2;
    }

    // Visibility and qualifiers (`pub`, `pub(crate)`, `async`, `unsafe`, ...)
    // come before the `fn` keyword. We only care whether `async` is among them.
    let mut async_at = None;
    let fn_at = loop {
        match item.get(i) {
            Some(Tok::Ident(word)) if word == "fn" => break i,
            Some(Tok::Ident(word)) if word == "async" => async_at = Some(i),
            Some(_) => {}
            // No `fn` at all: a struct, a `use`, ... Point at the attribute.
            None => {
                return Err(Error {
                    at: None,
                    message: not_async,
                })
            }
        }
        i += 1;
    };
    let Some(async_at) = async_at else {
        return Err(Error::at(fn_at, not_async));
    };

    // After `fn` comes the name, then `(parameters)`, or `<` if the function
    // is generic. Nobody could pass arguments or choose generic types for a
    // function that the runtime or the test harness calls.
    let params_at = fn_at + 2;
    match item.get(params_at) {
        Some(Tok::Group(Delimiter::Parenthesis, params)) if params.is_empty() => {}
        Some(Tok::Group(Delimiter::Parenthesis, _)) => {
            let message = format!("a {attribute} function cannot take parameters");
            return Err(Error::at(params_at, message));
        }
        Some(Tok::Punct('<')) => {
            let message = format!("a {attribute} function cannot be generic");
            return Err(Error::at(params_at, message));
        }
        _ => return Err(Error::at(fn_at, "expected `fn name()`")),
    }

    // Whatever sits between the parameters and the body (a return type, a
    // `where` clause) stays as it is. The body is always the last token.
    let body_at = item.len() - 1;
    match item[body_at] {
        Tok::Group(Delimiter::Brace, _) => Ok(FnParts { async_at, body_at }),
        _ => Err(Error::at(body_at, "expected a function body `{ ... }`")),
    }
}

/// The expression that runs the future called `body` to completion.
fn entry_point(kind: Kind, config: &Config) -> String {
    let expect = match kind {
        Kind::Main => r#".expect("kiwi::main: failed to start the runtime")"#,
        Kind::Test => r#".expect("kiwi::test: failed to start the runtime")"#,
    };
    // `workers = N` alone means a pool of N.
    let flavor = config.flavor.unwrap_or(match (kind, config.workers) {
        (Kind::Main, _) | (Kind::Test, Some(_)) => Flavor::MultiThread,
        (Kind::Test, None) => Flavor::CurrentThread,
    });
    match (flavor, config.workers) {
        (Flavor::CurrentThread, _) if config.start_paused => {
            "::kiwi::block_on(async move { ::kiwi::time::pause(); body.await })".to_string()
        }
        (Flavor::CurrentThread, _) => "::kiwi::block_on(body)".to_string(),
        (Flavor::MultiThread, None) => format!("::kiwi::Runtime::new(){expect}.block_on(body)"),
        (Flavor::MultiThread, Some(n)) => {
            format!("::kiwi::Builder::new().workers({n}).build(){expect}.block_on(body)")
        }
    }
}

// ---------------------------------------------------------------------------
// Step 3: rewriting the real tokens
// ---------------------------------------------------------------------------

/// Parses Rust source we wrote ourselves into tokens. The tokens get the
/// attribute's span, which is where errors in generated code are reported.
fn code(source: &str) -> TokenStream {
    source
        .parse()
        .expect("kiwi-macros generated invalid tokens")
}

/// Builds the new function: the old tokens, minus `async`, with a new body.
fn rewrite(kind: Kind, config: &Config, item: Vec<TokenTree>, parts: &FnParts) -> TokenStream {
    let mut out = TokenStream::new();
    if kind == Kind::Test {
        // The full path, in case the user's crate has its own `test` in scope.
        out.extend(code("#[::core::prelude::v1::test]"));
    }
    for (i, tree) in item.into_iter().enumerate() {
        if i == parts.async_at {
            continue;
        }
        if i == parts.body_at {
            out.extend([TokenTree::from(new_body(kind, config, tree))]);
        } else {
            out.extend([tree]);
        }
    }
    out
}

/// Wraps the user's body `{ BODY }` into
/// `{ let body = async move { BODY }; ENTRY_POINT }`.
///
/// The user's code can't see or shadow our `body` variable: it sits inside
/// the `async` block, which is written before `body` exists.
fn new_body(kind: Kind, config: &Config, body: TokenTree) -> Group {
    let span = body.span();
    // A wrong result type is noticed where `block_on(body)` returns it. By
    // default that code would point at the attribute. We give it the location
    // of the body's last token instead, which is usually the tail expression
    // that produced the wrong value.
    let result_span = match &body {
        TokenTree::Group(group) => group
            .stream()
            .into_iter()
            .last()
            .map_or(group.span_close(), |last| last.span()),
        other => other.span(),
    };
    let entry = code(&entry_point(kind, config))
        .into_iter()
        .map(|mut tree| {
            tree.set_span(result_span);
            tree
        });

    let mut stream = code("let body = async move");
    stream.extend([body]);
    stream.extend(code(";"));
    stream.extend(entry);
    let mut group = Group::new(Delimiter::Brace, stream);
    // The new braces take the old braces' location.
    group.set_span(span);
    group
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    //! The decisions are made on plain [`Tok`]s, so we can test them here
    //! without a compiler. `lex` turns source text into `Tok`s the way the
    //! compiler would (for the small subset of Rust the tests use).
    //! Rewriting the real tokens is covered by `tests/expand.rs`.

    // Not `use super::*`: that would import our own `test` attribute, and
    // `#[test]` below would become ambiguous.
    use super::{
        entry_point, find_fn_parts, parse_args, Config, Error, Flavor, FnParts, Kind, Tok,
    };
    use proc_macro::Delimiter;

    /// A tiny lexer for tests: identifiers, numbers, string literals,
    /// brackets and single punctuation characters.
    fn lex(source: &str) -> Vec<Tok> {
        let mut chars = source.chars().peekable();
        lex_until(&mut chars, None)
    }

    fn lex_until(
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
        close: Option<char>,
    ) -> Vec<Tok> {
        let mut toks = Vec::new();
        while let Some(c) = chars.next() {
            if Some(c) == close {
                return toks;
            }
            let word = |first: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                let mut word = first.to_string();
                // Numbers may contain a `.`: `2.5` is one literal.
                let number = first.is_ascii_digit();
                while let Some(&c) = chars
                    .peek()
                    .filter(|&&c| c.is_alphanumeric() || c == '_' || (number && c == '.'))
                {
                    word.push(c);
                    chars.next();
                }
                word
            };
            match c {
                c if c.is_whitespace() => {}
                c if c.is_alphabetic() || c == '_' => toks.push(Tok::Ident(word(c, chars))),
                c if c.is_ascii_digit() => toks.push(Tok::Literal(word(c, chars))),
                '"' => {
                    let mut text = String::from('"');
                    for c in chars.by_ref() {
                        text.push(c);
                        if c == '"' {
                            break;
                        }
                    }
                    toks.push(Tok::Literal(text));
                }
                '(' => toks.push(Tok::Group(
                    Delimiter::Parenthesis,
                    lex_until(chars, Some(')')),
                )),
                '[' => toks.push(Tok::Group(Delimiter::Bracket, lex_until(chars, Some(']')))),
                '{' => toks.push(Tok::Group(Delimiter::Brace, lex_until(chars, Some('}')))),
                c => toks.push(Tok::Punct(c)),
            }
        }
        toks
    }

    fn args(source: &str) -> Result<Config, Error> {
        parse_args(Kind::Main, &lex(source))
    }

    fn workers(n: usize) -> Result<Config, Error> {
        Ok(Config {
            workers: Some(n),
            flavor: None,
            start_paused: false,
        })
    }

    #[test]
    fn lexer_sanity() {
        let toks = lex(r#"#[doc = "x"] fn f() {}"#);
        assert_eq!(toks.len(), 6);
        assert_eq!(toks[0], Tok::Punct('#'));
        assert_eq!(
            toks[1],
            Tok::Group(
                Delimiter::Bracket,
                vec![
                    Tok::Ident("doc".into()),
                    Tok::Punct('='),
                    Tok::Literal("\"x\"".into())
                ]
            )
        );
        assert_eq!(toks[5], Tok::Group(Delimiter::Brace, vec![]));
    }

    #[test]
    fn no_arguments_means_default() {
        assert_eq!(args(""), Ok(Config::default()));
    }

    #[test]
    fn workers_argument() {
        assert_eq!(args("workers = 4"), workers(4));
        assert_eq!(args("workers = 1,"), workers(1));
        assert_eq!(args("workers=16"), workers(16));
    }

    #[test]
    fn unknown_argument_points_at_its_name() {
        let error = args("workers = 2, threads = 4").unwrap_err();
        assert_eq!(error.at, Some(4));
        assert_eq!(
            error.message,
            "unknown argument `threads` to #[kiwi::main]; the arguments are `workers = N`, \
             `flavor = \"current_thread\" | \"multi_thread\"` and (tests only) `start_paused = true`"
        );
        let error = parse_args(Kind::Test, &lex("threads = 4")).unwrap_err();
        assert!(error.message.contains("#[kiwi::test]"), "{}", error.message);
    }

    #[test]
    fn flavor_argument() {
        let config = args(r#"flavor = "current_thread""#).unwrap();
        assert_eq!(config.flavor, Some(Flavor::CurrentThread));
        let config = args(r#"workers = 3, flavor = "multi_thread""#).unwrap();
        assert_eq!(config.flavor, Some(Flavor::MultiThread));
        assert_eq!(config.workers, Some(3));
        let bad = args(r#"flavor = "single""#).unwrap_err();
        assert_eq!(bad.at, Some(2));
        assert!(bad.message.contains("current_thread"), "{}", bad.message);
        let twice = args(r#"flavor = "multi_thread", flavor = "multi_thread""#).unwrap_err();
        assert_eq!(twice.message, "`flavor` is given twice");
        let misplaced = args(r#"flavor = "current_thread", workers = 2"#).unwrap_err();
        assert_eq!(misplaced.at, Some(4), "points at `workers`");
        assert!(
            misplaced.message.contains("multi_thread"),
            "{}",
            misplaced.message
        );
    }

    #[test]
    fn start_paused_is_for_current_thread_tests() {
        let config = parse_args(Kind::Test, &lex("start_paused = true")).unwrap();
        assert!(config.start_paused);
        assert!(entry_point(Kind::Test, &config).contains("::kiwi::time::pause()"));
        let on_main = args("start_paused = true").unwrap_err();
        assert!(
            on_main
                .message
                .starts_with("unknown argument `start_paused`"),
            "{}",
            on_main.message
        );
        let multi = parse_args(
            Kind::Test,
            &lex(r#"flavor = "multi_thread", start_paused = true"#),
        )
        .unwrap_err();
        assert!(
            multi.message.contains("current-thread"),
            "{}",
            multi.message
        );
        assert_eq!(multi.at, Some(4), "points at `start_paused`");
        let bad = parse_args(Kind::Test, &lex("start_paused = yes")).unwrap_err();
        assert_eq!(bad.message, "`start_paused` must be `true` or `false`");
    }

    #[test]
    fn flavors_pick_the_entry_point() {
        let current = Config {
            workers: None,
            flavor: Some(Flavor::CurrentThread),
            start_paused: false,
        };
        assert_eq!(entry_point(Kind::Main, &current), "::kiwi::block_on(body)");
        let multi = Config {
            workers: None,
            flavor: Some(Flavor::MultiThread),
            start_paused: false,
        };
        assert!(entry_point(Kind::Test, &multi).starts_with("::kiwi::Runtime::new()"));
        assert_eq!(
            entry_point(Kind::Test, &Config::default()),
            "::kiwi::block_on(body)"
        );
        assert!(entry_point(Kind::Main, &Config::default()).starts_with("::kiwi::Runtime::new()"));
    }

    #[test]
    fn bad_worker_counts_point_at_the_value() {
        let not_a_number = "`workers` must be a whole number, as in `workers = 4`";
        for source in [
            r#"workers = "4""#,
            "workers = four",
            "workers = -1",
            "workers = 2.5",
        ] {
            assert_eq!(args(source), Err(Error::at(2, not_a_number)), "{source}");
        }
        assert_eq!(
            args("workers = 0"),
            Err(Error::at(2, "`workers` must be at least 1"))
        );
        // A missing value points one past the end; the span falls back to
        // the last token.
        assert_eq!(args("workers ="), Err(Error::at(2, not_a_number)));
    }

    #[test]
    fn malformed_arguments() {
        let error = args("workers 4").unwrap_err();
        assert_eq!(error.at, Some(1));
        assert!(
            error.message.starts_with("expected `=`"),
            "{}",
            error.message
        );

        assert_eq!(
            args("workers = 2 workers = 3").unwrap_err().at,
            Some(3),
            "missing comma"
        );
        assert_eq!(
            args("workers = 2, workers = 3"),
            Err(Error::at(4, "`workers` is given twice"))
        );
        assert_eq!(args("4").unwrap_err().at, Some(0));
    }

    fn parts(kind: Kind, source: &str) -> Result<FnParts, Error> {
        find_fn_parts(kind, &lex(source))
    }

    #[test]
    fn finds_async_and_body() {
        assert_eq!(
            parts(Kind::Main, "async fn main() {}"),
            Ok(FnParts {
                async_at: 0,
                body_at: 4
            })
        );
        // Attributes, visibility, another name and a return type.
        let source = r#"#[doc = "Runs."] #[allow(unused)] pub(crate) async fn run() -> io::Result<()> { Ok(()) }"#;
        assert_eq!(
            parts(Kind::Main, source),
            Ok(FnParts {
                async_at: 6,
                body_at: 19
            })
        );
        assert_eq!(
            parts(Kind::Test, "#[should_panic] async unsafe fn t() {}"),
            Ok(FnParts {
                async_at: 2,
                body_at: 7
            })
        );
    }

    #[test]
    fn non_async_fn_points_at_fn() {
        assert_eq!(
            parts(Kind::Main, "pub fn main() {}"),
            Err(Error::at(
                1,
                "the #[kiwi::main] attribute can only be used on an async fn"
            ))
        );
        assert_eq!(
            parts(Kind::Test, "fn t() {}"),
            Err(Error::at(
                0,
                "the #[kiwi::test] attribute can only be used on an async fn"
            ))
        );
    }

    #[test]
    fn not_a_fn_points_at_the_attribute() {
        let error = parts(Kind::Main, "struct Main { x: u8 }").unwrap_err();
        assert_eq!(error.at, None);
    }

    #[test]
    fn parameters_and_generics_are_rejected() {
        assert_eq!(
            parts(Kind::Main, "async fn main(name: String) {}"),
            Err(Error::at(
                3,
                "a #[kiwi::main] function cannot take parameters"
            ))
        );
        assert_eq!(
            parts(Kind::Main, "async fn main<T>() {}"),
            Err(Error::at(3, "a #[kiwi::main] function cannot be generic"))
        );
    }

    #[test]
    fn missing_body() {
        assert_eq!(
            parts(Kind::Main, "async fn main();").unwrap_err().at,
            Some(4)
        );
    }

    #[test]
    fn test_attribute_twice() {
        assert_eq!(
            parts(Kind::Test, "#[test] async fn t() {}"),
            Err(Error::at(
                0,
                "#[kiwi::test] already adds #[test]; remove this one"
            ))
        );
        // For #[kiwi::main], #[test] is just another attribute.
        assert!(parts(Kind::Main, "#[test] async fn t() {}").is_ok());
    }

    #[test]
    fn entry_points() {
        let default = Config::default();
        let two = Config {
            workers: Some(2),
            flavor: None,
            start_paused: false,
        };
        assert_eq!(
            entry_point(Kind::Main, &default),
            r#"::kiwi::Runtime::new().expect("kiwi::main: failed to start the runtime").block_on(body)"#
        );
        assert_eq!(
            entry_point(Kind::Main, &two),
            r#"::kiwi::Builder::new().workers(2).build().expect("kiwi::main: failed to start the runtime").block_on(body)"#
        );
        assert_eq!(entry_point(Kind::Test, &default), "::kiwi::block_on(body)");
        assert_eq!(
            entry_point(Kind::Test, &two),
            r#"::kiwi::Builder::new().workers(2).build().expect("kiwi::test: failed to start the runtime").block_on(body)"#
        );
    }
}
