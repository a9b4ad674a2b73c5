//! The kubelet density phase, seen from the harness: runs the peers' nodes
//! in a child process (child.rs), removes whatever the child left, and
//! reads the runs it finished.

use super::Run;
use crate::Bench;
use crate::child;
use crate::density::batch::CONTAINERD;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use test_support::kube::{Cluster, Release};
use test_support::{ci, teardown};

/// The phase's outcome: a run per peer, how they were taken, or why not.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Outcome {
    pub note: String,
    /// Whether the phase had to run (everything present, or CI).
    pub required: bool,
    pub runs: Vec<Run>,
    /// Why the phase stopped early, if it did.
    pub error: Option<String>,
    /// The phase's wall time, s.
    pub seconds: f64,
    /// What other runs had on the host before or after the phase: when not
    /// empty, the figures are not a clean host's.
    pub others: Vec<String>,
}

pub fn measure(b: &Bench) -> Outcome {
    if let Some(why) = Cluster::missing(Release::NEWEST, CONTAINERD) {
        return Outcome {
            note: format!("not measured: {why}"),
            required: ci::in_ci(),
            ..Default::default()
        };
    }
    b.step(&format!(
        "density with kubelet {}: {} pods a node, idle {} s, per peer",
        Release::NEWEST.version(),
        b.plan.kubelet_pods,
        b.plan.kubelet_idle_seconds
    ));
    for line in teardown::sweep() {
        eprintln!("pause-bench: {line}");
    }
    let mut others = crate::density::left::others_on_host();
    let t0 = Instant::now();
    let (runs, error) = run_child(b);
    for o in crate::density::left::others_on_host() {
        if !others.contains(&o) {
            others.push(o);
        }
    }
    let note = format!(
        "one-node cluster (tests/support/src/kube): kubelet {} (cgroupfs, cgroup v1, maxPods 110), \
         containerd {} ({}), runc, CNI bridge; the sandbox image pulled from the project's loopback \
         registry; each pod one container of the workload (`workload serve`); a fresh cluster per peer",
        Release::NEWEST.version(),
        CONTAINERD.series,
        CONTAINERD.pinned_version().unwrap_or_default(),
    );
    Outcome {
        note,
        required: true,
        runs,
        error,
        seconds: t0.elapsed().as_secs_f64(),
        others,
    }
}

fn run_child(b: &Bench) -> (Vec<Run>, Option<String>) {
    let tmp = b.tmp.join("density-kubelet");
    let json = b.tmp.join("density-kubelet.json");
    let log = b.tmp.join("density-kubelet.log");
    b.step(&format!(
        "density with kubelet: logged in {}",
        log.display()
    ));
    child::run_collecting(
        "kubelet density",
        child_command(b, &json),
        &tmp,
        &json,
        &log,
    )
}

/// This harness again, as the phase's child, writing to `json`.
fn child_command(b: &Bench, json: &Path) -> std::process::Command {
    let a = &b.args;
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("own path"));
    cmd.env("RUST_BACKTRACE", "0")
        .arg("--density-kubelet-child")
        .arg(json)
        .arg("--kubelet-pods")
        .arg(b.plan.kubelet_pods.to_string())
        .arg("--bin-dir")
        .arg(&a.bin_dir)
        .arg("--arch")
        .arg(&a.arch)
        .arg("--catatonit")
        .arg(&a.catatonit)
        .arg("--ref")
        .arg(a.reference.clone().unwrap_or_default());
    if a.quick {
        cmd.arg("--quick");
    }
    cmd
}
