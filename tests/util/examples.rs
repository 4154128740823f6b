//! The harness for driving example programs as a user would: start one,
//! read its `listening on ADDR` line, run real clients against it under time
//! bounds, and stop it with a signal. Shared by `examples.rs` and `https.rs`.

use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where `cargo test` put the example `name`.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with plain `cargo test` (which builds the examples), \
         or `cargo build --examples` first",
        path.display()
    );
    path
}

/// A command whose process dies with the thread that spawned it (so a test
/// process that exits on a deadline leaves no server behind).
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls prctl, which is async-signal-safe; it touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        println!("note: `{tool}` is not installed; skipping its part of this test");
    }
    found
}

/// A running example server; killed on drop unless it already exited.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Its stdout lines after the first.
    pub lines: Receiver<String>,
}

impl Server {
    pub fn start(name: &str, args: &[&str]) -> Server {
        let mut child = command(example(name))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(IO_TIMEOUT);
        let first = match first {
            Ok(l) => l,
            Err(e) => {
                let _ = child.kill();
                panic!("{name} printed no first line: {e}");
            }
        };
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{name}: unexpected first line {first:?}"));
        Server { child, addr, lines }
    }

    pub fn connect(&self) -> TcpStream {
        connect(self.addr)
    }

    /// Sends SIGINT and asserts a clean exit (status 0) within `bound`.
    pub fn interrupt(self, bound: Duration) -> Vec<String> {
        self.stop(libc::SIGINT, bound)
    }

    /// Sends `signal` and asserts a clean exit (status 0) within `bound`.
    pub fn stop(mut self, signal: libc::c_int, bound: Duration) -> Vec<String> {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let status = wait_bounded(&mut self.child, bound);
        assert!(status.success(), "server exited with {status}");
        self.lines.try_iter().collect()
    }

    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn wait_bounded(child: &mut Child, bound: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {bound:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a tool to completion, killing it after `bound`.
pub fn run_bounded(cmd: &mut Command, bound: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let status = wait_bounded(&mut child, bound);
    let mut stderr = Vec::new();
    let _ = child.stderr.take().unwrap().read_to_end(&mut stderr);
    Output {
        status,
        stdout: reader.join().unwrap(),
        stderr,
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// `wrk -t1 -c16 -d2s` on `url`: it must finish and see no error.
pub fn wrk_without_errors(url: &str) {
    let out = run_bounded(
        command("wrk").args(["-t1", "-c16", "-d2s", url]),
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    println!("{text}");
    assert!(text.contains("Requests/sec"), "{text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "{text}"
    );
}

pub fn read_line(r: &mut impl BufRead) -> String {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    line
}

/// `curl -sS -i` on `url` with `extra` arguments: (status line, body).
pub fn curl(extra: &[&str], url: &str) -> (String, String) {
    let out = run_bounded(
        command("curl").args(["-sS", "-i"]).args(extra).arg(url),
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}
