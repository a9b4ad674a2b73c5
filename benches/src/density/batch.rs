//! One batch of the density phase: a fresh node of one peer, N pods started
//! `width` at a time until all are READY, their memory read, then all
//! stopped and removed, and what was left looked for.
//!
//! A fresh containerd per batch, not one per peer reused: containerd is a Go
//! program whose heap does not shrink back when pods go, so its RSS growth
//! and MemAvailable in a batch would depend on the batches before it; a
//! node's start (about a second) is little beside a batch.

use super::memory::{self as mem, NodeReading, PerPod, Resident};
use super::pods::{self as pods, Container, Started};
use crate::Peer;
use crate::sandbox::lifecycle;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use test_support::cri::{Containerd, Dialect, NamespaceMode, Node, pack_workload};
use test_support::procfs;
use test_support::spawn;
use test_support::wait::DEADLINE;

/// What current clusters run: containerd 2.1, config version 3.
pub const CONTAINERD: Containerd = Containerd::new("2.1", Dialect::PinnedImagesV3);

/// What a batch is: which peer, how many pods, how many started at once,
/// and whether each pod runs a container of the workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shape {
    pub peer: String,
    pub pods: usize,
    pub width: usize,
    pub with_container: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch {
    pub shape: Shape,
    /// From the first RunPodSandbox to the last pod READY, s.
    pub ready_s: f64,
    pub sandbox: PerPod,
    pub shim: PerPod,
    pub container: Option<PerPod>,
    /// Each pod's own cgroup (sandbox and container), kB.
    pub cgroup_kb: crate::stats::Summary,
    pub before: NodeReading,
    pub with_pods: NodeReading,
    pub after: NodeReading,
    /// Stop and remove every pod, s.
    pub teardown_s: f64,
    /// What was left after the teardown; empty is the proof.
    pub left: Vec<String>,
}

/// Runs one batch of `peer`; panics on any CRI failure (the phase runs in a
/// child process, see phase.rs).
pub fn run(shape: &Shape, peer: &Peer, arch: &str) -> Batch {
    let node = Node::start_on(CONTAINERD);
    lifecycle::import_as_sandbox_image(&node, peer, arch);
    let container = shape.with_container.then(|| {
        let w = pack_workload(node.dir.path());
        node.import(&w.archive, &w.reference);
        Container {
            image: w.reference,
            command: vec!["/workload".into(), "serve".into()],
        }
    });
    let configs: Vec<_> = (0..shape.pods).map(|i| pod_config(&node, i)).collect();
    let cgroups: Vec<String> = configs.iter().map(cgroup_of).collect();
    let before = reading(&node);
    let t0 = Instant::now();
    let started = pods::start(&node, &configs, shape.width, container.as_ref());
    let ready_s = t0.elapsed().as_secs_f64();
    let started: Vec<Started> = started
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}\n{}", node.log_tail())))
        .collect();
    let memory = memory_of(&node, peer, &started, &cgroups);
    let with_pods = reading(&node);
    let t1 = Instant::now();
    for r in pods::stop_and_remove(&node, &started, shape.width) {
        r.unwrap_or_else(|e| panic!("{e}\n{}", node.log_tail()));
    }
    let teardown_s = t1.elapsed().as_secs_f64();
    let ids: Vec<String> = started
        .iter()
        .flat_map(|s| std::iter::once(s.sandbox.clone()).chain(s.container.clone()))
        .collect();
    let left = super::left::leftovers(&node, &ids, &cgroups);
    let after = reading(&node);
    Batch {
        shape: shape.clone(),
        ready_s,
        sandbox: memory.sandbox,
        shim: memory.shim,
        container: memory.container,
        cgroup_kb: memory.cgroup_kb,
        before,
        with_pods,
        after,
        teardown_s,
        left,
    }
}

/// The pod config kubelet sends, with the pod's own cgroup under the
/// node's parent, as kubelet gives each pod /kubepods/.../podUID.
fn pod_config(node: &Node, i: usize) -> test_support::cri::api::PodSandboxConfig {
    let mut c = node.pod_config(&format!("density-{i}"), NamespaceMode::Container, false);
    let linux = c.linux.as_mut().expect("linux config");
    linux.cgroup_parent = format!("/{}/pod-{i}", node.cgroup_parent());
    c
}

fn cgroup_of(c: &test_support::cri::api::PodSandboxConfig) -> String {
    c.linux
        .as_ref()
        .expect("linux config")
        .cgroup_parent
        .clone()
}

fn reading(node: &Node) -> NodeReading {
    mem::node_reading(node.pid()).unwrap_or_else(|e| panic!("node memory: {e}"))
}

struct Memory {
    sandbox: PerPod,
    shim: PerPod,
    container: Option<PerPod>,
    cgroup_kb: crate::stats::Summary,
}

/// Every pod's sandbox process (once it runs the peer and waits), its shim
/// (the sandbox's parent), its container and its cgroup.
fn memory_of(node: &Node, peer: &Peer, started: &[Started], cgroups: &[String]) -> Memory {
    let (mut sandboxes, mut shims, mut containers, mut cg) = (vec![], vec![], vec![], vec![]);
    for (s, cgroup) in started.iter().zip(cgroups) {
        let pid = node.pod_status(&s.sandbox).1["pid"]
            .as_i64()
            .expect("verbose status has the sandbox pid") as i32;
        lifecycle::wait_exec(nix::unistd::Pid::from_raw(pid), &peer.image_name);
        spawn::wait_ready(nix::unistd::Pid::from_raw(pid), DEADLINE)
            .unwrap_or_else(|e| panic!("sandbox of {}: {e}", peer.label));
        let shim = procfs::stat(pid).expect("sandbox stat").ppid;
        sandboxes.push(must(mem::resident(pid)));
        shims.push(must(mem::resident(shim)));
        if let Some(c) = &s.container {
            containers.push(must(mem::resident(node.container_pid(c))));
        }
        cg.push(must(mem::cgroup_kb(cgroup)) as f64);
    }
    let per = |v: &[Resident]| mem::per_pod(v).expect("at least one pod");
    Memory {
        sandbox: per(&sandboxes),
        shim: per(&shims),
        container: (!containers.is_empty()).then(|| per(&containers)),
        cgroup_kb: crate::stats::summary(&cg).expect("at least one pod"),
    }
}

fn must<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}
