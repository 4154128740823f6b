//! The decisions are made on plain [`Tok`]s, so we can test them here
//! without a compiler. `lex` turns source text into `Tok`s the way the
//! compiler would (for the small subset of Rust the tests use).
//! Rewriting the real tokens is covered by `tests/expand.rs`.

// Named one by one: a glob of the crate would import our own `test`
// attribute, and `#[test]` below would become ambiguous.
use crate::decide::{entry_point, find_fn_parts, parse_args, Config, Error, Flavor, FnParts};
use crate::tokens::Tok;
use crate::Kind;
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
