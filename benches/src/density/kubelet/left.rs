//! Proof that deleting the pods through the API left nothing on the node,
//! before the cluster's own teardown (which would hide it): no sandbox,
//! container or shim process, no sandbox in the runtime, no mount, network
//! namespace, veth or IP reservation, no pod cgroup under kubelet's root.
//! kubelet stops a deleted pod at once but removes its stopped sandbox in
//! its container GC, once a minute: the search is repeated until it comes
//! back empty or the deadline passes.

use super::node::PodProcesses;
use std::path::Path;
use std::time::{Duration, Instant};
use test_support::kube::Cluster;
use test_support::kube::kubelet::KubeletFiles;
use test_support::procfs;

/// Two container GC periods of kubelet's (1 min each) and some.
const GONE_WITHIN: Duration = Duration::from_secs(150);

/// A process, told apart from a later one with the same PID.
#[derive(Clone, Copy, Debug)]
pub struct Process {
    pub pid: i32,
    start: u64,
}

impl Process {
    pub fn of(pid: i32) -> Option<Process> {
        procfs::stat(pid).map(|s| Process {
            pid,
            start: s.start,
        })
    }

    pub fn alive(&self) -> bool {
        procfs::stat(self.pid).is_some_and(|s| s.start == self.start && s.state != 'Z')
    }
}

/// Searches until nothing is left (empty) or the deadline since `deleted`
/// passes (what was still there).
pub fn wait_gone(
    cluster: &Cluster,
    ids: &[String],
    pods: &[PodProcesses],
    deleted: Instant,
) -> Vec<String> {
    loop {
        let found = search(cluster, ids, pods);
        if found.is_empty() || deleted.elapsed() > GONE_WITHIN {
            return found;
        }
        // A poll's pause: the next search decides.
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn search(cluster: &Cluster, ids: &[String], pods: &[PodProcesses]) -> Vec<String> {
    let node = cluster.node();
    let mut found = crate::density::left::on_node(node, ids);
    for p in pods {
        let procs = [("sandbox", &p.sandbox), ("shim", &p.shim)]
            .into_iter()
            .chain(p.containers.iter().map(|c| ("container", c)));
        for (what, process) in procs {
            if process.alive() {
                found.push(format!("{what} process {}", process.pid));
            }
        }
    }
    for id in node.list_pods() {
        found.push(format!("sandbox {id} in containerd"));
    }
    // kubelet bind-mounts its root directory on itself (rshared) when it
    // starts: the node's, not a pod's. Everything else under it is a pod's.
    let kubelet_root = KubeletFiles::under(&cluster.layout).root_dir;
    for m in procfs::mounts_under(&cluster.layout.root) {
        if m != kubelet_root {
            found.push(format!("mount {}", m.display()));
        }
    }
    found.extend(pod_cgroups(&cluster.cgroup_root));
    found
}

/// kubelet's pod cgroups (`pod<UID>`, under its QoS classes) left under its
/// cgroupRoot, in every hierarchy.
fn pod_cgroups(root: &str) -> Vec<String> {
    let hierarchies = std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten();
    let mut found = Vec::new();
    for h in hierarchies.flatten() {
        let mut stack = vec![h.path().join(root)];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                if is_pod_cgroup(&e.path()) {
                    found.push(format!("cgroup {}", e.path().display()));
                } else {
                    stack.push(e.path());
                }
            }
        }
    }
    found
}

fn is_pod_cgroup(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("pod"))
}
