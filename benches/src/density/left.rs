//! Proof that a batch left nothing once its pods were stopped and removed,
//! before the node's own teardown (which would hide it): no process or
//! mount naming a pod, no pinned network namespace, no veth on the bridge,
//! no IP still reserved, no cgroup under the node's parent.

use std::path::Path;
use test_support::cri::Node;
use test_support::procfs;

/// Everything found; empty when the batch cleaned up after itself.
pub fn leftovers(node: &Node, ids: &[String], pod_cgroups: &[String]) -> Vec<String> {
    let mut found = on_node(node, ids);
    found.extend(cgroups(&node.cgroup_parent(), pod_cgroups));
    found
}

/// What the node's runtime keeps of pods `ids`: processes naming them (their
/// shims), mounts and network namespaces under its directory, veths, IPs.
pub(super) fn on_node(node: &Node, ids: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (pid, cmdline) in procfs::command_lines() {
        if ids.iter().any(|id| cmdline.contains(id.as_str())) {
            found.push(format!("process {pid}: {cmdline}"));
        }
    }
    for m in procfs::mounts_under(node.dir.path()) {
        found.push(format!("mount {}", m.display()));
    }
    found.extend(named_under(node.dir.path(), "netns", "network namespace"));
    found.extend(veths(node.pid()));
    found.extend(reserved_ips(&node.dir.path().join("cni/ipam")));
    found
}

/// Entries of every directory called `dir_name` under `root`.
fn named_under(root: &Path, dir_name: &str, what: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name() == dir_name {
                let inside = std::fs::read_dir(e.path()).into_iter().flatten().flatten();
                found.extend(inside.map(|n| format!("{what} {}", n.path().display())));
            } else {
                stack.push(e.path());
            }
        }
    }
    found
}

/// veth interfaces left in the node's network namespace (seen through its
/// containerd's /proc/PID/net/dev).
fn veths(containerd: i32) -> Vec<String> {
    let dev = std::fs::read_to_string(format!("/proc/{containerd}/net/dev")).unwrap_or_default();
    dev.lines()
        .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim()))
        .filter(|name| name.starts_with("veth"))
        .map(|name| format!("interface {name}"))
        .collect()
}

/// host-local's reservations: one file per address in use, besides its
/// bookkeeping (last_reserved_ip.N, lock).
fn reserved_ips(ipam: &Path) -> Vec<String> {
    let nets = std::fs::read_dir(ipam).into_iter().flatten().flatten();
    nets.flat_map(|net| {
        std::fs::read_dir(net.path())
            .into_iter()
            .flatten()
            .flatten()
    })
    .map(|f| f.file_name().to_string_lossy().into_owned())
    .filter(|n| !n.starts_with("last_reserved_ip") && n != "lock")
    .map(|n| format!("IP reservation {n}"))
    .collect()
}

/// Removes the pods' own cgroups (kubelet's job, as runc removes only the
/// containers'), which fails if anything is still in them; then reports
/// any cgroup under the node's parent, in every hierarchy.
fn cgroups(node_parent: &str, pod_cgroups: &[String]) -> Vec<String> {
    let hierarchies: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|h| h.path())
        .chain(std::iter::once("/sys/fs/cgroup".into()))
        .collect();
    for h in &hierarchies {
        for pod in pod_cgroups {
            let _ = std::fs::remove_dir(h.join(pod.trim_start_matches('/')));
        }
    }
    let mut found = Vec::new();
    for h in &hierarchies {
        let parent = h.join(node_parent);
        for e in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                found.push(format!("cgroup {}", e.path().display()));
            }
        }
    }
    found
}

/// What other runs have on this host, before or after the phase: their
/// recorded resources still there (`test_support::teardown`), and any node
/// cgroup (`pause-cri.*`, or a Kubernetes node's pod root `pause-kube-*`, in
/// any hierarchy) that is not this run's, such as one a run from before the
/// records existed left, or one of a run recorded in another state
/// directory. A figure measured next to them is not a clean host's.
pub fn others_on_host() -> Vec<String> {
    let mut found = test_support::teardown::others_left();
    let mut nodes = std::collections::BTreeMap::<String, usize>::new();
    for h in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        for e in std::fs::read_dir(h.path()).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let node = name.starts_with("pause-cri.") || name.starts_with("pause-kube-");
            if node && e.file_type().is_ok_and(|t| t.is_dir()) {
                *nodes.entry(name).or_default() += 1;
            }
        }
    }
    for (name, hierarchies) in nodes {
        if !found.iter().any(|f| f.contains(&name)) {
            found.push(format!("cgroup {name} (in {hierarchies} hierarchies)"));
        }
    }
    found
}
