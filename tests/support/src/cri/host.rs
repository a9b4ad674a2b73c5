//! What a node leaves on the host, seen from /proc: what a test checks is
//! gone (the teardown that removes it is [`crate::teardown`]'s).

use super::client::Cri;
use crate::procfs;

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
