//! The sandbox lifecycle phase, seen from the harness: it runs lifecycle.rs
//! in a child process of its own (the CRI library panics on failure, and
//! panics abort), then removes whatever the child left and reads its
//! figures.

pub mod lifecycle;

use crate::args::Args;
use crate::{Bench, Measured, Plan, child, peer};
use std::path::Path;
use test_support::ci;

/// How the sandbox figure was taken, or why not.
#[derive(Default)]
pub struct Outcome {
    pub note: String,
    /// Whether the figure had to be measured (runtime present, or CI).
    pub required: bool,
}

/// The child process: measures and writes the figures as JSON to `out`.
pub fn child(args: &Args, plan: &Plan, out: &Path) {
    let peers = peer::peers_of(args);
    let figures = lifecycle::measure(&peers, &args.arch, plan.sandbox_runs);
    std::fs::write(out, serde_json::to_vec(&figures).expect("json")).expect("write");
}

pub fn measure(b: &Bench, m: &mut [Measured]) -> Outcome {
    let runtime = lifecycle::runtime_version();
    if let Some(why) = lifecycle::unavailable() {
        return Outcome {
            note: format!("not measured: {why}"),
            required: ci::in_ci(),
        };
    }
    b.step(&format!(
        "sandbox lifecycle through containerd's CRI: {} pods per peer (+1 warm-up)",
        b.plan.sandbox_runs
    ));
    match run_child(b) {
        Ok(v) => {
            for (x, l) in m.iter_mut().zip(&v) {
                x.sandbox = l.figures();
            }
            let note = format!(
                "{runtime}, runc, CNI bridge; each peer packed by the project's packer \
                 (xtask) as the configured sandbox image; {} pods per peer, interleaved",
                b.plan.sandbox_runs
            );
            Outcome {
                note,
                required: true,
            }
        }
        Err(e) => {
            for x in m.iter_mut() {
                x.errors.push(format!("sandbox lifecycle: {e}"));
            }
            Outcome {
                note: "not measured: the CRI run failed (see Errors)".into(),
                required: true,
            }
        }
    }
}

/// Runs the child, cleans up after it and reads what it measured.
fn run_child(b: &Bench) -> Result<Vec<lifecycle::Lifecycle>, String> {
    // The phase's temp dirs (containerd's state) live under ours, so
    // whatever it leaves behind, even after an abort, is found.
    let sandbox_tmp = b.tmp.join("sandbox");
    let json = b.tmp.join("sandbox.json");
    let log = b.tmp.join("sandbox.log");
    let cmd = child_command(&b.args, &json);
    match child::run("sandbox", cmd, &sandbox_tmp, &log) {
        Ok(st) if st.success() => std::fs::read(&json)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())),
        Ok(st) => Err(child::failure(st, &log)),
        Err(e) => Err(e.to_string()),
    }
}

/// This harness again, as the child of the phase, writing to `json`.
fn child_command(args: &Args, json: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("own path"));
    cmd.env("RUST_BACKTRACE", "0")
        .arg("--sandbox-only")
        .arg(json)
        .arg("--bin-dir")
        .arg(&args.bin_dir)
        .arg("--arch")
        .arg(&args.arch)
        .arg("--catatonit")
        .arg(&args.catatonit)
        .arg("--ref")
        .arg(args.reference.clone().unwrap_or_default());
    if args.quick {
        cmd.arg("--quick");
    }
    cmd
}
