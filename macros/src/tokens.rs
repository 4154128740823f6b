//! Step 1 of the macros: the top-level tokens, copied into plain data that
//! can be inspected (and tested) without a compiler.

use proc_macro::{Delimiter, TokenTree};

/// A token tree, stripped down to plain data we can inspect and test.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
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
pub(crate) fn plain(trees: &[TokenTree]) -> Vec<Tok> {
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
