//! pause-bench: measures the project's pause side by side with what users
//! run today (catatonit in pause mode, and any reference pause binary given
//! with REF_PAUSE), in the same run on the same machine, and writes the table
//! the README shows (Markdown, JSON and an SVG chart).
//!
//! Needs root: every peer runs as PID 1 of a fresh PID namespace.

mod args;
mod callgrind;
mod chart;
mod cpu;
mod density;
mod density_batch;
mod density_chart;
mod density_left;
mod density_memory;
mod density_phase;
mod density_pods;
mod density_report;
mod idle;
mod image;
mod latency;
mod machine;
mod peer;
mod plan;
mod reaping;
mod report;
mod results;
mod sandbox;
mod sandbox_phase;
mod sizes;
mod stats;

pub use peer::{Peer, container_env};
pub use plan::Plan;
pub use results::{Measured, Results};

use args::Args;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Instant;
use test_support::ci;

fn main() {
    let args = args::parse();
    if !ci::is_root() {
        eprintln!("pause-bench: needs root (every peer runs as PID 1 of a new PID namespace)");
        std::process::exit(1);
    }
    let plan = Plan::new(args.quick).with_density_pods(args.density_pods.clone());
    if let Some(out) = &args.sandbox_only {
        sandbox_phase::child(&args, &plan, out);
        return;
    }
    if let Some(out) = &args.density_child {
        density::child(&peer::peers_of(&args), &plan, &args.arch, out);
        return;
    }
    let bench = Bench::new(args, plan);
    if bench.args.density {
        return density_only(bench);
    }
    let mut m = vec![Measured::default(); bench.peers.len()];
    let load_start = machine::loadavg();
    let sizes = sizes::measure(&bench, &mut m);
    callgrind::measure(&bench, &mut m);
    latency::measure(&bench, &mut m);
    reaping::measure(&bench, &mut m);
    idle::measure(&bench, &mut m);
    let sandbox = sandbox_phase::measure(&bench, &mut m);
    let density = density_phase::measure(&bench);
    bench.done(&m, density.error.is_none());
    let out = bench.args.out.clone();
    let results = bench.results(m, sizes, sandbox, density, load_start);
    results::write(&results, &out);
    results::exit_if_incomplete(&results);
}

/// `make bench-density`: the density phase alone, written beside the
/// table as density.md, density.json and density.svg.
fn density_only(bench: Bench) {
    let load_start = machine::loadavg();
    let density = density_phase::measure(&bench);
    bench.done(&[], density.error.is_none());
    let written = results::Density {
        command: bench.args.command.clone(),
        machine: machine::machine(load_start),
        plan: bench.plan.clone(),
        peers: bench.peers.clone(),
        density,
    };
    results::write_density(&written, &bench.args.out);
    let missing = density_report::missing(&written.plan, &written.peers, &written.density);
    if !missing.is_empty() {
        for x in &missing {
            eprintln!("pause-bench: not measured: {x}");
        }
        std::process::exit(1);
    }
}

/// What every measurement step shares.
pub struct Bench {
    pub args: Args,
    pub plan: Plan,
    pub peers: Vec<Peer>,
    /// Where the peers' output goes.
    pub null: OwnedFd,
    /// The run's files (callgrind output, images, the sandbox phase's
    /// state); kept when something failed.
    pub tmp: PathBuf,
    started: Instant,
}

impl Bench {
    /// Checks the peers (exits when one is missing) and sets up the run.
    fn new(args: Args, plan: Plan) -> Self {
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .expect("open /dev/null")
            .into();
        let tmp = std::env::temp_dir().join(format!("pause-bench.{}", std::process::id()));
        std::fs::create_dir_all(&tmp).expect("create temp dir");
        let peers = peer::checked(&args);
        Bench {
            args,
            plan,
            peers,
            null,
            tmp,
            started: Instant::now(),
        }
    }

    /// Says what the run does now, and since when it runs.
    pub fn step(&self, what: &str) {
        eprintln!("[{:6.1}s] {what}", self.started.elapsed().as_secs_f64());
    }

    /// Ends the measurements: the run's files go, unless something failed.
    fn done(&self, m: &[Measured], density_ok: bool) {
        self.step("done");
        if density_ok && m.iter().all(|x| x.errors.is_empty()) {
            let _ = std::fs::remove_dir_all(&self.tmp);
        } else {
            eprintln!("pause-bench: kept {} for inspection", self.tmp.display());
        }
    }

    fn results(
        self,
        measured: Vec<Measured>,
        sizes: sizes::Sizes,
        sandbox: sandbox_phase::Outcome,
        density: density_phase::Outcome,
        load_start: String,
    ) -> Results {
        Results {
            command: self.args.command,
            machine: machine::machine(load_start),
            plan: self.plan,
            peers: self.peers,
            measured,
            arch_sizes: sizes.arch_sizes,
            oci_archive: sizes.oci_archive,
            sandbox_note: sandbox.note,
            sandbox_required: sandbox.required,
            density,
        }
    }
}
