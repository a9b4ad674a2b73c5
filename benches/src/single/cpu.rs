//! CPU time a process has spent, as the scheduler's run time from
//! /proc/PID/schedstat (nanoseconds). utime+stime from /proc/PID/stat counts
//! only 10 ms clock ticks on most kernels, too coarse over a short storm.

#[derive(Debug, Clone, Copy, Default)]
pub struct Spent {
    /// Time on a CPU per the scheduler (schedstat's first field), ns.
    pub run_ns: u64,
}

impl Spent {
    pub fn since(&self, before: &Spent) -> Spent {
        Spent {
            run_ns: self.run_ns.saturating_sub(before.run_ns),
        }
    }
}

/// What `pid` has spent so far (its main thread: the whole of a
/// single-threaded process).
pub fn of(pid: i32) -> Result<Spent, String> {
    read(&format!("/proc/{pid}/schedstat"))
}

/// What thread `tid` of process `pid` has spent so far.
pub fn of_task(pid: i32, tid: i32) -> Result<Spent, String> {
    read(&format!("/proc/{pid}/task/{tid}/schedstat"))
}

fn read(path: &str) -> Result<Spent, String> {
    let schedstat = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let run_ns = schedstat
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| format!("{path}: {schedstat:?}"))?;
    Ok(Spent { run_ns })
}
