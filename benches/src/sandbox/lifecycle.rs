//! Sandbox lifecycle through containerd's CRI, the way kubelet drives it:
//! RunPodSandbox until the pod is READY, then StopPodSandbox. One private
//! containerd per peer (the CRI suite's `test_support::cri::Node`), each with the
//! peer packed by the project's own packer (`xtask`) under the sandbox
//! image reference that containerd is configured with; runs interleaved.
//!
//! Runs in a child process of the harness: the CRI library panics on
//! failure, and panics abort.

use crate::stats::{self, Summary};
use crate::{Peer, image};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use test_support::cri::{NamespaceMode, Node};
use test_support::spawn;
use test_support::wait::DEADLINE;

/// Polls until the process runs the peer's binary (runc's init has exec'd).
pub fn wait_exec(pid: Pid, image_name: &str) {
    let start = Instant::now();
    loop {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .unwrap_or_else(|e| panic!("sandbox process {pid}: {e}"));
        if exe.file_name() == Path::new(image_name).file_name() {
            return;
        }
        if start.elapsed() > DEADLINE {
            panic!(
                "sandbox process {pid} runs {}, not /{image_name}",
                exe.display()
            );
        }
        std::thread::yield_now();
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lifecycle {
    /// RunPodSandbox until PodSandboxStatus says READY, ms.
    pub run_ms: Vec<f64>,
    /// StopPodSandbox, ms.
    pub stop_ms: Vec<f64>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figures {
    pub run_ms: Summary,
    pub stop_ms: Summary,
}

impl Lifecycle {
    pub fn figures(&self) -> Option<Figures> {
        Some(Figures {
            run_ms: stats::summary(&self.run_ms)?,
            stop_ms: stats::summary(&self.stop_ms)?,
        })
    }
}

/// Why the figure cannot be measured here, if it cannot.
pub fn unavailable() -> Option<String> {
    test_support::cri::missing_requirements()
}

pub fn runtime_version() -> String {
    std::process::Command::new("containerd")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Measures every peer; `runs` measured pods per peer after one warm-up pod.
pub fn measure(peers: &[Peer], arch: &str, runs: usize) -> Vec<Lifecycle> {
    let nodes: Vec<Node> = peers.iter().map(|_| Node::start()).collect();
    for (peer, node) in peers.iter().zip(&nodes) {
        import_as_sandbox_image(node, peer, arch);
    }
    let mut out: Vec<Lifecycle> = peers
        .iter()
        .map(|_| Lifecycle {
            run_ms: vec![],
            stop_ms: vec![],
        })
        .collect();
    let n = peers.len();
    for run in 0..=runs {
        for j in 0..n {
            let i = (run + j) % n;
            let (run_ms, stop_ms) = one_pod(&nodes[i], &peers[i], run);
            if run > 0 {
                out[i].run_ms.push(run_ms);
                out[i].stop_ms.push(stop_ms);
            }
        }
    }
    drop(nodes);
    out
}

/// Packs `peer` under the sandbox image reference `node` is configured
/// with, and imports it.
pub fn import_as_sandbox_image(node: &Node, peer: &Peer, arch: &str) {
    let (name, tag) = node
        .sandbox_image
        .rsplit_once(':')
        .expect("sandbox image reference with a tag");
    let built = image::pack(peer, arch, name, tag).expect("pack sandbox image");
    let archive = node.dir.path().join("sandbox.tar");
    std::fs::write(&archive, built.archive).expect("write sandbox image");
    node.import(&archive, &node.sandbox_image);
}

/// One pod of `peer`: (RunPodSandbox until ready, StopPodSandbox), in ms.
fn one_pod(node: &Node, peer: &Peer, run: usize) -> (f64, f64) {
    let pod = node.pod_config(&format!("bench-{run}"), NamespaceMode::Container, false);
    let t0 = Instant::now();
    let sandbox = node.run_pod(&pod);
    // CRI reports READY once runc has started the sandbox's init,
    // which may not have exec'd the peer yet: ready is when the
    // peer itself sleeps in its wait, as in the other figures.
    let pid = Pid::from_raw(sandbox.pid);
    wait_exec(pid, &peer.image_name);
    spawn::wait_ready(pid, DEADLINE).unwrap_or_else(|e| panic!("sandbox of {}: {e}", peer.label));
    let run_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    node.stop_pod(&sandbox.id);
    let stop_ms = t1.elapsed().as_secs_f64() * 1e3;
    node.remove_pod(&sandbox.id);
    (run_ms, stop_ms)
}
