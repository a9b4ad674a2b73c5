//! The pause image as the infra container of a podman pod that shares its
//! PID, network and IPC namespaces, with the test workload in the pod. Podman
//! runs with a store, run root, configuration and event log of its own in a
//! temporary directory (runc, cgroupfs, no systemd), so nothing is left on the
//! host. Needs root, podman, runc and conmon, the project's archive
//! (`make oci`, or $PAUSE_OCI_ARCHIVE) and a docker-archive of the workload
//! image ($WORKLOAD_ARCHIVE); `make test-e2e-podman` provides all of them.
//! Podman runs infra containers as root whatever the image says: the user
//! checked is root (pause_e2e::sandbox_user).

use pause_e2e::*;
use std::path::{Path, PathBuf};
use std::time::Instant;
use test_support::ci::{is_root, require};
use test_support::command::Run;
use test_support::podman::{self, Podman};
use test_support::procfs::namespace;
use test_support::repo::pause_archive;

const ORPHANS_LIVE: usize = 150;
const ORPHANS_SHORT: usize = 200;

fn workload_archive() -> Option<PathBuf> {
    std::env::var_os("WORKLOAD_ARCHIVE")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

#[test]
fn pause_as_infra_container_of_a_podman_pod() {
    if !require(is_root(), "root") {
        return;
    }
    if !podman::ready() {
        return;
    }
    let pause_tar = pause_archive();
    let (true, Some(workload_tar)) = (pause_tar.is_file(), workload_archive()) else {
        require(
            false,
            "bin/pause-oci.tar and $WORKLOAD_ARCHIVE (make test-e2e-podman)",
        );
        return;
    };
    let podman = Podman::new();
    let pod = Pod::start(&podman, &pause_tar, &workload_tar);
    let pause = pod.pause;
    pause_e2e::assert_pid1_of_pod(pause);
    sandbox_user::assert_sandbox_credentials(pause, &sandbox_user::PODMAN_ROOT);

    let info = pod.workload(&["info"], None).check().stdout();
    assert_eq!(
        Report::parse(&info).get("pid1"),
        Some("/pause"),
        "workload info: {info}"
    );

    live_orphans_are_adopted_then_reaped(&pod);

    // Orphans that exit once adopted: the workload sees each one reaped.
    let line = pod
        .workload(&["orphans", &ORPHANS_SHORT.to_string()], None)
        .check()
        .stdout();
    assert_orphans_reaped_in_pod(&line, ORPHANS_SHORT);
    assert_all_reaped(pause);

    stop_ends_pause_with_0_at_once(&pod);
}

/// A started podman pod whose infra container is pause, sharing its PID,
/// network and IPC namespaces, and the workload image to run in it.
struct Pod<'a> {
    podman: &'a Podman,
    name: String,
    infra: String,
    /// Host PID of pause.
    pause: i32,
    workload: String,
}

impl<'a> Pod<'a> {
    /// Loads both images, creates and starts the pod, and waits until pause
    /// waits for signals.
    fn start(podman: &'a Podman, pause_tar: &Path, workload_tar: &Path) -> Pod<'a> {
        let pause_image = podman.pull_oci_archive(pause_tar, &test_support::repo::version());
        let workload = podman.load(workload_tar);
        let name = unique("pod");
        let (infra, pause) = podman.start_pod(&name, &pause_image, &["--network", "none"]);
        Pod {
            podman,
            name,
            infra,
            pause,
            workload,
        }
    }

    /// Runs the workload in the pod: detached as container `detach`, or to
    /// completion and removed.
    fn workload(&self, args: &[&str], detach: Option<&str>) -> Run {
        let mut a = vec!["run", "--pull", "never", "--pod", &self.name];
        match detach {
            Some(name) => a.extend(["-d", "--name", name]),
            None => a.push("--rm"),
        }
        a.push(&self.workload);
        a.extend(args);
        self.podman.run(&a)
    }
}

/// Orphans alive until the workload stops: pause adopts them, then reaps
/// them when they exit.
fn live_orphans_are_adopted_then_reaped(pod: &Pod) {
    let (podman, pause) = (pod.podman, pod.pause);
    let server = unique("serve");
    pod.workload(
        &["serve", "--orphans", &ORPHANS_LIVE.to_string()],
        Some(&server),
    )
    .check();
    let serving = wait_serving(|| podman.run(&["logs", &server]));
    let spid: i32 = podman.inspect(&server, "{{.State.Pid}}").parse().unwrap();
    assert_eq!(
        namespace(spid, "pid"),
        namespace(pause, "pid"),
        "the workload must share pause's PID namespace"
    );
    assert_orphans_adopted(pause, ORPHANS_LIVE, &serving);
    podman
        .run(&["stop", "-t", &STOP_TIMEOUT_SECS.to_string(), &server])
        .check();
    assert_eq!(
        podman.inspect(&server, "{{.State.ExitCode}}"),
        "0",
        "workload exit code"
    );
    assert_all_reaped(pause);
}

/// Stopping the pod ends pause on SIGTERM, with 0, long before the grace
/// period's SIGKILL.
fn stop_ends_pause_with_0_at_once(pod: &Pod) {
    let podman = pod.podman;
    let t = Instant::now();
    podman
        .run(&[
            "pod",
            "stop",
            "-t",
            &STOP_TIMEOUT_SECS.to_string(),
            &pod.name,
        ])
        .check();
    let took = t.elapsed();
    eprintln!("podman pod stop took {took:?} (grace period {STOP_TIMEOUT_SECS} s)");
    assert_eq!(
        podman.inspect(&pod.infra, "{{.State.ExitCode}}"),
        "0",
        "infra exit code after pod stop"
    );
    assert!(
        took < PROMPT_STOP,
        "podman pod stop took {took:?}: pause did not end on SIGTERM"
    );
    let logs = podman.run(&["logs", &pod.infra]).check();
    assert!(
        format!("{}{}", logs.stdout(), logs.stderr())
            .contains("Shutting down, got signal: Terminated"),
        "{}",
        logs.describe()
    );
}
