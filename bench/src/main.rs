//! kiwi-bench: kiwi side by side with tokio (current_thread) and smol.
//!
//! ```text
//! cargo run --release -p kiwi-bench -- all [--rounds N] [--full] [--md FILE]
//! cargo run --release -p kiwi-bench -- micro|sched|timers|wake|mt|b1|b2|b3|b7|b8|b9|b10 [--rounds N]
//! cargo run --release -p kiwi-bench -- proc|fs [--rounds N]
//! ```
//!
//! The parent process measures nothing itself: for each group it re-executes
//! this binary as `child <group> <runtime>` pinned to CPU 0, alternating the
//! runtimes round by round (see [`harness`]), and prints a table of medians,
//! ratios and noise. Load-generating threads pin themselves to CPU 1. The
//! `mt` group (two workers per runtime, see [`suite::mt`]) pins its child to
//! CPUs 0 and 1 instead. The network groups (see [`net`]) start server
//! processes the same way. The operating-system groups, `proc` (see
//! [`process`]) and `fs` (see [`fs`]), run their children on CPUs 0-1 too.

mod alloc;
mod fs;
mod harness;
mod net;
mod process;
mod procfs;
mod rt;
mod suite;

use std::io;
use std::process::ExitCode;

use rt::{Kiwi, MtRt, Rt, Smol, SmolMt, Tokio};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// The in-process groups, in the order `all` runs them.
const GROUPS: &[(&str, &str)] = &[
    ("micro", "Issue 2 micro: spawn, yield, memory per task"),
    ("sched", "B4 scheduler on one thread (tokio's parameters)"),
    ("timers", "B5 timers"),
    ("wake", "B6 cross-thread wake, and wakes of a busy worker"),
    (
        "mt",
        "Two workers, child on CPUs 0-1: scheduler (tokio's parameters) and load balance",
    ),
];

/// The groups whose runtimes have two workers: their children run on CPUs 0-1.
const TWO_CPU_GROUPS: &[&str] = &["mt"];

/// The network groups, in the order `all` runs them after the others.
const NET_GROUPS: &[&str] = &["b1", "b2", "b3", "b7", "b8", "b9", "b10"];

/// The operating-system groups (kiwi and tokio only), run last by `all`.
const OS_GROUPS: &[&str] = &["proc", "fs"];

const RUNTIMES: &[&str] = &[Kiwi::NAME, Tokio::NAME, Smol::NAME];

fn usage() -> ExitCode {
    eprintln!(
        "usage: kiwi-bench <all|micro|sched|timers|wake|mt|b1|b2|b3|b7|b8|b9|b10|proc|fs> [--rounds N] [--full] [--md FILE]\n\
         \x20      kiwi-bench server <kiwi|tokio|smol> <echo|http|idle> <workers> <port>\n\
         \x20      kiwi-bench child <group> <kiwi|tokio|smol>   (internal)"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return usage();
    };
    match cmd.as_str() {
        "child" => match (args.get(1), args.get(2)) {
            (Some(group), Some(rt)) => run_child(group, rt),
            _ => usage(),
        },
        "server" => {
            let app = args.get(2).and_then(|a| net::servers::App::parse(a));
            let workers = args.get(3).and_then(|w| w.parse().ok());
            let port = args.get(4).and_then(|p| p.parse().ok());
            match (args.get(1), app, workers, port) {
                (Some(kind), Some(app), Some(workers), Some(port)) => {
                    match net::servers::serve(kind, app, workers, port) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => {
                            eprintln!("kiwi-bench server {kind}: {e}");
                            ExitCode::FAILURE
                        }
                    }
                }
                _ => usage(),
            }
        }
        "all" | "micro" | "sched" | "timers" | "wake" | "mt" | "b1" | "b2" | "b3" | "b7" | "b8"
        | "b9" | "b10" | "proc" | "fs" => {
            let Some(opts) = Options::parse(&args[1..]) else {
                return usage();
            };
            let groups: Vec<_> = GROUPS
                .iter()
                .filter(|(g, _)| cmd == "all" || g == cmd)
                .collect();
            let nets: Vec<&str> = NET_GROUPS
                .iter()
                .chain(OS_GROUPS)
                .copied()
                .filter(|g| cmd == "all" || g == cmd)
                .collect();
            match compare(&groups, &nets, &opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("kiwi-bench: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => usage(),
    }
}

/// Command-line options of the comparing commands.
struct Options {
    rounds: usize,
    full: bool,
    md: Option<String>,
}

impl Options {
    fn parse(args: &[String]) -> Option<Options> {
        let mut o = Options {
            rounds: 5,
            full: false,
            md: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--rounds" => o.rounds = it.next()?.parse().ok().filter(|&n| n > 0)?,
                "--full" => o.full = true,
                "--md" => o.md = Some(it.next()?.clone()),
                _ => return None,
            }
        }
        Some(o)
    }
}

/// Runs each group in alternating rounds of child processes, then the
/// network groups asked for, and prints the tables.
fn compare(groups: &[&(&str, &str)], nets: &[&str], opts: &Options) -> io::Result<()> {
    let mut md = String::new();
    for (group, title) in groups {
        let mut table = harness::Table::new(title, RUNTIMES);
        let run_child = if TWO_CPU_GROUPS.contains(group) {
            harness::run_child_two_cpus
        } else {
            harness::run_child
        };
        table.run_rounds(opts.rounds, |c| run_child(&[group, RUNTIMES[c]]))?;
        let text = table.render();
        println!("{text}");
        md.push_str(&text);
    }
    for &g in nets {
        let text = match g {
            "b1" => net::b1::run(opts.rounds, opts.full)?,
            "b2" => net::b2::run(opts.rounds)?,
            "b3" => net::b3::run(opts.rounds)?,
            "b7" => net::b7::run(opts.rounds)?,
            "b8" => net::b8::run(opts.rounds)?,
            "proc" => process::run(opts.rounds)?,
            "fs" => fs::run(opts.rounds)?,
            "b9" => net::b9::run(opts.rounds)?,
            _ => net::b10::run(opts.rounds)?,
        };
        println!("{text}");
        md.push_str(&text);
        // Write as we go: a late failure keeps the tables already measured.
        if let Some(path) = &opts.md {
            std::fs::write(path, &md)?;
        }
    }
    if let Some(path) = &opts.md {
        std::fs::write(path, md)?;
    }
    Ok(())
}

/// Inside a child: runs one group on one runtime, printing `@metric` lines.
fn run_child(group: &str, rt: &str) -> ExitCode {
    fn group_on<R: Rt>(group: &str) -> bool {
        match group {
            "micro" => suite::micro::run::<R>(),
            "sched" => suite::sched::run::<R>(),
            "timers" => suite::timers::run::<R>(),
            "wake" => suite::wake::run::<R>(),
            _ => return false,
        }
        true
    }
    fn mt_on<R: MtRt>() -> bool {
        suite::mt::run::<R>();
        true
    }
    let known = match (group, rt) {
        ("proc", rt) => process::child(rt),
        ("fs", rt) => fs::child(rt),
        ("mt", "kiwi") => mt_on::<Kiwi>(),
        ("mt", "tokio") => mt_on::<Tokio>(),
        ("mt", "smol") => mt_on::<SmolMt>(),
        (_, "kiwi") => group_on::<Kiwi>(group),
        (_, "tokio") => group_on::<Tokio>(group),
        (_, "smol") => group_on::<Smol>(group),
        _ => false,
    };
    if known {
        ExitCode::SUCCESS
    } else {
        usage()
    }
}
