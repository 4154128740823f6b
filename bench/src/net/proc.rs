//! Server processes and `perf stat` counting of their syscalls.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::harness::{pinned_command, self_exe};

/// A server process, killed and reaped on drop.
pub struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    kind: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts server `kind` (`kiwi`, `tokio`, `smol` or `c-epoll`) running
    /// `app` on `workers` workers (0: single-threaded), pinned to `cpu` if
    /// given, and waits until it listens.
    pub fn start(kind: &str, app: &str, workers: usize, cpu: Option<usize>) -> io::Result<Server> {
        let port = free_port()?;
        let mut cmd = match (kind, cpu) {
            ("c-epoll", Some(cpu)) => pinned_command(cpu, env!("KIWI_BENCH_ECHO_EPOLL")),
            ("c-epoll", None) => Command::new(env!("KIWI_BENCH_ECHO_EPOLL")),
            (_, Some(cpu)) => pinned_command(cpu, &self_exe()),
            (_, None) => Command::new(self_exe()),
        };
        if kind != "c-epoll" {
            cmd.args(["server", kind, app, &workers.to_string()]);
        }
        let mut child = cmd
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut s = Server {
            child,
            stdin,
            stdout,
            port,
            kind: kind.to_string(),
        };
        let mut line = String::new();
        s.stdout.read_line(&mut line)?;
        if line.trim() != "listening" {
            return Err(io::Error::other(format!("server {kind} did not start")));
        }
        Ok(s)
    }

    /// The server's process id, as `/proc` and `perf -p` want it.
    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Whether [`Server::counters`] is answered (every server but the C one).
    pub fn has_counters(&self) -> bool {
        self.kind != "c-epoll"
    }

    /// The server's counters line (see [`super::servers`]): each worker's
    /// busy µs, then, for kiwi, each of `KIWI_COUNTERS` per worker; empty
    /// for smol.
    pub fn counters(&mut self) -> io::Result<Vec<u64>> {
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let mut it = line.split_whitespace();
        if it.next() != Some("counters") {
            return Err(io::Error::other(format!("bad counters line {line:?}")));
        }
        Ok(it.filter_map(|x| x.parse().ok()).collect())
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Whether `perf stat -e raw_syscalls:sys_enter` works here.
pub fn perf_available() -> bool {
    Command::new("perf")
        .args(["stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `perf stat -e raw_syscalls:sys_enter -p PID`, started with its counter
/// disabled and switched on and off through a control FIFO, so that it counts
/// exactly the measured window (all threads of the process).
pub struct PerfStat {
    child: Child,
    ctl: File,
    ack: BufReader<File>,
    dir: PathBuf,
}

impl PerfStat {
    /// Attaches to `pid`, counting nothing until [`PerfStat::enable`].
    pub fn attach(pid: &str) -> io::Result<PerfStat> {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("kiwi-bench-perf-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        for f in ["ctl", "ack"] {
            let p = std::ffi::CString::new(dir.join(f).to_string_lossy().as_bytes())
                .map_err(io::Error::other)?;
            let _ = std::fs::remove_file(dir.join(f));
            // SAFETY: `p` is a valid NUL-terminated path.
            if unsafe { libc::mkfifo(p.as_ptr(), 0o600) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let control = format!(
            "--control=fifo:{},{}",
            dir.join("ctl").display(),
            dir.join("ack").display()
        );
        let child = Command::new("perf")
            .args(["stat", "-x,", "-e", "raw_syscalls:sys_enter", "--delay=-1"])
            .arg(control)
            .arg("-o")
            .arg(dir.join("out"))
            .args(["-p", pid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // Opening a FIFO blocks until perf opens the other end.
        let ctl = File::options().write(true).open(dir.join("ctl"))?;
        let ack = BufReader::new(File::open(dir.join("ack"))?);
        Ok(PerfStat {
            child,
            ctl,
            ack,
            dir,
        })
    }

    fn command(&mut self, cmd: &str) -> io::Result<()> {
        writeln!(self.ctl, "{cmd}")?;
        let mut line = String::new();
        self.ack.read_line(&mut line)?;
        Ok(())
    }

    /// Starts counting.
    pub fn enable(&mut self) -> io::Result<()> {
        self.command("enable")
    }

    /// Stops counting.
    pub fn disable(&mut self) -> io::Result<()> {
        self.command("disable")
    }

    /// Ends perf and returns the syscalls counted while enabled.
    pub fn finish(mut self) -> io::Result<u64> {
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.child.wait()?;
        let out = std::fs::read_to_string(self.dir.join("out"))?;
        let _ = std::fs::remove_dir_all(&self.dir);
        out.lines()
            .find(|l| l.contains("raw_syscalls:sys_enter"))
            .and_then(|l| l.split(',').next())
            // `<not counted>` when no syscall happened at all.
            .map(|v| v.trim().parse().unwrap_or(0))
            .ok_or_else(|| io::Error::other(format!("unexpected perf output: {out}")))
    }
}
