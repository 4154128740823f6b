//! Step 2 of the macros: every decision, made on plain tokens. Is the item an
//! `async fn` we can handle, where are its `async` and body, which arguments
//! did the attribute get, and what does a mistake's error say and point at.

use proc_macro::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};

use crate::rewrite::code;
use crate::tokens::Tok;
use crate::Kind;

/// A compile error, and which top-level token it should point at.
#[derive(Debug, PartialEq)]
pub(crate) struct Error {
    /// Index of the offending token. `None` means "the attribute itself".
    pub(crate) at: Option<usize>,
    pub(crate) message: String,
}

impl Error {
    pub(crate) fn at(index: usize, message: impl Into<String>) -> Error {
        Error {
            at: Some(index),
            message: message.into(),
        }
    }

    /// Turns the error into `::core::compile_error! { "message" }`, with every
    /// token carrying the span of the offending token in `trees`. The span is
    /// what the compiler underlines when it reports the error.
    pub(crate) fn into_tokens(self, trees: &[TokenTree]) -> TokenStream {
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
pub(crate) struct Config {
    /// `workers = N`; `None` means "the flavor's default".
    pub(crate) workers: Option<usize>,
    /// `flavor = "..."`; `None` means "the attribute's default" (a pool of
    /// workers for `main`, the current thread for `test`, as in tokio).
    pub(crate) flavor: Option<Flavor>,
    /// `start_paused = true` (`test` only): the body runs with time paused.
    pub(crate) start_paused: bool,
}

/// Which runtime to start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Flavor {
    /// `kiwi::block_on`: one worker, the calling thread.
    CurrentThread,
    /// A `Runtime` with worker threads.
    MultiThread,
}

/// The arguments each attribute accepts, for error messages.
pub(crate) const ARGUMENTS: &str =
    "`workers = N`, `flavor = \"current_thread\" | \"multi_thread\"` \
                         and (tests only) `start_paused = true`";

/// Parses the attribute's arguments: `name = value` pairs separated by
/// commas, each name at most once. Adding an argument means adding one
/// `match` arm.
pub(crate) fn parse_args(kind: Kind, args: &[Tok]) -> Result<Config, Error> {
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
pub(crate) struct FnParts {
    /// Index of the `async` keyword, which we drop.
    pub(crate) async_at: usize,
    /// Index of the `{ ... }` body, which we wrap.
    pub(crate) body_at: usize,
}

/// Checks that `item` is an `async fn` without parameters or generics, and
/// finds its `async` keyword and body.
pub(crate) fn find_fn_parts(kind: Kind, item: &[Tok]) -> Result<FnParts, Error> {
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
pub(crate) fn entry_point(kind: Kind, config: &Config) -> String {
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
