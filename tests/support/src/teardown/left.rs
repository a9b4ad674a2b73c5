//! What is still there of a [`Resource`], seen from /proc, the mount table,
//! cgroupfs and /etc/passwd: what a test asserts is gone after a teardown,
//! and what a benchmark reports when another run's pods share the host.

use super::Resource;
use super::remove::{cgroup_dirs, uid_of};
use crate::procfs;
use std::path::Path;

/// One line per thing of `r` that still exists; empty when nothing does.
pub fn left(r: &Resource) -> Vec<String> {
    let mut found = Vec::new();
    for p in r.processes.iter().filter(|p| p.alive()) {
        found.push(format!("process {}", p.pid));
    }
    if let Some(dir) = &r.dir {
        found.extend(tied_to_dir(dir));
    }
    for cgroup in &r.cgroups {
        found.extend(
            cgroup_dirs(cgroup)
                .iter()
                .map(|d| format!("cgroup {}", d.display())),
        );
    }
    if let Some(user) = &r.user
        && uid_of(user).is_some()
    {
        found.push(format!("user {user}"));
    }
    for (path, mode) in &r.modes {
        use std::os::unix::fs::PermissionsExt;
        let now = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777);
        if let Ok(now) = now
            && now != *mode
        {
            found.push(format!("{} still mode {now:o}", path.display()));
        }
    }
    for (path, line) in &r.contents {
        let now = std::fs::read_to_string(path).unwrap_or_default();
        if now.trim() != line {
            found.push(format!("{} still {}", path.display(), now.trim()));
        }
    }
    found
}

/// Processes naming `dir` or rooted inside it, mounts under it, the
/// directory itself.
pub fn tied_to_dir(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = processes_tied_to(dir)
        .into_iter()
        .filter(|(pid, _)| *pid != std::process::id() as i32)
        .map(|(pid, cmdline)| format!("process {pid}: {cmdline}"))
        .collect();
    found.extend(
        procfs::mounts_under(dir)
            .iter()
            .map(|m| format!("mount {}", m.display())),
    );
    if dir.exists() {
        found.push(format!("directory {}", dir.display()));
    }
    found
}

/// Processes that name `dir` on their command line (daemons, shims) or run
/// in a root inside it (processes not pivoted into a container's own root):
/// what the teardown kills and what a test finds left, by one rule.
pub(super) fn processes_tied_to(dir: &Path) -> Vec<(i32, String)> {
    let name = dir.display().to_string();
    procfs::command_lines()
        .into_iter()
        .filter(|(pid, cmdline)| {
            let root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap_or_default();
            cmdline.contains(&name) || (root != Path::new("/") && root.starts_with(dir))
        })
        .collect()
}
