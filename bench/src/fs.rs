//! Files (issue 14): reading a 1 GiB file from start to end with
//! `fs::File` on kiwi (`kiwi::fs::File`, futures-io `read`) and on tokio
//! (`tokio::fs::File`, tokio's `read`), one worker each (`kiwi::block_on`,
//! tokio `current_thread`), with the same buffer handed to every `read`.
//!
//! Neither runtime can wait for a file in epoll, so both hand each read to a
//! blocking-pool thread and copy what it read into the caller's buffer: the
//! figure is the cost of that round trip per chunk. The group runs twice:
//! with its child pinned to CPU 0 (the worker and the pool thread take
//! turns on one CPU: the steadier figure on a shared machine), then on both
//! CPUs (each thread may have its own, and every hop is a cross-CPU wake).
//!
//! The parent creates the file once, in the system's temporary directory
//! (never in the working tree), passes its path to each child, and deletes
//! it at the end, whatever happened. Right after it was written the file is
//! in the page cache (the machine has far more memory than 1 GiB), and each
//! child reads it once unmeasured first: this measures the runtime, not the
//! disk.
//!
//! Figures per buffer size: throughput (GiB/s, the median of three reads)
//! and the process's CPU time per GiB (`getrusage`, all threads).

use std::hint::black_box;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::harness::{self, report, Better, Table};
use crate::process::process_cpu;
use crate::rt::{Kiwi, Rt, Tokio};

const CONTENDERS: &[&str] = &["kiwi", "tokio"];
/// The file's size.
const FILE_LEN: u64 = 1 << 30;
/// The sizes of the buffer passed to `read`.
const BUF_SIZES: &[usize] = &[64 << 10, 1 << 20];
/// Measured reads per buffer size; the median is reported.
const REPS: usize = 3;

/// How a child is started: [`harness::run_child`] or its two-CPU twin.
type RunChild = fn(&[&str]) -> io::Result<Vec<harness::Figure>>;

/// Runs the `fs` group for `rounds` alternating rounds, its child pinned to
/// one CPU and then on two, and returns the rendered tables.
pub fn run(rounds: usize) -> io::Result<String> {
    let file = TempFile::create(FILE_LEN)?;
    let path = file.0.to_string_lossy().into_owned();
    let mut out = String::new();
    let configs: [(&str, RunChild); 2] = [
        ("child on CPU 0", harness::run_child),
        ("child on CPUs 0-1", harness::run_child_two_cpus),
    ];
    for (cpus, run_child) in configs {
        let title =
            format!("Files (issue 14): reading 1 GiB with fs::File, page cache warm ({cpus})");
        let mut table = Table::new(&title, CONTENDERS);
        table.run_rounds(rounds, |c| run_child(&["fs", CONTENDERS[c], &path]))?;
        out.push_str(&table.render());
    }
    Ok(out)
}

/// Inside a child: measures runtime `rt` on the file named by the argument
/// after it (`child fs <rt> <path>`), printing `@metric` lines; false for an
/// unknown runtime or a missing path.
pub fn child(rt: &str) -> bool {
    let Some(path) = std::env::args().nth(4).map(PathBuf::from) else {
        return false;
    };
    match rt {
        "kiwi" => measure::<Kiwi>(&path),
        "tokio" => measure::<Tokio>(&path),
        _ => return false,
    }
    true
}

/// A file of `len` bytes in the temporary directory, deleted when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn create(len: u64) -> io::Result<TempFile> {
        let path = std::env::temp_dir().join(format!("kiwi-bench-fs-{}.bin", std::process::id()));
        let file = TempFile(path);
        let mut f = io::BufWriter::new(std::fs::File::create(&file.0)?);
        // Not zeros: nothing along the way should get to skip real data.
        let chunk: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            f.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        f.flush()?;
        Ok(file)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What the benchmark needs from a runtime's files.
trait Files: Rt {
    /// Opens `path` and reads it to the end, `buf` at a time; the byte count.
    fn read_all(path: PathBuf, buf: Vec<u8>) -> impl std::future::Future<Output = u64> + Send;
}

impl Files for Kiwi {
    fn read_all(path: PathBuf, mut buf: Vec<u8>) -> impl std::future::Future<Output = u64> + Send {
        use kiwi::io::AsyncReadExt;
        async move {
            let mut f = kiwi::fs::File::open(&path).await.expect("open");
            let mut total = 0;
            loop {
                let n = f.read(&mut buf).await.expect("read");
                if n == 0 {
                    return total;
                }
                black_box(&buf[..n]);
                total += n as u64;
            }
        }
    }
}

impl Files for Tokio {
    fn read_all(path: PathBuf, mut buf: Vec<u8>) -> impl std::future::Future<Output = u64> + Send {
        use tokio::io::AsyncReadExt;
        async move {
            let mut f = tokio::fs::File::open(&path).await.expect("open");
            let mut total = 0;
            loop {
                let n = f.read(&mut buf).await.expect("read");
                if n == 0 {
                    return total;
                }
                black_box(&buf[..n]);
                total += n as u64;
            }
        }
    }
}

fn measure<R: Files>(path: &Path) {
    R::block_on(async {
        // Unmeasured: the page cache, the pool's thread, the allocator.
        let len = R::read_all(path.to_owned(), vec![0; BUF_SIZES[0]]).await;
        assert_eq!(len, FILE_LEN, "short read of {}", path.display());
        for &size in BUF_SIZES {
            let mut rate = Vec::new();
            let mut cpu = Vec::new();
            for _ in 0..REPS {
                let cpu0 = process_cpu();
                let t0 = Instant::now();
                let n = R::read_all(path.to_owned(), vec![0; size]).await;
                let wall = t0.elapsed().as_secs_f64();
                let cpu_s = (process_cpu() - cpu0).as_secs_f64();
                assert_eq!(n, FILE_LEN);
                let gib = n as f64 / (1u64 << 30) as f64;
                rate.push(gib / wall);
                cpu.push(cpu_s * 1e3 / gib);
            }
            let label = format!("{} KiB buffer", size >> 10);
            let med = |v: &[f64]| harness::median(v).unwrap_or(f64::NAN);
            report(
                &format!("{label}: throughput"),
                "GiB/s",
                Better::Higher,
                med(&rate),
            );
            report(
                &format!("{label}: CPU per GiB"),
                "ms/GiB",
                Better::Lower,
                med(&cpu),
            );
        }
    });
}
