//! CPU time a process has spent, two ways: utime+stime from /proc/PID/stat
//! (what `top` and the figure use; clock ticks, 10 ms each on most
//! kernels, so coarse over a short storm) and the scheduler's run time from
//! /proc/PID/schedstat (nanoseconds), which resolves what the ticks cannot.

use test_support::procfs;

#[derive(Debug, Clone, Copy, Default)]
pub struct Spent {
    /// utime+stime, converted from clock ticks to ns.
    pub ticks_ns: u64,
    /// Time on a CPU per the scheduler (schedstat's first field), ns.
    pub run_ns: u64,
}

impl Spent {
    pub fn since(&self, before: &Spent) -> Spent {
        Spent {
            ticks_ns: self.ticks_ns.saturating_sub(before.ticks_ns),
            run_ns: self.run_ns.saturating_sub(before.run_ns),
        }
    }
}

/// What `pid` has spent so far.
pub fn of(pid: i32) -> Result<Spent, String> {
    let s = procfs::stat(pid).ok_or_else(|| format!("no /proc/{pid}/stat"))?;
    let schedstat = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .map_err(|e| format!("/proc/{pid}/schedstat: {e}"))?;
    let run_ns = schedstat
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| format!("/proc/{pid}/schedstat: {schedstat:?}"))?;
    Ok(Spent {
        ticks_ns: (s.utime + s.stime) * 1_000_000_000 / clock_ticks_per_second(),
        run_ns,
    })
}

fn clock_ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&t| t > 0)
        .unwrap_or(100) as u64
}
