//! What a run found: every figure per peer, and what the report needs
//! besides (machine, plan, sizes of every architecture, the sandbox note).

use crate::machine::Machine;
use crate::{Peer, Plan, density_phase, image, sandbox, stats};
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
    /// The peer's CPU per reaped orphan over the storm, µs: utime+stime,
    /// and the scheduler's run time (see cpu.rs).
    pub reap_cpu_tick_us: Option<stats::Summary>,
    pub reap_cpu_run_us: Option<stats::Summary>,
    pub idle_switches: Option<u64>,
    pub idle_ticks: Option<u64>,
    pub sandbox: Option<sandbox::Figures>,
    pub errors: Vec<String>,
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
    pub density: density_phase::Outcome,
}

/// What `make bench-density` writes: the density phase alone.
#[derive(Debug, Serialize)]
pub struct Density {
    pub command: String,
    pub machine: Machine,
    pub plan: Plan,
    pub peers: Vec<Peer>,
    pub density: density_phase::Outcome,
}

/// Writes the table (also printed), the JSON and the chart into `out`, and
/// checks that the JSON reads back.
pub fn write(results: &Results, out: &std::path::Path) {
    let markdown = crate::report::markdown(results);
    print!("{markdown}");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(out)?;
        std::fs::write(out.join("latest.md"), &markdown)?;
        std::fs::write(
            out.join("latest.json"),
            serde_json::to_string_pretty(results)? + "\n",
        )?;
        std::fs::write(out.join("size-memory.svg"), crate::chart::svg(results))?;
        let density = crate::density_chart::svg(&results.peers, &results.density);
        std::fs::write(out.join("density.svg"), density)?;
        // What machines read must parse back.
        let back: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("latest.json"))?)?;
        if back["measured"].as_array().map(Vec::len) != Some(results.peers.len()) {
            return Err(std::io::Error::other(
                "latest.json does not hold every peer",
            ));
        }
        Ok(())
    };
    if let Err(e) = write() {
        eprintln!("pause-bench: writing {}: {e}", out.display());
        std::process::exit(1);
    }
    eprintln!(
        "pause-bench: wrote {}/latest.md, latest.json, size-memory.svg, density.svg",
        out.display()
    );
}

/// Fails the run when a figure that should have been measured was not.
pub fn exit_if_incomplete(results: &Results) {
    let missing = crate::report::missing(results);
    if !missing.is_empty() {
        for x in &missing {
            eprintln!("pause-bench: not measured: {x}");
        }
        std::process::exit(1);
    }
}

/// Writes the density phase alone (also printed): density.md, density.json
/// and density.svg in `out`.
pub fn write_density(d: &Density, out: &std::path::Path) {
    let m = &d.machine;
    let markdown = format!(
        "Measured by `{}` ({} run) on {}, {} cores, Linux {} ({}), {}, revision {}.\n{}",
        d.command,
        d.plan.mode,
        m.cpu,
        m.cores,
        m.kernel,
        m.os,
        m.date,
        m.revision,
        crate::density_report::markdown(&d.peers, &d.density)
    );
    print!("{markdown}");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(out)?;
        std::fs::write(out.join("density.md"), &markdown)?;
        std::fs::write(
            out.join("density.json"),
            serde_json::to_string_pretty(d)? + "\n",
        )?;
        let svg = crate::density_chart::svg(&d.peers, &d.density);
        std::fs::write(out.join("density.svg"), svg)
    };
    if let Err(e) = write() {
        eprintln!("pause-bench: writing {}: {e}", out.display());
        std::process::exit(1);
    }
    eprintln!(
        "pause-bench: wrote {}/density.md, density.json, density.svg",
        out.display()
    );
}
