//! RESP2, the Redis wire protocol: an incremental parser and the reply
//! encoders.
//!
//! A request is either an array of bulk strings
//! (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, what client libraries send) or an
//! *inline* command (`GET k\r\n`, what you type into `nc` or `telnet`).
//!
//! The parser never copies: a parsed command is a list of byte ranges into the
//! buffer it was given. It is incremental in the simplest way: it either finds
//! a whole command at the front of the buffer, or says "incomplete" and the
//! caller reads more and asks again from the same place. (Shortcut: a huge
//! command that trickles in is re-scanned from its start on every read. Real
//! servers remember how far they got; for commands of a few hundred bytes it
//! does not matter.)

use std::io::Write;
use std::ops::Range;

/// Largest bulk string we accept (Redis allows 512 MiB; an example server
/// need not).
pub const MAX_BULK: usize = 16 * 1024 * 1024;
/// Most arguments in one command.
pub const MAX_ARGS: usize = 1024 * 1024;
/// Longest inline command, and longest `*N` / `$N` header line.
pub const MAX_INLINE: usize = 64 * 1024;

/// The outcome of looking at the front of the buffer.
#[derive(Debug, PartialEq)]
pub enum Parse {
    /// A whole command of `len` bytes; its arguments are now in `args`
    /// (possibly none: an empty line or `*0` is a no-op, as in Redis).
    Command { len: usize },
    /// The command is not all here yet.
    Incomplete,
    /// Garbage: reply with this error and close (there is no way to find the
    /// start of the next command).
    Error(&'static str),
}

/// Parses one command from the front of `buf`, filling `args` with the byte
/// ranges of its arguments.
pub fn parse(buf: &[u8], args: &mut Vec<Range<usize>>) -> Parse {
    args.clear();
    match buf.first() {
        None => Parse::Incomplete,
        Some(b'*') => parse_array(buf, args),
        Some(_) => parse_inline(buf, args),
    }
}

fn parse_array(buf: &[u8], args: &mut Vec<Range<usize>>) -> Parse {
    let (count, mut pos) = match header(buf, 0) {
        Header::Int(n, next) => (n, next),
        Header::Incomplete => return Parse::Incomplete,
        Header::Bad => return Parse::Error("Protocol error: invalid multibulk length"),
    };
    if count <= 0 {
        return Parse::Command { len: pos }; // `*0` and `*-1`: nothing to do.
    }
    if count as usize > MAX_ARGS {
        return Parse::Error("Protocol error: invalid multibulk length");
    }
    for _ in 0..count {
        match buf.get(pos) {
            None => return Parse::Incomplete,
            Some(b'$') => {}
            Some(_) => return Parse::Error("Protocol error: expected '$'"),
        }
        let (len, start) = match header(buf, pos) {
            Header::Int(n, next) if (0..=MAX_BULK as i64).contains(&n) => (n as usize, next),
            Header::Int(..) | Header::Bad => {
                return Parse::Error("Protocol error: invalid bulk length")
            }
            Header::Incomplete => return Parse::Incomplete,
        };
        let end = start + len;
        if buf.len() < end + 2 {
            return Parse::Incomplete;
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Parse::Error("Protocol error: bulk string not followed by CRLF");
        }
        args.push(start..end);
        pos = end + 2;
    }
    Parse::Command { len: pos }
}

/// An inline command: one line, arguments separated by spaces. (Shortcut:
/// Redis also understands quotes here; we do not.)
fn parse_inline(buf: &[u8], args: &mut Vec<Range<usize>>) -> Parse {
    let Some(nl) = buf.iter().take(MAX_INLINE + 1).position(|&b| b == b'\n') else {
        return if buf.len() > MAX_INLINE {
            Parse::Error("Protocol error: too big inline request")
        } else {
            Parse::Incomplete
        };
    };
    let line_end = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let mut i = 0;
    while i < line_end {
        if buf[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < line_end && !buf[i].is_ascii_whitespace() {
            i += 1;
        }
        args.push(start..i);
    }
    Parse::Command { len: nl + 1 }
}

enum Header {
    /// The number, and the position just past its CRLF.
    Int(i64, usize),
    Incomplete,
    Bad,
}

/// Reads a `*N\r\n` or `$N\r\n` line starting at `pos` (which holds the type
/// byte).
fn header(buf: &[u8], pos: usize) -> Header {
    let rest = &buf[pos + 1..];
    let Some(cr) = rest.iter().take(32).position(|&b| b == b'\r') else {
        return if rest.len() >= 32 {
            Header::Bad
        } else {
            Header::Incomplete
        };
    };
    match rest.get(cr + 1) {
        None => return Header::Incomplete,
        Some(b'\n') => {}
        Some(_) => return Header::Bad,
    }
    match parse_int(&rest[..cr]) {
        Some(n) => Header::Int(n, pos + 1 + cr + 2),
        None => Header::Bad,
    }
}

/// Parses a decimal `i64` the way Redis does: optional `-`, digits only.
pub fn parse_int(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s)
        .ok()?
        .parse()
        .ok()
        .filter(|_| !s.starts_with(b"+"))
}

// ----- replies -----------------------------------------------------------
//
// Writing into a `Vec<u8>` cannot fail, so the `write!` results are ignored.

/// `+OK`-style simple string.
pub fn simple(out: &mut Vec<u8>, s: &str) {
    let _ = write!(out, "+{s}\r\n");
}

/// `-ERR ...` error.
pub fn error(out: &mut Vec<u8>, msg: &str) {
    let _ = write!(out, "-{msg}\r\n");
}

/// `:n` integer.
pub fn int(out: &mut Vec<u8>, n: i64) {
    let _ = write!(out, ":{n}\r\n");
}

/// `$len` bulk string, or the null bulk `$-1` for `None`.
pub fn bulk(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => {
            let _ = write!(out, "${}\r\n", v.len());
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"$-1\r\n"),
    }
}

/// `*n` array header; the caller then writes `n` elements.
pub fn array(out: &mut Vec<u8>, n: usize) {
    let _ = write!(out, "*{n}\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_then_partial() {
        let buf = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPI";
        let mut args = Vec::new();
        assert_eq!(parse(buf, &mut args), Parse::Command { len: 20 });
        assert_eq!(&buf[args[0].clone()], b"GET");
        assert_eq!(parse(&buf[20..], &mut args), Parse::Incomplete);
    }

    #[test]
    fn inline_and_errors() {
        let mut args = Vec::new();
        assert_eq!(parse(b"PING  x\r\n", &mut args), Parse::Command { len: 9 });
        assert_eq!(args.len(), 2);
        assert!(matches!(parse(b"*x\r\n", &mut args), Parse::Error(_)));
        assert!(matches!(parse(b"*1\r\n:1\r\n", &mut args), Parse::Error(_)));
        assert!(matches!(
            parse(b"*1\r\n$1\r\nab\r\n", &mut args),
            Parse::Error(_)
        ));
    }
}
