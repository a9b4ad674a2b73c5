//! pause-bench: measures the project's pause side by side with what users
//! run today (catatonit in pause mode, and any reference pause binary given
//! with REF_PAUSE), in the same run on the same machine, and writes the table
//! the README shows (Markdown, JSON and an SVG chart).
//!
//! Needs root: every peer runs as PID 1 of a fresh PID namespace.
//!
//! Layout: the run's shared pieces beside this file (arguments, plan, peers,
//! images, statistics, what was measured); single/ the per-process figures,
//! sandbox/ one pod sandbox through CRI, density/ many pods a node; report/
//! turns what was measured into the table, charts and files. Measuring code
//! never imports report/.

mod args;
mod bench;
mod child;
mod density;
mod image;
mod machine;
mod peer;
mod plan;
mod report;
mod results;
mod sandbox;
mod single;
mod stats;

pub use peer::{Peer, container_env};
pub use plan::Plan;
pub use results::{Measured, Results};

use bench::Bench;
use test_support::ci;

fn main() {
    let args = args::parse();
    if !ci::is_root() {
        eprintln!("pause-bench: needs root (every peer runs as PID 1 of a new PID namespace)");
        std::process::exit(1);
    }
    let plan = Plan::new(args.quick)
        .with_density_pods(args.density_pods.clone())
        .with_kubelet_pods(args.kubelet_pods);
    if let Some(out) = &args.sandbox_only {
        sandbox::child(&args, &plan, out);
        return;
    }
    if let Some(out) = &args.density_child {
        density::child(&peer::peers_of(&args), &plan, &args.arch, out);
        return;
    }
    if let Some(out) = &args.density_kubelet_child {
        density::kubelet::child(&peer::peers_of(&args), &plan, &args.arch, out);
        return;
    }
    let bench = Bench::new(args, plan);
    if bench.args.density_kubelet {
        return density_kubelet_only(bench);
    }
    if bench.args.density {
        return density_only(bench);
    }
    if bench.args.reap_counts {
        return reap_counts_only(bench);
    }
    let mut m = vec![Measured::default(); bench.peers.len()];
    let load_start = machine::loadavg();
    let sizes = single::sizes::measure(&bench, &mut m);
    single::callgrind::measure(&bench, &mut m);
    single::latency::measure(&bench, &mut m);
    single::reaping::measure(&bench, &mut m);
    single::reapcount::measure(&bench, &mut m);
    single::idle::measure(&bench, &mut m);
    let sandbox = sandbox::measure(&bench, &mut m);
    let density = density::phase::measure(&bench);
    bench.done(&m, density.error.is_none());
    let out = bench.args.out.clone();
    let results = results(bench, m, sizes, sandbox, density, load_start);
    report::write(&results, &out);
    report::exit_if_incomplete(&results);
}

/// `make bench-density`: the density phase alone, written beside the
/// table as density.md, density.json and density.svg.
fn density_only(bench: Bench) {
    let load_start = machine::loadavg();
    let density = density::phase::measure(&bench);
    bench.done(&[], density.error.is_none());
    let written = results::Density {
        command: bench.args.command.clone(),
        machine: machine::machine(load_start),
        plan: bench.plan.clone(),
        peers: bench.peers.clone(),
        density,
    };
    report::write_density(&written, &bench.args.out);
    let missing = report::density::missing(&written.plan, &written.peers, &written.density);
    if !missing.is_empty() {
        for x in &missing {
            eprintln!("pause-bench: not measured: {x}");
        }
        std::process::exit(1);
    }
}

/// `make bench-density-kubelet`: the density phase with kubelet in the
/// loop, written beside the table as density-kubelet.md and .json.
fn density_kubelet_only(bench: Bench) {
    let load_start = machine::loadavg();
    let kubelet = density::kubelet::phase::measure(&bench);
    bench.done(&[], kubelet.error.is_none());
    let written = results::KubeletDensity {
        command: bench.args.command.clone(),
        machine: machine::machine(load_start),
        plan: bench.plan.clone(),
        peers: bench.peers.clone(),
        kubelet,
    };
    report::write_kubelet_density(&written, &bench.args.out);
    let missing = report::kubelet::missing(&written.peers, &written.kubelet);
    if !missing.is_empty() {
        for x in &missing {
            eprintln!("pause-bench: not measured: {x}");
        }
        std::process::exit(1);
    }
}

/// `make bench-reapcount`: the reaping counts alone, written beside the
/// table as reapcount.md and reapcount.json.
fn reap_counts_only(bench: Bench) {
    let load_start = machine::loadavg();
    let mut m = vec![Measured::default(); bench.peers.len()];
    single::reapcount::measure(&bench, &mut m);
    bench.done(&m, true);
    let out = bench.args.out.clone();
    let results = results(
        bench,
        m,
        single::sizes::Sizes::none(),
        sandbox::Outcome::default(),
        density::phase::Outcome::default(),
        load_start,
    );
    report::write_reap_counts(&results, &out);
}

/// Everything the run found, for the report.
fn results(
    bench: Bench,
    measured: Vec<Measured>,
    sizes: single::sizes::Sizes,
    sandbox: sandbox::Outcome,
    density: density::phase::Outcome,
    load_start: String,
) -> Results {
    Results {
        command: bench.args.command,
        machine: machine::machine(load_start),
        plan: bench.plan,
        peers: bench.peers,
        measured,
        arch_sizes: sizes.arch_sizes,
        oci_archive: sizes.oci_archive,
        sandbox_note: sandbox.note,
        sandbox_required: sandbox.required,
        density,
    }
}
