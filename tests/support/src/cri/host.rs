//! What a node leaves on the host, seen from /proc and /sys: what a test
//! checks is gone, and what the teardown removes.

use super::client::Cri;
use crate::procfs;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::Path;

impl Cri {
    /// Processes and mounts that still mention `id` (a sandbox or container
    /// id): shims carry it on their command line, rootfs/shm/netns mounts in
    /// their paths.
    pub fn leftovers(&self, id: &str) -> Vec<String> {
        let processes = procfs::command_lines()
            .into_iter()
            .filter(|(_, cmdline)| cmdline.contains(id))
            .map(|(pid, cmdline)| format!("process {pid}: {cmdline}"));
        let mounts = procfs::mount_points()
            .into_iter()
            .filter(|m| m.contains(id))
            .map(|m| format!("mount {m}"));
        processes.chain(mounts).collect()
    }
}

/// Kills anything still tied to the node in `dir`: shims and monitors
/// (their command line names a path in it: the socket, a bundle) and
/// processes whose root is inside it. Returns how many it signalled.
pub(super) fn kill_leftovers(dir: &Path) -> usize {
    let named = dir.display().to_string();
    let mut killed = 0;
    for (pid, cmdline) in procfs::command_lines() {
        let root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap_or_default();
        let tied = cmdline.contains(&named) || root.starts_with(dir);
        if tied && procfs::alive(pid) && kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
            killed += 1;
        }
    }
    killed
}

/// Removes a node's pods' cgroup parent in every hierarchy: empty
/// directories only.
pub(super) fn remove_cgroups(parent: &str) {
    if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in hierarchies.flatten() {
            remove_cgroup_tree(&h.path().join(parent));
        }
    }
}

/// rmdir of a cgroup directory and its sub-cgroups, deepest first.
fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}
