//! Reading a process from `/proc`, and CPU pinning of the calling thread.

use std::io;
use std::time::Duration;

/// User and system CPU time of a process (or of one thread with
/// `pid/task/tid`), from fields 14 and 15 of `/proc/<pid>/stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTime {
    /// Time spent in user mode.
    pub user: Duration,
    /// Time spent in the kernel on the process's behalf.
    pub system: Duration,
}

impl CpuTime {
    /// User plus system time.
    pub fn total(&self) -> Duration {
        self.user + self.system
    }
}

/// Reads the CPU time of `pid` (`"self"` works too) from `/proc/<pid>/stat`.
pub fn cpu_time(pid: &str) -> io::Result<CpuTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/PID/stat"))
}

fn parse_stat(stat: &str) -> Option<CpuTime> {
    // The command name (field 2) is in parentheses and may contain spaces:
    // count fields from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // `rest` starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let hz = clock_ticks_per_second();
    let tick = |t: u64| Duration::from_nanos(t * 1_000_000_000 / hz);
    Some(CpuTime {
        user: tick(utime),
        system: tick(stime),
    })
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as u64
    } else {
        100
    }
}

/// Resident set size of `pid` in bytes (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_bytes(pid: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS"))
}

/// Pins the calling thread to `cpu` (e.g. a load thread inside a child that
/// `taskset -c 0` started: a thread may widen its own mask; it is no cgroup).
/// Fails quietly on a machine with a single CPU, returning the error.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data, zero is a valid (empty) set, and
    // CPU_SET / sched_setaffinity only read and write the set we pass.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Number of CPUs online.
pub fn online_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_command_with_spaces_and_parens() {
        let stat = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 300 200 0 0 20 0 1 0";
        let t = parse_stat(stat).unwrap();
        let hz = clock_ticks_per_second();
        assert_eq!(t.user, Duration::from_nanos(300 * 1_000_000_000 / hz));
        assert_eq!(t.system, Duration::from_nanos(200 * 1_000_000_000 / hz));
    }

    #[test]
    fn reads_self() {
        assert!(cpu_time("self").is_ok());
        assert!(rss_bytes("self").unwrap() > 0);
    }
}
