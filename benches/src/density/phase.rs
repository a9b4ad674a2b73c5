//! The density phase, seen from the harness: runs density.rs in a child
//! process (the CRI library panics on failure, and panics abort), removes
//! whatever the child left, and reads the batches it finished.

use super::batch::{Batch, CONTAINERD};
use crate::Bench;
use crate::child;
use crate::sandbox::lifecycle;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use test_support::{ci, teardown};

/// The phase's outcome: the batches, how they were taken, or why not.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Outcome {
    pub note: String,
    /// Whether the phase had to run (runtime present, or CI).
    pub required: bool,
    pub batches: Vec<Batch>,
    /// Why the phase stopped early, if it did.
    pub error: Option<String>,
    /// The phase's wall time, s.
    pub seconds: f64,
    /// What other runs had on the host before or after the phase: when not
    /// empty, the figures are not a clean host's.
    #[serde(default)]
    pub others: Vec<String>,
}

pub fn measure(b: &Bench) -> Outcome {
    let missing = lifecycle::unavailable().or_else(|| CONTAINERD.missing());
    if let Some(why) = missing {
        return Outcome {
            note: format!("not measured: {why}"),
            required: ci::in_ci(),
            ..Default::default()
        };
    }
    let p = &b.plan;
    b.step(&format!(
        "density through containerd {}'s CRI: {:?} pods, 1 and {} at a time; {} with a container",
        CONTAINERD.series, p.density_pods, p.density_width, p.density_container_pods
    ));
    // Earlier runs that are gone are swept first; what is left is a live
    // run's, or one no record knows.
    for line in teardown::sweep() {
        eprintln!("pause-bench: {line}");
    }
    let mut others = super::left::others_on_host();
    let t0 = Instant::now();
    let (batches, error) = run_child(b);
    for o in super::left::others_on_host() {
        if !others.contains(&o) {
            others.push(o);
        }
    }
    let note = format!(
        "containerd {} ({}), runc, cgroupfs ({}), CNI bridge on a /24; a fresh node per batch; \
         each peer packed by the project's packer (xtask) as the pinned sandbox image",
        CONTAINERD.series,
        CONTAINERD.pinned_version().unwrap_or_default(),
        if super::memory::cgroup_v2() {
            "cgroup v2"
        } else {
            "cgroup v1"
        },
    );
    Outcome {
        note,
        required: true,
        batches,
        error,
        seconds: t0.elapsed().as_secs_f64(),
        others,
    }
}

/// Runs the child, cleans up after it and reads the batches it finished.
fn run_child(b: &Bench) -> (Vec<Batch>, Option<String>) {
    let tmp = b.tmp.join("density");
    let json = b.tmp.join("density.json");
    let log = b.tmp.join("density.log");
    b.step(&format!("density: batch by batch in {}", log.display()));
    child::run_collecting("density", child_command(b, &json), &tmp, &json, &log)
}

/// This harness again, as the phase's child, writing to `json`.
fn child_command(b: &Bench, json: &Path) -> std::process::Command {
    let a = &b.args;
    let pods: Vec<String> = b.plan.density_pods.iter().map(|n| n.to_string()).collect();
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("own path"));
    cmd.env("RUST_BACKTRACE", "0")
        .arg("--density-child")
        .arg(json)
        .arg("--density-pods")
        .arg(pods.join(","))
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
