//! Step 3 of the macros: the real tokens, rewritten. The `async` keyword goes,
//! and the body becomes a future handed to a runtime.

use proc_macro::{Delimiter, Group, TokenStream, TokenTree};

use crate::decide::{entry_point, Config, FnParts};
use crate::Kind;

/// Parses Rust source we wrote ourselves into tokens. The tokens get the
/// attribute's span, which is where errors in generated code are reported.
pub(crate) fn code(source: &str) -> TokenStream {
    source
        .parse()
        .expect("kiwi-macros generated invalid tokens")
}

/// Builds the new function: the old tokens, minus `async`, with a new body.
pub(crate) fn rewrite(
    kind: Kind,
    config: &Config,
    item: Vec<TokenTree>,
    parts: &FnParts,
) -> TokenStream {
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
pub(crate) fn new_body(kind: Kind, config: &Config, body: TokenTree) -> Group {
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
