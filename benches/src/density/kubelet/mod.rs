//! The density phase with kubelet in the loop (`make bench-density-kubelet`):
//! per peer, a one-node Kubernetes cluster (test_support::kube) whose
//! containerd pulls the peer, packed as the sandbox image, from the
//! project's registry; N pods (kubelet's maxPods, 110) created through the
//! API, each with one container of the workload; the time until all are
//! Ready; the node's memory per pod split into kubelet, containerd, shims,
//! sandboxes and containers; the CPU they spend over an idle minute; then
//! every pod deleted through the API and the node searched until nothing
//! of them is left.
//!
//! Runs in a child process (phase.rs), which writes every peer's run as it
//! ends, so that a failure keeps what was measured before it.

mod left;
mod node;
pub mod phase;
mod pods;

use crate::{Peer, Plan};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The memory of the node, PSS in kB: with no pod, and with every pod Ready.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct NodeMemory {
    pub kubelet_before_kb: u64,
    pub kubelet_with_pods_kb: u64,
    pub containerd_before_kb: u64,
    pub containerd_with_pods_kb: u64,
    /// Sums over every pod.
    pub shims_kb: u64,
    pub sandboxes_kb: u64,
    pub containers_kb: u64,
    /// MemAvailable before and with the pods.
    pub mem_available_before_kb: u64,
    pub mem_available_with_pods_kb: u64,
}

/// CPU time spent while the pods idle, ms, summed over the processes of a kind.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct IdleCpu {
    pub seconds: f64,
    pub kubelet_ms: f64,
    pub containerd_ms: f64,
    pub shims_ms: f64,
    pub sandboxes_ms: f64,
    pub containers_ms: f64,
}

/// One peer's node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub peer: String,
    pub pods: usize,
    /// kubelet's and containerd's versions, as they report them.
    pub kubelet: String,
    pub containerd: String,
    /// Cluster::start until the node is Ready, s.
    pub node_ready_s: f64,
    /// From the first create to every pod Ready (its Ready condition), s.
    pub all_ready_s: f64,
    pub memory: NodeMemory,
    pub idle: IdleCpu,
    /// From the delete to no pod left in the API, s.
    pub deleted_s: f64,
    /// From the delete to nothing of the pods left on the node (kubelet
    /// removes stopped sandboxes in its container GC, once a minute), s.
    pub gone_s: f64,
    /// What was still there at the deadline; empty is the proof.
    pub left: Vec<String>,
}

impl Run {
    /// A per-pod figure: a node's growth or a sum, divided by the pods.
    pub fn per_pod(&self, kb: i64) -> f64 {
        kb as f64 / self.pods as f64
    }
}

/// The child process: one node per peer, rewriting `out` (JSON) after each.
pub fn child(peers: &[Peer], plan: &Plan, arch: &str, out: &Path) {
    let mut done: Vec<Run> = Vec::new();
    for peer in peers {
        eprintln!(
            "density with kubelet: {} × {} pods",
            peer.label, plan.kubelet_pods
        );
        done.push(node::run(peer, plan, arch));
        std::fs::write(out, serde_json::to_vec(&done).expect("json")).expect("write");
    }
}
