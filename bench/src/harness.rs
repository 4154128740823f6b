//! The measurement protocol shared by every benchmark.
//!
//! - Each contender (a runtime, or the C floor) is measured in its own child
//!   process, a re-exec of this binary pinned with `taskset -c 0`, so allocator
//!   state, thread pools and caches don't leak from one contender to the next.
//!   (Groups whose runtimes have two workers, `mt`, are pinned to CPUs 0 and 1
//!   instead: see [`run_child_two_cpus`].)
//! - Contenders alternate: round 1 runs A B C, round 2 A B C, ... so slow drift
//!   of a shared machine hits all of them alike.
//! - A child prints one line per figure: `@metric <name>\t<unit>\t<lower|higher>\t<value>`;
//!   everything else it prints goes to our stderr untouched.
//! - The table shows, per figure: each contender's median over the rounds; the
//!   ratio first/other as the median of the round-by-round ratios, with their
//!   range; and the noise band, the largest spread (max-min)/median of any
//!   contender over its rounds (a ratio inside 1 ± noise is no difference).

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::process::{Command, Stdio};

/// Whether a smaller or a larger figure is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Times, bytes, syscalls.
    Lower,
    /// Throughputs.
    Higher,
}

impl Better {
    fn as_str(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// Prints one figure from a child, in the format [`parse_line`] reads.
pub fn report(name: &str, unit: &str, better: Better, value: f64) {
    println!("@metric {name}\t{unit}\t{}\t{value}", better.as_str());
    let _ = io::stdout().flush();
}

/// One figure a child printed.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// What was measured, e.g. `spawn+join`.
    pub name: String,
    /// Its unit, e.g. `ns/op`.
    pub unit: String,
    /// Which direction is better.
    pub better: Better,
    /// The value.
    pub value: f64,
}

/// Parses a line printed by [`report`].
pub fn parse_line(line: &str) -> Option<Figure> {
    let mut parts = line.strip_prefix("@metric ")?.split('\t');
    let name = parts.next()?.to_string();
    let unit = parts.next()?.to_string();
    let better = match parts.next()? {
        "lower" => Better::Lower,
        "higher" => Better::Higher,
        _ => return None,
    };
    let value = parts.next()?.trim().parse().ok()?;
    Some(Figure {
        name,
        unit,
        better,
        value,
    })
}

/// `taskset -c <cpus>` (one CPU, `0`, or a list, `0,1`) when the machine has
/// more than one CPU and taskset exists.
pub fn pinned_command(cpus: impl std::fmt::Display, program: &str) -> Command {
    if crate::procfs::online_cpus() > 1 && has_taskset() {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpus.to_string()).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Path of this executable, for re-exec.
pub fn self_exe() -> String {
    std::env::current_exe()
        .expect("current_exe")
        .to_string_lossy()
        .into_owned()
}

/// Runs `self child <args..>` pinned to CPU 0 and returns the figures it printed.
pub fn run_child(args: &[&str]) -> io::Result<Vec<Figure>> {
    child_figures(pinned_command(0, &self_exe()), args)
}

/// [`run_child`] pinned to CPUs 0 and 1 (`taskset -c 0,1`; the whole machine
/// on a 2-CPU one), for runtimes with two worker threads.
pub fn run_child_two_cpus(args: &[&str]) -> io::Result<Vec<Figure>> {
    child_figures(pinned_command("0,1", &self_exe()), args)
}

fn child_figures(mut cmd: Command, args: &[&str]) -> io::Result<Vec<Figure>> {
    let out = cmd
        .arg("child")
        .args(args)
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "child {args:?} failed: {}\n{stdout}",
            out.status
        )));
    }
    Ok(stdout.lines().filter_map(parse_line).collect())
}

/// One figure over all rounds, per contender.
#[derive(Debug)]
struct Row {
    name: String,
    unit: String,
    better: Better,
    /// `values[contender][round]`.
    values: Vec<Vec<f64>>,
}

/// The figures of one benchmark group, contender by contender, round by round.
#[derive(Debug)]
pub struct Table {
    title: String,
    contenders: Vec<String>,
    rows: Vec<Row>,
}

impl Table {
    /// An empty table; the first contender is the one the ratios are about.
    pub fn new(title: &str, contenders: &[&str]) -> Table {
        Table {
            title: title.to_string(),
            contenders: contenders.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Records the figures of contender `c` for one round.
    pub fn record(&mut self, c: usize, figures: &[Figure]) {
        for f in figures {
            let i = match self.rows.iter().position(|r| r.name == f.name) {
                Some(i) => i,
                None => {
                    self.rows.push(Row {
                        name: f.name.clone(),
                        unit: f.unit.clone(),
                        better: f.better,
                        values: vec![Vec::new(); self.contenders.len()],
                    });
                    self.rows.len() - 1
                }
            };
            self.rows[i].values[c].push(f.value);
        }
    }

    /// Runs `rounds` alternating rounds: for each round, each contender once,
    /// in order, through `measure(contender_index)`.
    pub fn run_rounds(
        &mut self,
        rounds: usize,
        mut measure: impl FnMut(usize) -> io::Result<Vec<Figure>>,
    ) -> io::Result<()> {
        for round in 0..rounds {
            for c in 0..self.contenders.len() {
                eprint!(
                    "\r  {}: round {}/{rounds}, {}        ",
                    self.title,
                    round + 1,
                    self.contenders[c]
                );
                let figures = measure(c)?;
                self.record(c, &figures);
            }
        }
        eprintln!();
        Ok(())
    }

    /// The table as GitHub markdown (also readable as plain text).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "\n### {}\n", self.title);
        let first = &self.contenders[0];
        let _ = write!(s, "| figure | unit |");
        for c in &self.contenders {
            let _ = write!(s, " {c} |");
        }
        for c in &self.contenders[1..] {
            let _ = write!(s, " {first}/{c} (range) |");
        }
        let _ = writeln!(s, " noise |");
        let cols = 3 + 2 * self.contenders.len() - 1;
        let _ = writeln!(s, "|{}", "---|".repeat(cols));
        for r in &self.rows {
            let arrow = match r.better {
                Better::Lower => "↓",
                Better::Higher => "↑",
            };
            let _ = write!(s, "| {} | {} {arrow} |", r.name, r.unit);
            for v in &r.values {
                let _ = write!(
                    s,
                    " {} |",
                    median(v).map(fmt_num).unwrap_or_else(|| "—".into())
                );
            }
            for v in &r.values[1..] {
                let ratios: Vec<f64> = r.values[0].iter().zip(v).map(|(a, b)| a / b).collect();
                let cell = match (median(&ratios), min_max(&ratios)) {
                    (Some(m), Some((lo, hi))) => format!("{m:.2} ({lo:.2}–{hi:.2})"),
                    _ => "—".into(),
                };
                let _ = write!(s, " {cell} |");
            }
            let noise = r
                .values
                .iter()
                .filter_map(|v| spread(v))
                .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
            let _ = writeln!(
                s,
                " {} |",
                noise
                    .map(|n| format!("{:.0}%", n * 100.0))
                    .unwrap_or_else(|| "—".into())
            );
        }
        let rounds = self.rows.first().map_or(0, |r| r.values[0].len());
        let _ = writeln!(
            s,
            "\n{rounds} alternating rounds. Ratio: median of round-by-round {first}/other; \
             ↓ lower is better (ratio < 1 favours {first}), ↑ higher is better (ratio > 1 favours {first}). \
             Noise: the largest (max−min)/median of any contender over its rounds."
        );
        s
    }
}

/// Median of `v` (mean of the middle two for even lengths); `None` if empty.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The `p`-th percentile (0..=100) of sorted `v`, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn min_max(v: &[f64]) -> Option<(f64, f64)> {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let lo = v.iter().copied().reduce(f64::min)?;
    let hi = v.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

/// (max − min) / median over rounds, `None` with fewer than two rounds.
fn spread(v: &[f64]) -> Option<f64> {
    if v.len() < 2 {
        return None;
    }
    let (lo, hi) = min_max(v)?;
    let m = median(v)?;
    (m != 0.0).then(|| (hi - lo) / m.abs())
}

/// Three significant digits, without exponent for usual magnitudes.
pub fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_figure() {
        let f = parse_line("@metric spawn+join\tns/op\tlower\t123.5").unwrap();
        assert_eq!(f.name, "spawn+join");
        assert_eq!(f.better, Better::Lower);
        assert_eq!(f.value, 123.5);
        assert!(parse_line("noise").is_none());
    }

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
    }

    #[test]
    fn renders_ratios() {
        let mut t = Table::new("t", &["a", "b"]);
        let fig = |v| Figure {
            name: "x".into(),
            unit: "ns".into(),
            better: Better::Lower,
            value: v,
        };
        t.record(0, &[fig(1.0)]);
        t.record(1, &[fig(2.0)]);
        assert!(t.render().contains("0.50 (0.50–0.50)"));
    }
}
