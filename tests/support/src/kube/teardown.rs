//! A cluster's teardown as a function of plain data: which processes it
//! started (PID and start time, so a reused PID is never signalled), which
//! directories hold its mounts, which cgroups it made, which kernel settings
//! kubelet changed and their values before. Drop calls [`release`]; so can a
//! signal handler or the next run's sweep, from the same data.

use crate::procfs;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a daemon gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A process the harness started, told apart from a later one with its PID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub name: String,
    pub pid: i32,
    pub start: u64,
}

impl Process {
    pub fn of(name: &str, pid: i32) -> Process {
        let start = procfs::stat(pid).map(|s| s.start).unwrap_or_default();
        Process {
            name: name.into(),
            pid,
            start,
        }
    }

    /// Still this process, still running (a zombie has ended).
    pub fn alive(&self) -> bool {
        procfs::stat(self.pid).is_some_and(|s| s.start == self.start && s.state != 'Z')
    }
}

/// Everything a cluster leaves on the host until it is released.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    /// Newest last: released in reverse order (kubelet before the control plane).
    pub processes: Vec<Process>,
    /// Directories whose mounts are unmounted and which are then removed.
    pub dirs: Vec<PathBuf>,
    /// cgroup directory names (relative to each v1 hierarchy) removed, deepest first.
    pub cgroups: Vec<String>,
    /// (path under /proc/sys, value before) put back.
    pub sysctls: Vec<(PathBuf, String)>,
}

/// Stops every process (SIGTERM, then SIGKILL after [`STOP_GRACE`]), unmounts
/// and removes the directories, removes the cgroups, puts the kernel
/// settings back. Never panics: it is a teardown.
pub fn release(r: &Resources) {
    for p in r.processes.iter().rev() {
        stop(p);
    }
    for dir in &r.dirs {
        procfs::unmount_all_under(dir);
        let _ = std::fs::remove_dir_all(dir);
    }
    for cgroup in &r.cgroups {
        remove_cgroup(cgroup);
    }
    for (path, value) in &r.sysctls {
        let _ = std::fs::write(path, value);
    }
}

/// SIGTERM, then SIGKILL if it is still there after the grace period.
pub fn stop(p: &Process) {
    if !p.alive() {
        return;
    }
    let pid = Pid::from_raw(p.pid);
    let _ = kill(pid, Signal::SIGTERM);
    let start = Instant::now();
    while p.alive() && start.elapsed() < STOP_GRACE {
        std::thread::sleep(Duration::from_millis(20));
    }
    if p.alive() {
        let _ = kill(pid, Signal::SIGKILL);
    }
}

/// rmdir of `name` and its sub-cgroups in every v1 hierarchy.
pub fn remove_cgroup(name: &str) {
    if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in hierarchies.flatten() {
            remove_tree(&h.path().join(name.trim_start_matches('/')));
        }
    }
}

fn remove_tree(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}
