//! A long-lived harness for the interrupt suite (tests/interrupt.rs) to
//! signal at chosen moments: it starts one of the harness's resources, says
//! on stdout how far it got, then holds it until a signal ends the run.
//!
//!   hold node PODS        containerd 2.1 with PODS pause pods, 8 at a time
//!   hold registry         the private registry in its network namespace
//!   hold podman           a podman pod as root, this project's infra image
//!   hold podman-rootless  the same as a throwaway user with 65,536 ids
//!   hold kubernetes       a one-node cluster (kubelet 1.37, containerd 2.1)
//!                         with one pod
//!
//! With `--release` it removes what it started once ready, as a test's Drop
//! does, saying "releasing" first, then exits 0. Each line it prints is one
//! step: "starting", "pod N up", "ready", "releasing", "released".

use std::io::Write;
use test_support::command::run;
use test_support::cri::{Containerd, Dialect, NamespaceMode, Node};
use test_support::kube::{Cluster, KubeletSettings, Options, Release};
use test_support::podman::Podman;
use test_support::registry::Registry;
use test_support::repo;
use test_support::rootless::{TunOpen, User};
use test_support::wait::{DEADLINE, wait_for};

fn say(step: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{step}");
    let _ = out.flush();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let release = args.iter().any(|a| a == "--release");
    let what = args.first().map(String::as_str).unwrap_or_default();
    say("starting");
    // Dropped by `--release`; a tuple drops its parts in order.
    let held: Box<dyn std::any::Any> = match what {
        "node" => Box::new(node(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20))),
        "registry" => Box::new(Registry::start_isolated()),
        "podman" => {
            let podman = Podman::new();
            podman_pod(&podman, &repo::built_pause_archive());
            Box::new(podman)
        }
        "kubernetes" => Box::new(kubernetes()),
        "podman-rootless" => {
            let tun = TunOpen::new();
            let user = User::create(65536);
            let podman = Podman::rootless(&user);
            podman_pod(&podman, &user.give_file(&repo::built_pause_archive()));
            Box::new((podman, user, tun))
        }
        _ => {
            eprintln!(
                "usage: hold node PODS | registry | podman | podman-rootless | kubernetes [--release]"
            );
            std::process::exit(2);
        }
    };
    say("ready");
    if release {
        say("releasing");
        drop(held);
        say("released");
        return;
    }
    loop {
        std::thread::park();
    }
}

/// containerd 2.1 with the pause image imported and `pods` sandboxes up,
/// started 8 at a time as kubelet's parallel pod workers would.
fn node(pods: usize) -> Node {
    let node = Node::start_on(Containerd::new("2.1", Dialect::PinnedImagesV3));
    let image = node.sandbox_image.clone();
    node.import(&repo::built_pause_archive(), &image);
    std::thread::scope(|s| {
        for worker in 0..8 {
            let node = &node;
            s.spawn(move || {
                for i in (worker..pods).step_by(8) {
                    let config = node.pod_config(&format!("hold-{i}"), NamespaceMode::Pod, false);
                    node.run_pod(&config);
                    say(&format!("pod {i} up"));
                }
            });
        }
    });
    node
}

/// A pod whose infra container is this project's image, from `archive`.
fn podman_pod(podman: &Podman, archive: &std::path::Path) {
    let image = podman.pull_oci_archive(archive, &repo::version());
    podman.start_pod("hold", &image, &["--network", "none"]);
}

/// A one-node cluster whose one pod runs the sandbox image as its container
/// too (already pulled, so no other image is needed): kubelet's pod cgroups,
/// a sandbox and a container exist when the signal comes.
fn kubernetes() -> Cluster {
    let options = Options {
        kubelet: Release::NEWEST,
        containerd: Containerd::new("2.1", Dialect::PinnedImagesV3),
        sandbox_archive: repo::built_pause_archive(),
        kubelet_settings: KubeletSettings::default(),
        preload: Vec::new(),
        addons: Default::default(),
    };
    let cluster = Cluster::start(options).unwrap_or_else(|e| panic!("{e}"));
    let image = format!("--image={}", cluster.node().sandbox_image);
    // Admission wants the default ServiceAccount, which comes a moment later.
    wait_for("kubectl run to be accepted", DEADLINE, || {
        let r = run(cluster.kubectl(&["run", "hold", &image, "--restart=Never"]));
        r.ok().then_some(()).ok_or_else(|| r.describe())
    });
    wait_for("the pod to run", DEADLINE * 2, || {
        let r = run(cluster.kubectl(&["get", "pod", "hold", "-o", "jsonpath={.status.phase}"]));
        let phase = String::from_utf8_lossy(&r.out.stdout).into_owned();
        (phase == "Running").then_some(()).ok_or(phase)
    });
    cluster
}
