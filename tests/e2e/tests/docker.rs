//! The pause image in Docker, locked down as a pod sandbox would be
//! (`--read-only --cap-drop ALL --security-opt no-new-privileges`), with the
//! test workload joining its PID, network and IPC namespaces. Needs root and a
//! Docker engine (started with tests/scripts/dockerd.sh when not running) and
//! the images of `make image workload-image`.

use pause_e2e::*;
use std::time::Instant;
use test_support::ci::{is_root, require};
use test_support::command::{Run, Teardown, run};
use test_support::docker::{self, Container, docker, inspect, pause_image};
use test_support::procfs::{
    cmdline, namespace, stat, status_field, waiting_for_signals, zombies_of,
};
use test_support::wait::{DEADLINE, wait_for};

const ORPHANS_LIVE: usize = 150;
const ORPHANS_SHORT: usize = 200;

/// Docker is usable and both images exist; false (or a panic in CI) if not.
fn ready() -> bool {
    require(
        is_root(),
        "root (to read pause's /proc entries and run Docker)",
    ) && docker::ready(
        &[pause_image(), workload_image()],
        "make image workload-image",
    )
}

/// A started pause container, removed (with the workloads the test started
/// in it) when the test ends.
struct Pod {
    /// Dropped first: a pod's containers go before its pause.
    workloads: Vec<Container>,
    pause: Container,
    pid: i32,
}

impl Pod {
    fn start() -> Pod {
        let pause = Container::named("pause-e2e-pause");
        pause
            .run(&[
                "-d",
                "--init=false",
                "--read-only",
                "--cap-drop",
                "ALL",
                "--security-opt",
                "no-new-privileges",
                "--ipc",
                "shareable",
                "--network",
                "none",
                &pause_image(),
            ])
            .check();
        let pid = pause.pid();
        wait_for("pause to wait for signals", DEADLINE, || {
            waiting_for_signals(pid)
        });
        Pod {
            workloads: Vec::new(),
            pause,
            pid,
        }
    }

    /// `docker run` flags that put a container into this pod's namespaces.
    fn join(&self) -> [String; 3] {
        let c = format!("container:{}", self.pause.name);
        [
            format!("--pid={c}"),
            format!("--net={c}"),
            format!("--ipc={c}"),
        ]
    }

    /// Runs the workload in the pod as container `c` (`options` go before
    /// the image, `args` after it).
    fn workload_in(&self, c: &Container, options: &[&str], args: &[&str]) -> Run {
        let join = self.join();
        let image = workload_image();
        let mut all: Vec<&str> = options.to_vec();
        all.extend(join.iter().map(String::as_str));
        all.push(&image);
        all.extend(args);
        c.run(&all)
    }

    /// Runs the workload in the pod to completion; its container goes with
    /// the pod.
    fn workload(&mut self, args: &[&str]) -> Run {
        let c = Container::named("pause-e2e-workload");
        let r = self.workload_in(&c, &[], args);
        self.workloads.push(c);
        r
    }
}

#[test]
fn pause_is_pid1_as_65535_and_reaps_every_orphan() {
    if !ready() {
        return;
    }
    let mut pod = Pod::start();
    let pause = pod.pid;
    assert_pid1_as_image_user(pause);

    // Seen from the workload in the pod: the same.
    let info = pod.workload(&["info"]).check().stdout();
    let report = Report::parse(&info);
    assert_eq!(report.get("pid1"), Some("/pause"), "workload info: {info}");
    assert_eq!(
        report.get("pid1_uid"),
        Some("65535"),
        "workload info: {info}"
    );

    live_orphans_are_adopted_then_reaped(&pod);

    // Orphans that exit as soon as they are adopted; the workload checks
    // from inside the pod that each one was adopted by PID 1 and then reaped.
    let line = pod
        .workload(&["orphans", &ORPHANS_SHORT.to_string()])
        .check()
        .stdout();
    assert_orphans_reaped_in_pod(&line, ORPHANS_SHORT);
    assert_eq!(Report::parse(&line).get("pid1"), Some("/pause"), "{line}");
    assert_all_reaped(pause);
    assert_eq!(pod.pause.inspect("{{.State.Running}}"), "true");
}

/// Seen from the host: the container's process is /pause, PID 1 of its
/// namespace, as the image's user, with no capabilities.
fn assert_pid1_as_image_user(pause: i32) {
    assert_eq!(cmdline(pause), Some(vec!["/pause".to_string()]));
    assert_eq!(
        status_field(pause, "NSpid").unwrap().split(' ').next_back(),
        Some("1"),
        "PID 1 in its namespace"
    );
    sandbox_user::assert_sandbox_credentials(pause, &sandbox_user::DOCKER);
    assert_eq!(status_field(pause, "NoNewPrivs").as_deref(), Some("1"));
}

/// Orphans that stay alive until the workload stops: pause adopts them;
/// the workload stops on SIGTERM, its orphans then exit and pause must reap
/// every one.
fn live_orphans_are_adopted_then_reaped(pod: &Pod) {
    let pause = pod.pid;
    let server = Container::named("pause-e2e-serve");
    pod.workload_in(
        &server,
        &["-d"],
        &["serve", "--orphans", &ORPHANS_LIVE.to_string()],
    )
    .check();
    let serving = wait_serving(|| server.logs());
    assert_eq!(
        namespace(server.pid(), "pid"),
        namespace(pause, "pid"),
        "the workload must share pause's PID namespace"
    );
    assert_orphans_adopted(pause, ORPHANS_LIVE, &serving);

    run(docker(&[
        "stop",
        "-t",
        &STOP_TIMEOUT_SECS.to_string(),
        &server.name,
    ]))
    .check();
    assert_eq!(
        server.inspect("{{.State.ExitCode}}"),
        "0",
        "workload exit code"
    );
    assert_all_reaped(pause);
}

#[test]
fn hup_and_usr1_are_ignored_and_stop_ends_it_with_0_at_once() {
    if !ready() {
        return;
    }
    let pod = Pod::start();
    let pause = pod.pid;
    let name = pod.pause.name.as_str();
    let started = stat(pause).expect("pause in /proc").start;

    for sig in ["HUP", "USR1"] {
        run(docker(&["kill", "-s", sig, name])).check();
        // `docker kill` returns once the signal is sent; pause has taken it
        // when nothing is pending and it waits again.
        wait_for(
            &format!("pause to take SIG{sig} and wait again"),
            DEADLINE,
            || waiting_for_signals(pause),
        );
        assert_eq!(
            pod.pause.inspect("{{.State.Running}}"),
            "true",
            "after SIG{sig}"
        );
        assert!(
            stat(pause).is_some_and(|s| s.start == started && s.state != 'Z'),
            "after SIG{sig}"
        );
    }
    let logs = pod.pause.logs().check();
    assert!(
        !logs.stderr().contains("Shutting down"),
        "{}",
        logs.describe()
    );

    let t = Instant::now();
    run(docker(&[
        "stop",
        "-t",
        &STOP_TIMEOUT_SECS.to_string(),
        name,
    ]))
    .check();
    let took = t.elapsed();
    eprintln!("docker stop took {took:?} (grace period {STOP_TIMEOUT_SECS} s)");
    assert_eq!(
        pod.pause.inspect("{{.State.ExitCode}}"),
        "0",
        "exit code after docker stop"
    );
    assert_eq!(pod.pause.inspect("{{.State.OOMKilled}}"), "false");
    assert!(
        took < PROMPT_STOP,
        "docker stop took {took:?}: pause did not end on SIGTERM"
    );
    let logs = pod.pause.logs().check();
    assert!(
        logs.stderr()
            .contains("Shutting down, got signal: Terminated"),
        "{}",
        logs.describe()
    );
}

/// The control: the same checks catch a PID 1 that does not reap (busybox
/// `sleep` in place of pause), so the tests above can fail.
#[test]
fn control_a_pid1_that_never_reaps_is_caught() {
    if !ready() {
        return;
    }
    let busybox = std::path::Path::new("/bin/busybox");
    if !require(busybox.exists(), "/bin/busybox (Debian busybox-static)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(busybox, dir.path().join("busybox")).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /busybox\nENTRYPOINT [\"/busybox\", \"sleep\", \"3600\"]\n",
    )
    .unwrap();
    let image = format!("{}:control", unique("nonreaper"));
    // Removed after the container (locals drop last declared first).
    let mut teardown = Teardown::new();
    teardown.push(docker(&["rmi", "-f", &image]));
    run(docker(&[
        "build",
        "-q",
        "-t",
        &image,
        dir.path().to_str().unwrap(),
    ]))
    .check();
    let nonreaper = Container::named("pause-e2e-nonreaper");
    nonreaper
        .run(&["-d", "--ipc", "shareable", "--network", "none", &image])
        .check();
    let pid1 = nonreaper.pid();
    let c = format!("container:{}", nonreaper.name);
    let r = run(docker(&[
        "run",
        "--rm",
        &format!("--pid={c}"),
        &format!("--ipc={c}"),
        &workload_image(),
        "orphans",
        "20",
        "--timeout",
        "2",
    ]));
    let line = r.stdout();
    assert!(
        !r.ok(),
        "the workload must report failure: {}",
        r.describe()
    );
    let report = Report::parse(&line);
    assert_eq!(report.get("new_parents"), Some("1:20"), "{line}");
    assert_eq!(report.get("zombies"), Some("20"), "{line}");
    assert_eq!(
        zombies_of(pid1).len(),
        20,
        "the host sees the zombies of the non-reaping PID 1"
    );
}

/// The two ways to build the image agree on what it says about itself: the
/// Dockerfile's image (`make image`) carries exactly the labels of the
/// archive's (description and title are read from the Dockerfile by both),
/// and `docker history` names what wrote the archive image's layer: the
/// instruction and the command, as it shows `# buildkit` for buildx.
#[test]
fn the_dockerfile_image_has_the_archives_labels_and_history_names_the_build() {
    if !ready() {
        return;
    }
    let built = format!("{}:labels", docker::unique("localhost/pause-dockerfile"));
    let mut teardown = Teardown::new();
    teardown.push(docker(&["rmi", "-f", &built]));
    let mut make = std::process::Command::new("make");
    make.args(["-s", "--no-print-directory", "image"])
        .arg(format!("IMAGE={built}"))
        .current_dir(test_support::repo::root());
    run(make).check();
    let labels = |image: &str| inspect(image, "{{json .Config.Labels}}");
    assert_eq!(
        labels(&built),
        labels(&pause_image()),
        "the Dockerfile's image and the archive's carry other labels"
    );
    let history = run(docker(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        &pause_image(),
    ]))
    .check()
    .stdout();
    let expected = format!(
        "COPY pause-linux-{} /pause # make oci (cargo xtask oci, xtask ",
        test_support::repo::host_arch()
    );
    assert!(history.starts_with(&expected), "docker history: {history}");
}
