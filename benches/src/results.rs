//! What a run found: every figure per peer, and what the report needs
//! besides (machine, plan, sizes of every architecture, the sandbox note).

use crate::machine::Machine;
use crate::sandbox::lifecycle;
use crate::{Peer, Plan, density, image, stats};
use serde::Serialize;

/// Everything measured for one peer; a figure is None when it could not be
/// measured, with the reason in `errors`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measured {
    pub binary_bytes: Option<u64>,
    pub image: Option<image::ImageBytes>,
    pub vmrss_kb: Option<stats::Summary>,
    pub rss_kb: Option<stats::Summary>,
    pub pss_kb: Option<stats::Summary>,
    pub instructions: Option<stats::Summary>,
    pub start: Option<stats::Latency>,
    pub stop: Option<stats::Latency>,
    /// The system call the peer waits in once ready.
    pub ready_syscall: Option<String>,
    /// SigBlk, SigIgn, SigCgt while ready.
    pub signal_masks: Option<[String; 3]>,
    pub stop_status: Option<String>,
    pub reap_last_exit_ms: Option<stats::Summary>,
    pub reap_release_ms: Option<stats::Summary>,
    pub zombies_left: Option<usize>,
    /// The peer's CPU per reaped orphan over the storm, µs: the scheduler's
    /// run time (see single/cpu.rs). It moves with the machine's load.
    pub reap_cpu_run_us: Option<stats::Summary>,
    /// Instructions and system calls per reaped orphan, which repeat: one
    /// entry per storm size, 0 orphans first (single/reapcount).
    pub reap_counts: Vec<ReapCount>,
    pub idle_switches: Option<u64>,
    pub idle_ticks: Option<u64>,
    pub sandbox: Option<lifecycle::Figures>,
    pub errors: Vec<String>,
}

/// The counts of one storm size over the runs (single/reapcount): whole
/// lives, and per orphan (less the life without orphans, divided by them).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReapCount {
    pub orphans: usize,
    /// User-space instructions (callgrind) of the whole life.
    pub instructions: Option<stats::Summary>,
    /// System calls (strace -c) from ready to exit.
    pub syscalls: Option<stats::Summary>,
    /// Both, run by run.
    pub instructions_each: Vec<u64>,
    pub syscalls_each: Vec<u64>,
    /// None for the life without orphans.
    pub instructions_per_orphan: Option<stats::Summary>,
    pub syscalls_per_orphan: Option<stats::Summary>,
    /// The calls whose count the orphans changed, per orphan, in the first
    /// run, most first.
    pub syscalls_by_name: Vec<(String, f64)>,
}

#[derive(Debug, Serialize)]
pub struct Results {
    pub command: String,
    pub machine: Machine,
    pub plan: Plan,
    pub peers: Vec<Peer>,
    pub measured: Vec<Measured>,
    /// Sizes of the project's binaries for every architecture.
    pub arch_sizes: Vec<(String, u64)>,
    /// The project's `make oci` archive, when there is one.
    pub oci_archive: Option<(String, Result<image::ImageBytes, String>)>,
    /// How the sandbox lifecycle was measured, or why it was not.
    pub sandbox_note: String,
    /// Whether the sandbox lifecycle had to be measured (runtime present, or CI).
    pub sandbox_required: bool,
    /// The density phase: N pods a node, per peer.
    pub density: density::phase::Outcome,
}

/// What `make bench-density` writes: the density phase alone.
#[derive(Debug, Serialize)]
pub struct Density {
    pub command: String,
    pub machine: Machine,
    pub plan: Plan,
    pub peers: Vec<Peer>,
    pub density: density::phase::Outcome,
}

/// What `make bench-density-kubelet` writes: that phase alone.
#[derive(Debug, Serialize)]
pub struct KubeletDensity {
    pub command: String,
    pub machine: Machine,
    pub plan: Plan,
    pub peers: Vec<Peer>,
    pub kubelet: density::kubelet::phase::Outcome,
}
