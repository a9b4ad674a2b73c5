//! Reaping as counts that repeat: user-space instructions (callgrind) and
//! system calls (strace -c) per reaped orphan. Each run counts a peer's
//! whole life once without orphans and once for each storm size of the
//! plan (storm.rs); the figure per orphan is the difference to the run
//! without orphans, divided by the orphans. The CPU time of the reaping
//! figure (single/reaping.rs) flips from run to run with the machine's
//! load; these counts do not.

mod storm;
mod tools;

use crate::results::ReapCount;
use crate::{Bench, Measured, stats};
use std::collections::BTreeMap;
use std::time::Duration;
use tools::{Setting, Subject};

/// The calls a process reaps a child with.
const WAIT_CALLS: &[&str] = &["wait4", "waitid", "waitpid"];

/// What one run counted for one storm size.
struct Counted {
    orphans: usize,
    instructions: u64,
    syscalls: BTreeMap<String, u64>,
}

pub fn measure(b: &Bench, m: &mut [Measured]) {
    let plan = &b.plan;
    let sizes: Vec<usize> = std::iter::once(0)
        .chain(plan.count_orphans.iter().copied())
        .collect();
    b.step(&format!(
        "reaping counts: callgrind and strace -c, {sizes:?} orphans, {} run(s) per peer",
        plan.count_runs
    ));
    let at = Setting {
        tmp: &b.tmp,
        null: &b.null,
        deadline: Duration::from_secs(120),
    };
    for (p, x) in b.peers.iter().zip(m.iter_mut()) {
        let subject = Subject {
            key: &p.key,
            argv: p.argv(),
            asleep: storm::asleep_in_wait,
        };
        let mut runs = Vec::new();
        for run in 0..plan.count_runs {
            match one_run(&subject, &sizes, run, &at).and_then(checked) {
                Ok(r) => runs.push(r),
                Err(e) => x.errors.push(format!("reaping counts: {e}")),
            }
        }
        x.reap_counts = figures(&sizes, &runs);
    }
}

/// Counts the peer's life once for each storm size (0 first).
fn one_run(s: &Subject, sizes: &[usize], run: usize, at: &Setting) -> Result<Vec<Counted>, String> {
    sizes
        .iter()
        .map(|&n| {
            Ok(Counted {
                orphans: n,
                instructions: tools::instructions(s, n, run, at)?,
                syscalls: tools::syscalls(s, n, run, at)?,
            })
        })
        .collect()
}

/// What a run must show to be a count of reaping: every orphan reaped by
/// the peer's own wait calls, and the instructions per orphan the same at
/// every size (within a quarter: the wake-up is counted once per storm).
fn checked(r: Vec<Counted>) -> Result<Vec<Counted>, String> {
    let base = &r[0];
    for c in &r[1..] {
        let waits =
            |x: &Counted| -> u64 { WAIT_CALLS.iter().filter_map(|w| x.syscalls.get(*w)).sum() };
        let reaps = waits(c).saturating_sub(waits(base));
        if reaps < c.orphans as u64 {
            return Err(format!(
                "{} orphans but {reaps} more wait calls than without orphans",
                c.orphans
            ));
        }
    }
    let per = |c: &Counted| per_orphan(c.instructions, base.instructions, c.orphans);
    if let [_, first, .., last] = r.as_slice() {
        let (a, z) = (per(first), per(last));
        if !(a > 0.0 && (z / a - 1.0).abs() <= 0.25) {
            return Err(format!(
                "instructions per orphan do not scale: {a:.2} at {} orphans, {z:.2} at {}",
                first.orphans, last.orphans
            ));
        }
    }
    Ok(r)
}

fn per_orphan(total: u64, base: u64, orphans: usize) -> f64 {
    (total as f64 - base as f64) / orphans as f64
}

fn calls(c: &Counted) -> u64 {
    c.syscalls.values().sum()
}

/// The figures of each storm size over the runs.
fn figures(sizes: &[usize], runs: &[Vec<Counted>]) -> Vec<ReapCount> {
    if runs.is_empty() {
        return Vec::new();
    }
    sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let over = |f: &dyn Fn(&Counted, &Counted) -> f64| -> Option<stats::Summary> {
                let v: Vec<f64> = runs.iter().map(|r| f(&r[i], &r[0])).collect();
                stats::summary(&v)
            };
            let per = n > 0;
            ReapCount {
                orphans: n,
                instructions: over(&|c, _| c.instructions as f64),
                syscalls: over(&|c, _| calls(c) as f64),
                instructions_each: runs.iter().map(|r| r[i].instructions).collect(),
                syscalls_each: runs.iter().map(|r| calls(&r[i])).collect(),
                instructions_per_orphan: per
                    .then(|| over(&|c, b| per_orphan(c.instructions, b.instructions, n)))
                    .flatten(),
                syscalls_per_orphan: per
                    .then(|| over(&|c, b| per_orphan(calls(c), calls(b), n)))
                    .flatten(),
                syscalls_by_name: if per {
                    by_name(&runs[0][i], &runs[0][0])
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

/// The calls whose count changed with the orphans, per orphan, most first.
fn by_name(c: &Counted, base: &Counted) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = c
        .syscalls
        .keys()
        .chain(base.syscalls.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|name| {
            let get = |x: &Counted| x.syscalls.get(name).copied().unwrap_or(0);
            (name.clone(), per_orphan(get(c), get(base), c.orphans))
        })
        .filter(|(_, d)| *d != 0.0)
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}

#[cfg(test)]
mod tests {
    use super::tools::{self, Setting, Subject};
    use nix::unistd::Pid;
    use std::time::Duration;
    use test_support::teardown::{self, Resource};
    use test_support::{ci, procfs};

    /// busybox's `sleep` has started: its own command line, asleep. The
    /// command line is empty for a moment around the exec.
    fn asleep(pid: Pid) -> Result<(), String> {
        let exec = procfs::cmdline(pid.as_raw())
            .is_some_and(|c| c.first().is_some_and(|a| a == "/bin/busybox"));
        let state = procfs::state(pid.as_raw());
        (exec && state == 'S')
            .then_some(())
            .ok_or(format!("state {state}"))
    }

    /// The control: a PID 1 that never reaps (busybox `sleep`) fails the
    /// count, so the figures of the peers can fail.
    #[test]
    fn a_pid1_that_never_reaps_fails_the_count() {
        let busybox = std::path::Path::new("/bin/busybox");
        let strace = std::path::Path::new(crate::peer::STRACE);
        if !ci::require(ci::is_root(), "root (PID namespaces)")
            || !ci::require(busybox.exists(), "/bin/busybox (Debian busybox-static)")
            || !ci::require(strace.exists(), "strace (make deps)")
        {
            return;
        }
        let tmp = std::env::temp_dir().join(format!("pause-bench-test.{}", std::process::id()));
        let live = teardown::register(Resource::new("the control's files").dir(&tmp));
        std::fs::create_dir_all(&tmp).unwrap();
        let null = std::fs::File::create("/dev/null").unwrap().into();
        let at = Setting {
            tmp: &tmp,
            null: &null,
            deadline: Duration::from_secs(2),
        };
        let never_reaps = Subject {
            key: "nonreaper",
            argv: vec!["/bin/busybox".into(), "sleep".into(), "3600".into()],
            asleep,
        };
        let err = tools::syscalls(&never_reaps, 5, 0, &at).unwrap_err();
        assert!(err.contains("5 children not reaped"), "{err}");
        live.release();
    }
}
