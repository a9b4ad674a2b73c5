//! The command line.

use std::path::PathBuf;
use test_support::repo;

pub struct Args {
    pub quick: bool,
    pub out: PathBuf,
    pub bin_dir: PathBuf,
    pub arch: String,
    pub catatonit: PathBuf,
    pub reference: Option<PathBuf>,
    pub oci_archive: PathBuf,
    pub command: String,
    /// Set in the child process of the sandbox phase: where it writes its
    /// figures (see sandbox/mod.rs).
    pub sandbox_only: Option<PathBuf>,
    /// Only the density phase (`make bench-density`).
    pub density: bool,
    /// Set in the child process of the density phase: where it writes.
    pub density_child: Option<PathBuf>,
    /// Only the reaping counts (`make bench-reapcount`).
    pub reap_counts: bool,
    /// Node sizes instead of the plan's (`--density-pods 10,110`).
    pub density_pods: Option<Vec<usize>>,
    /// Only the density phase with kubelet (`make bench-density-kubelet`).
    pub density_kubelet: bool,
    /// Set in its child process: where it writes.
    pub density_kubelet_child: Option<PathBuf>,
    /// Pods a node in that phase instead of the plan's (`--kubelet-pods 30`).
    pub kubelet_pods: Option<usize>,
}

fn usage() -> ! {
    eprintln!(
        "usage: pause-bench [--quick] [--out DIR] [--bin-dir DIR] [--arch ARCH] [--catatonit PATH]\n\
         \x20                  [--ref PATH] [--oci-archive PATH] [--command TEXT]\n\
         \x20                  [--density] [--density-pods N,N,...] [--reap-counts]\n\
         \x20                  [--density-kubelet] [--kubelet-pods N]\n\
         --density runs only the node-density phase (writes density.md, density.json, density.svg).\n\
         --density-kubelet runs only the node-density phase with kubelet in the loop\n\
         \x20 (writes density-kubelet.md, density-kubelet.json).\n\
         --reap-counts runs only the reaping counts (writes reapcount.md, reapcount.json).\n\
         REF_PAUSE=/path/to/pause in the environment is the same as --ref."
    );
    std::process::exit(2)
}

pub fn parse() -> Args {
    let mut a = Args {
        quick: false,
        out: repo::path("benches/results"),
        bin_dir: repo::path("bin"),
        arch: "amd64".into(),
        catatonit: PathBuf::from("/usr/bin/catatonit"),
        reference: std::env::var_os("REF_PAUSE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        oci_archive: repo::pause_archive(),
        command: "pause-bench".into(),
        sandbox_only: None,
        density: false,
        density_child: None,
        density_pods: None,
        reap_counts: false,
        density_kubelet: false,
        density_kubelet_child: None,
        kubelet_pods: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--out" => a.out = val().into(),
            "--bin-dir" => a.bin_dir = val().into(),
            "--arch" => a.arch = val(),
            "--catatonit" => a.catatonit = val().into(),
            "--ref" => {
                a.reference = Some(val().into()).filter(|p: &PathBuf| !p.as_os_str().is_empty())
            }
            "--oci-archive" => a.oci_archive = val().into(),
            "--command" => a.command = val(),
            "--sandbox-only" => a.sandbox_only = Some(val().into()),
            "--density" => a.density = true,
            "--reap-counts" => a.reap_counts = true,
            "--density-child" => a.density_child = Some(val().into()),
            "--density-pods" => a.density_pods = Some(pod_counts(&val())),
            "--density-kubelet" => a.density_kubelet = true,
            "--density-kubelet-child" => a.density_kubelet_child = Some(val().into()),
            "--kubelet-pods" => a.kubelet_pods = Some(kubelet_pods(&val())),
            _ => usage(),
        }
    }
    a
}

/// "10,110,250" -> [10, 110, 250]; anything else is a usage error.
fn pod_counts(text: &str) -> Vec<usize> {
    let counts: Result<Vec<usize>, _> = text.split(',').map(|n| n.trim().parse()).collect();
    match counts {
        // The CNI bridge's /24 holds 253 pods besides its gateway.
        Ok(c) if !c.is_empty() && c.iter().all(|&n| (1..=253).contains(&n)) => c,
        _ => {
            eprintln!(
                "pause-bench: --density-pods wants counts 1..=253 separated by commas, not {text:?}"
            );
            usage()
        }
    }
}

/// Pods a node with kubelet: 1 to its maxPods default, 110.
fn kubelet_pods(text: &str) -> usize {
    match text.trim().parse() {
        Ok(n) if (1..=110).contains(&n) => n,
        _ => {
            eprintln!("pause-bench: --kubelet-pods wants a count 1..=110 (maxPods), not {text:?}");
            usage()
        }
    }
}
