//! The one HTTP/1.1 connection shape every runtime's B3 server runs: read
//! into a fixed 8 KiB buffer, answer every complete request head in it
//! (pipelining) with `Hello, World!` in one batch, `write_all` the batch, keep
//! the connection alive. Request heads end at the first empty line; bodies
//! are not supported (wrk sends none).

/// The response to every request.
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: kiwi-bench\r\n\
Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

const READ_BUF: usize = 8 * 1024;

/// B10's large response: the same head with a 1 MiB body.
fn big_response() -> &'static [u8] {
    static BIG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BIG.get_or_init(|| {
        let body = vec![b'k'; 1 << 20];
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nServer: kiwi-bench\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(&body);
        r
    })
}

/// Per-connection state: the read buffer and the batch of responses.
#[derive(Debug)]
pub struct Conn {
    buf: Vec<u8>,
    len: usize,
    out: Vec<u8>,
    response: &'static [u8],
}

impl Default for Conn {
    fn default() -> Conn {
        Conn::new()
    }
}

impl Conn {
    /// An empty connection.
    pub fn new() -> Conn {
        Conn::answering(false)
    }

    /// An empty connection answering [`RESPONSE`], or with `big` the 1 MiB one.
    pub fn answering(big: bool) -> Conn {
        Conn {
            buf: vec![0; READ_BUF],
            len: 0,
            out: Vec::new(),
            response: if big { big_response() } else { RESPONSE },
        }
    }

    /// Where the next read goes.
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.len..]
    }

    /// `n` bytes were read into [`Conn::spare`]: returns the responses to
    /// send (possibly none yet), or `None` to close (EOF, or a head longer
    /// than the buffer).
    pub fn filled(&mut self, n: usize) -> Option<&[u8]> {
        if n == 0 {
            return None;
        }
        self.len += n;
        let mut start = 0;
        while let Some(end) = find_head_end(&self.buf[start..self.len]) {
            self.out.extend_from_slice(self.response);
            start += end;
        }
        self.buf.copy_within(start..self.len, 0);
        self.len -= start;
        if self.len == self.buf.len() {
            return None;
        }
        Some(&self.out)
    }

    /// The batch returned by [`Conn::filled`] was written.
    pub fn sent(&mut self) {
        self.out.clear();
    }
}

/// Length of the first request head in `b` (through its `\r\n\r\n`).
fn find_head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_pipelined_and_split_requests() {
        let mut c = Conn::new();
        let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut input = req.repeat(3);
        input.extend_from_slice(&req[..10]);
        c.spare()[..input.len()].copy_from_slice(&input);
        assert_eq!(c.filled(input.len()).unwrap().len(), 3 * RESPONSE.len());
        c.sent();
        let rest = &req[10..];
        c.spare()[..rest.len()].copy_from_slice(rest);
        assert_eq!(c.filled(rest.len()).unwrap(), RESPONSE);
        assert!(c.filled(0).is_none());
    }
}
