//! B3: HTTP/1.1 plaintext with wrk — 256 keep-alive connections,
//! `wrk -t1 -c256 -d3s` on CPU 1 against the server on CPU 0, pipelining
//! depth 1 and 16 (a Lua script that sends 16 requests at once). Every runtime
//! runs the same server shape ([`super::http`]). Figures: requests per second,
//! server CPU-µs per request and syscalls per request over wrk's run.

use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::b1::figure;
use super::proc::{perf_available, PerfStat, Server};
use crate::harness::{Better, Figure, Table};
use crate::procfs::cpu_time;

const CONTENDERS: &[&str] = &["kiwi", "tokio", "smol"];
/// wrk's connections.
pub const CONNS: usize = 256;
/// wrk's duration in seconds.
pub const SECS: u32 = 3;

const PIPELINE_LUA: &str = r#"
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
"#;

/// Whether `wrk` runs here.
pub fn wrk_available() -> bool {
    Command::new("wrk")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The pipelining script, written once to a temp file.
fn pipeline_script() -> io::Result<PathBuf> {
    let p = std::env::temp_dir().join(format!("kiwi-bench-pipeline-{}.lua", std::process::id()));
    std::fs::write(&p, PIPELINE_LUA)?;
    Ok(p)
}

/// What one wrk run measured.
pub struct WrkRun {
    /// Requests completed.
    pub requests: u64,
    /// Requests per second as wrk reports it.
    pub rate: f64,
    /// Server CPU time over the run, in µs.
    pub cpu_us: f64,
    /// Server syscalls over the run, if perf works.
    pub syscalls: Option<u64>,
}

/// Runs wrk against `server` (pinned to `cpu` if given), pipelined 16 deep if
/// `pipeline`, measuring the server's CPU time and syscalls over the run.
pub fn wrk(server: &Server, cpu: Option<usize>, pipeline: bool, perf: bool) -> io::Result<WrkRun> {
    wrk_conns(server, cpu, CONNS, pipeline, perf)
}

/// [`wrk`] with `conns` connections instead of [`CONNS`].
pub fn wrk_conns(
    server: &Server,
    cpu: Option<usize>,
    conns: usize,
    pipeline: bool,
    perf: bool,
) -> io::Result<WrkRun> {
    let pid = server.pid();
    let mut cmd = match cpu {
        Some(c) => crate::harness::pinned_command(c, "wrk"),
        None => Command::new("wrk"),
    };
    cmd.args(["-t1", &format!("-c{conns}"), &format!("-d{SECS}s")]);
    if pipeline {
        cmd.arg("-s").arg(pipeline_script()?);
    }
    cmd.arg(format!("http://127.0.0.1:{}/", server.port));
    let mut stat = if perf {
        Some(PerfStat::attach(&pid)?)
    } else {
        None
    };
    let cpu0 = cpu_time(&pid)?;
    if let Some(s) = &mut stat {
        s.enable()?;
    }
    let out = cmd.stderr(Stdio::inherit()).output()?;
    if let Some(s) = &mut stat {
        s.disable()?;
    }
    let cpu1 = cpu_time(&pid)?;
    let syscalls = stat.map(PerfStat::finish).transpose()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|n| n.trim().parse().ok());
    let (Some(requests), Some(rate)) = (requests, rate) else {
        return Err(io::Error::other(format!("unexpected wrk output:\n{text}")));
    };
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        eprintln!("\n  wrk reported errors:\n{text}");
    }
    Ok(WrkRun {
        requests,
        rate,
        cpu_us: cpu1.total().saturating_sub(cpu0.total()).as_secs_f64() * 1e6,
        syscalls,
    })
}

/// The figures of one wrk run, prefixed by `label`.
pub fn wrk_figures(label: &str, r: &WrkRun) -> Vec<Figure> {
    let n = r.requests.max(1) as f64;
    let mut f = vec![
        figure(
            format!("{label}: requests"),
            "req/s",
            Better::Higher,
            r.rate,
        ),
        figure(
            format!("{label}: server CPU"),
            "µs/req",
            Better::Lower,
            r.cpu_us / n,
        ),
    ];
    if let Some(s) = r.syscalls {
        f.push(figure(
            format!("{label}: syscalls"),
            "/req",
            Better::Lower,
            s as f64 / n,
        ));
    }
    f
}

/// Runs B3 for `rounds` alternating rounds and returns the rendered table.
pub fn run(rounds: usize) -> io::Result<String> {
    if !wrk_available() {
        return Ok("\n### B3 HTTP plaintext\n\nskipped: `wrk` is not installed.\n".into());
    }
    let perf = perf_available();
    let mut table = Table::new(
        &format!("B3 HTTP plaintext, wrk -t1 -c{CONNS} -d{SECS}s (server CPU 0, wrk CPU 1)"),
        CONTENDERS,
    );
    table.run_rounds(rounds, |c| {
        let server = Server::start(CONTENDERS[c], "http", 0, Some(0))?;
        let mut figures = Vec::new();
        for (label, pipeline) in [("depth 1", false), ("pipelined 16", true)] {
            let r = wrk(&server, Some(1), pipeline, perf)?;
            figures.extend(wrk_figures(label, &r));
        }
        Ok(figures)
    })?;
    Ok(table.render())
}
