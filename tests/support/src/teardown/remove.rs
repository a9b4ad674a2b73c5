//! Removing a [`Resource`]: the one code that `Drop`, the signal handler and
//! the sweep all run. It never panics (a teardown that panics in `Drop`
//! aborts, and in the handler leaves the rest), and escalates instead of
//! waiting forever.

use super::{Process, Resource};
use crate::procfs;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a recorded process (a daemon: containerd, a registry) gets to
/// exit on SIGTERM, and how long killed processes and busy cgroups get to go.
const GRACE: Duration = Duration::from_secs(10);
const GONE: Duration = Duration::from_secs(20);

/// Removes everything `r` names; one entry per kind of thing that was
/// really there ("3 processes: ...", "119 mounts", ...).
pub fn remove(r: &Resource) -> Vec<String> {
    let mut removed = Vec::new();
    let stopped = stop_in_order(&r.processes);
    let killed = kill_tied(r);
    let ended: Vec<i32> = stopped.into_iter().chain(killed).collect();
    if !ended.is_empty() {
        removed.push(count(ended.len(), "process", "processes") + &pid_list(&ended));
    }
    removed.extend(r.containers.iter().filter_map(|c| remove_container(c)));
    if let Some(dir) = &r.dir {
        let mounts = procfs::mounts_under(dir);
        for m in &mounts {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
        if !mounts.is_empty() {
            removed.push(count(mounts.len(), "mount", "mounts"));
        }
    }
    let cgroups: usize = r.cgroups.iter().map(|c| remove_cgroup(c)).sum();
    if cgroups > 0 {
        removed.push(count(cgroups, "cgroup", "cgroups"));
    }
    if let Some(user) = &r.user
        && delete_user(user)
    {
        removed.push(format!("user {user}"));
    }
    for (path, mode) in &r.modes {
        if put_mode_back(path, *mode) {
            removed.push(format!("{} back to mode {mode:o}", path.display()));
        }
    }
    for (path, line) in &r.contents {
        if put_content_back(path, line) {
            removed.push(format!("{} back to {line}", path.display()));
        }
    }
    if let Some(dir) = &r.dir
        && dir.exists()
    {
        let _ = std::fs::remove_dir_all(dir);
        removed.push(format!("directory {}", dir.display()));
    }
    removed
}

/// "WHAT: 40 processes (...), 119 mounts, ..." or "WHAT: nothing left".
pub fn summary(what: &str, removed: &[String]) -> String {
    if removed.is_empty() {
        format!("{what}: nothing left")
    } else {
        format!("{what}: {}", removed.join(", "))
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn pid_list(pids: &[i32]) -> String {
    let shown: Vec<String> = pids.iter().take(5).map(i32::to_string).collect();
    let more = if pids.len() > 5 { ", ..." } else { "" };
    format!(" ({}{more})", shown.join(", "))
}

/// SIGTERM to each recorded process still alive, newest first, SIGKILL after
/// the grace period; the PIDs that were alive.
pub(super) fn stop_in_order(processes: &[Process]) -> Vec<i32> {
    let mut ended = Vec::new();
    for p in processes.iter().rev().filter(|p| p.alive()) {
        let _ = kill(Pid::from_raw(p.pid), Signal::SIGTERM);
        if !gone_within(std::slice::from_ref(p), GRACE) {
            let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
            gone_within(std::slice::from_ref(p), GONE);
        }
        ended.push(p.pid);
    }
    ended
}

fn gone_within(processes: &[Process], limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if !processes.iter().any(Process::alive) {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGKILL to every process tied to the resource, and their descendants;
/// waits until they are gone. Never this process or one of its ancestors.
fn kill_tied(r: &Resource) -> Vec<i32> {
    let spared = own_lineage();
    let mut victims: BTreeSet<i32> = tied_processes(r);
    let mut stack: Vec<i32> = victims.iter().copied().collect();
    while let Some(p) = stack.pop() {
        for c in procfs::children_of(p) {
            if victims.insert(c.pid) {
                stack.push(c.pid);
            }
        }
    }
    let victims: Vec<Process> = victims
        .into_iter()
        .filter(|p| !spared.contains(p))
        .filter_map(Process::of)
        .filter(Process::alive)
        .collect();
    for p in &victims {
        let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
    }
    gone_within(&victims, GONE);
    victims.iter().map(|p| p.pid).collect()
}

fn own_lineage() -> BTreeSet<i32> {
    let mut lineage = BTreeSet::new();
    let mut pid = std::process::id() as i32;
    while pid > 0 && lineage.insert(pid) {
        pid = procfs::stat(pid).map_or(0, |s| s.ppid);
    }
    lineage
}

/// Processes that name the directory on their command line, run in a root
/// inside it, are in one of the cgroups, or belong to the user.
fn tied_processes(r: &Resource) -> BTreeSet<i32> {
    let mut tied = BTreeSet::new();
    if let Some(dir) = &r.dir {
        tied.extend(
            super::left::processes_tied_to(dir)
                .into_iter()
                .map(|(pid, _)| pid),
        );
    }
    for cgroup in &r.cgroups {
        for dir in cgroup_dirs(cgroup) {
            tied.extend(pids_in_cgroup_tree(&dir));
        }
    }
    if let Some(user) = &r.user {
        tied.extend(processes_of_user(user));
    }
    tied
}

/// The cgroup's directory in every hierarchy that has it.
pub(super) fn cgroup_dirs(cgroup: &str) -> Vec<PathBuf> {
    let relative = cgroup.trim_start_matches('/');
    if relative.is_empty() || relative.contains("..") {
        return Vec::new(); // never the root, never outside it
    }
    let root = Path::new("/sys/fs/cgroup");
    let hierarchies = std::fs::read_dir(root).into_iter().flatten().flatten();
    hierarchies
        .map(|h| h.path())
        .chain(std::iter::once(root.to_path_buf()))
        .map(|h| h.join(relative))
        .filter(|d| d.is_dir())
        .collect()
}

fn pids_in_cgroup_tree(dir: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    pids
}

/// Removes the cgroup's subtree in every hierarchy, deepest first, retrying
/// while the kernel still counts exiting tasks; how many directories went.
fn remove_cgroup(cgroup: &str) -> usize {
    let mut removed = 0;
    for top in cgroup_dirs(cgroup) {
        let mut dirs = vec![];
        let mut stack = vec![top];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
            dirs.push(d);
        }
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            let start = Instant::now();
            while d.exists() && std::fs::remove_dir(&d).is_err() && start.elapsed() < GONE {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !d.exists() {
                removed += 1;
            }
        }
    }
    removed
}

/// The user's own uid and its subordinate ids (a rootless container's
/// processes run as those).
fn processes_of_user(user: &str) -> Vec<i32> {
    let Some(uid) = uid_of(user) else {
        return Vec::new();
    };
    let subuids = subordinate_range(user);
    procfs::all()
        .into_iter()
        .map(|s| s.pid)
        .filter(|&p| {
            procfs::status_field(p, "Uid")
                .and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok())
                .is_some_and(|u| u == uid || subuids.is_some_and(|(s, n)| u >= s && u < s + n))
        })
        .collect()
}

pub(super) fn uid_of(user: &str) -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&user)).then(|| f.get(2)?.parse().ok())?
        })
        .filter(|&uid| uid != 0)
}

fn subordinate_range(user: &str) -> Option<(u32, u32)> {
    let subuid = std::fs::read_to_string("/etc/subuid").ok()?;
    subuid.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&user))
            .then(|| Some((f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?)))?
    })
}

/// Deletes the account (userdel also drops its subordinate id lines, and
/// only its own) and what it left in /dev/shm (podman's lock file), the one
/// place outside its directory a rootless user writes to.
fn delete_user(user: &str) -> bool {
    let Some(uid) = uid_of(user) else {
        return false;
    };
    for e in std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.metadata().is_ok_and(|m| m.uid() == uid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let userdel = crate::ci::which("userdel").unwrap_or_else(|| "userdel".into());
    std::process::Command::new(userdel)
        .arg(user)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn remove_container(name: &str) -> Option<String> {
    let out = std::process::Command::new("docker")
        .args(["rm", "-f", "-v", name])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    // `docker rm -f` of a missing container succeeds too, but prints nothing.
    (out.status.success() && !out.stdout.is_empty()).then(|| format!("container {name}"))
}

fn put_mode_back(path: &Path, mode: u32) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if meta.permissions().mode() & 0o7777 == mode {
        return false;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).is_ok()
}

/// Writes `line` back if the file now says something else; whether it did.
fn put_content_back(path: &Path, line: &str) -> bool {
    let now = std::fs::read_to_string(path).unwrap_or_default();
    now.trim() != line && std::fs::write(path, line).is_ok()
}
