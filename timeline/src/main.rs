//! `kiwi-timeline TRACE.json [-o OUT.svg] [--from MARK] [--to MARK] [--title T]`
//!
//! Draws a kiwi trace file (`KIWI_TRACE=json:PATH`) as SVG, on stdout or into
//! `OUT.svg`. `--from` and `--to` crop the picture: each is the label of a
//! `kiwi::runtime::trace::mark` call (the tour marks its steps), or a time in
//! µs as the file (and Perfetto) shows it.

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: kiwi-timeline TRACE.json [-o OUT.svg] [--from MARK] [--to MARK] [--title T]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut input, mut out, mut from, mut to, mut title) = (None, None, None, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-o" => out = args.next(),
            "--from" => from = args.next(),
            "--to" => to = args.next(),
            "--title" => title = args.next(),
            "-h" | "--help" => return usage(),
            _ if input.is_none() => input = Some(a),
            _ => return usage(),
        }
    }
    let Some(input) = input else { return usage() };
    let json = match std::fs::read_to_string(&input) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("kiwi-timeline: cannot read {input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let timeline = match kiwi_timeline::Timeline::parse(&json) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("kiwi-timeline: {input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let span = timeline.span().unwrap_or((0.0, 1.0));
    let find = |m: &Option<String>, default: f64| match m {
        None => Ok(default),
        Some(label) => label
            .parse::<f64>()
            .ok()
            .or_else(|| timeline.mark(label))
            .ok_or_else(|| {
                format!("kiwi-timeline: {label:?} is neither a time in µs nor a mark in {input}")
            }),
    };
    let window = match (find(&from, span.0), find(&to, span.1)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let cropped = timeline.crop(window.0, window.1);
    let title = title.unwrap_or_else(|| format!("kiwi timeline: {input}"));
    let svg = kiwi_timeline::render(&cropped, &title, Some(window));
    let written = match &out {
        Some(path) => std::fs::write(path, svg),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(svg.as_bytes())
        }
    };
    if let Err(e) = written {
        eprintln!("kiwi-timeline: cannot write: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
