//! The pause image in Docker, locked down as a pod sandbox would be
//! (`--read-only --cap-drop ALL --security-opt no-new-privileges`), with the
//! test workload joining its PID, network and IPC namespaces. Needs root and a
//! Docker engine (started with tests/scripts/dockerd.sh when not running) and
//! the images of `make image workload-image`.

use pause_e2e::*;
use std::process::Command;
use std::time::Instant;

const ORPHANS_LIVE: usize = 150;
const ORPHANS_SHORT: usize = 200;

fn docker(args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(args);
    c
}

/// Docker is usable and both images exist; false (or a panic in CI) if not.
fn ready() -> bool {
    if !require(
        is_root(),
        "root (to read pause's /proc entries and run Docker)",
    ) {
        return false;
    }
    if !run(docker(&["info"])).ok() {
        let script = repo_root().join("tests/scripts/dockerd.sh");
        let r = run(Command::new(&script));
        if !require(r.ok(), &format!("a Docker engine: {}", r.describe())) {
            return false;
        }
    }
    for image in [pause_image(), workload_image()] {
        let r = run(docker(&["image", "inspect", "--format", "{{.Id}}", &image]));
        if !require(
            r.ok(),
            &format!("image {image} (make image workload-image)"),
        ) {
            return false;
        }
    }
    true
}

/// A started pause container, removed (with anything else the test queued)
/// when the test ends.
struct Pod {
    name: String,
    pid: u32,
    teardown: Teardown,
}

impl Pod {
    fn start() -> Pod {
        let name = unique("pause");
        let mut teardown = Teardown::new();
        teardown.push(docker(&["rm", "-f", "-v", &name]));
        run(docker(&[
            "run",
            "-d",
            "--name",
            &name,
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
        ]))
        .check();
        let pid = inspect(&name, "{{.State.Pid}}").parse().expect("State.Pid");
        wait_for("pause to wait for signals", DEADLINE, || {
            waiting_for_signals(pid)
        });
        Pod {
            name,
            pid,
            teardown,
        }
    }

    /// `docker run` flags that put a container into this pod's namespaces.
    fn join(&self) -> [String; 3] {
        let c = format!("container:{}", self.name);
        [
            format!("--pid={c}"),
            format!("--net={c}"),
            format!("--ipc={c}"),
        ]
    }

    /// Runs the workload in the pod to completion; returns (exit code, stdout).
    fn workload(&mut self, args: &[&str]) -> Run {
        let name = unique("workload");
        self.teardown.push(docker(&["rm", "-f", "-v", &name]));
        let mut c = docker(&["run", "--name", &name]);
        c.args(self.join()).arg(workload_image()).args(args);
        run(c)
    }
}

fn inspect(name: &str, format: &str) -> String {
    run(docker(&["inspect", "--format", format, name]))
        .check()
        .stdout()
}

#[test]
fn pause_is_pid1_as_65535_and_reaps_every_orphan() {
    if !ready() {
        return;
    }
    let mut pod = Pod::start();
    let pause = pod.pid;

    // Seen from the host: the container's process is /pause, PID 1 of its
    // namespace, as the image's user, with no capabilities.
    assert_eq!(cmdline(pause), Some(vec!["/pause".to_string()]));
    assert_eq!(
        status_field(pause, "NSpid").unwrap().split(' ').next_back(),
        Some("1"),
        "PID 1 in its namespace"
    );
    assert_eq!(
        status_field(pause, "Uid").as_deref(),
        Some("65535 65535 65535 65535")
    );
    assert_eq!(
        status_field(pause, "Gid").as_deref(),
        Some("65535 65535 65535 65535")
    );
    assert_eq!(
        status_field(pause, "CapEff").as_deref(),
        Some("0000000000000000")
    );
    assert_eq!(status_field(pause, "NoNewPrivs").as_deref(), Some("1"));

    // Seen from the workload in the pod: the same.
    let info = pod.workload(&["info"]).check().stdout();
    assert_eq!(kv(&info, "pid1"), Some("/pause"), "workload info: {info}");
    assert_eq!(
        kv(&info, "pid1_uid"),
        Some("65535"),
        "workload info: {info}"
    );

    // Orphans that stay alive until the workload stops: pause adopts them.
    let server = unique("serve");
    pod.teardown.push(docker(&["rm", "-f", "-v", &server]));
    let mut c = docker(&["run", "-d", "--name", &server]);
    c.args(pod.join()).arg(workload_image()).args([
        "serve",
        "--orphans",
        &ORPHANS_LIVE.to_string(),
    ]);
    run(c).check();
    let serving = wait_for("the workload to make its orphans", DEADLINE, || {
        let logs = run(docker(&["logs", &server]));
        let out = logs.stdout();
        out.lines()
            .find(|l| l.starts_with("serving"))
            .map(str::to_string)
            .ok_or(logs.describe())
    });
    let spid: u32 = inspect(&server, "{{.State.Pid}}").parse().unwrap();
    assert_eq!(
        pid_ns(spid),
        pid_ns(pause),
        "the workload must share pause's PID namespace"
    );
    assert_orphans_adopted(pause, ORPHANS_LIVE, &serving);

    // The workload stops on SIGTERM; its orphans then exit and pause must
    // reap every one.
    run(docker(&[
        "stop",
        "-t",
        &STOP_TIMEOUT_SECS.to_string(),
        &server,
    ]))
    .check();
    assert_eq!(
        inspect(&server, "{{.State.ExitCode}}"),
        "0",
        "workload exit code"
    );
    assert_all_reaped(pause);

    // Orphans that exit as soon as they are adopted; the workload checks
    // from inside the pod that each one was adopted by PID 1 and then reaped.
    let r = pod
        .workload(&["orphans", &ORPHANS_SHORT.to_string()])
        .check();
    let line = r.stdout();
    assert_eq!(
        kv(&line, "reparented"),
        Some(ORPHANS_SHORT.to_string().as_str()),
        "{line}"
    );
    assert_eq!(
        kv(&line, "new_parents"),
        Some(format!("1:{ORPHANS_SHORT}").as_str()),
        "{line}"
    );
    assert_eq!(
        kv(&line, "reaped"),
        Some(ORPHANS_SHORT.to_string().as_str()),
        "{line}"
    );
    assert_eq!(kv(&line, "pid1"), Some("/pause"), "{line}");
    assert_all_reaped(pause);
    assert_eq!(inspect(&pod.name, "{{.State.Running}}"), "true");
}

#[test]
fn hup_and_usr1_are_ignored_and_stop_ends_it_with_0_at_once() {
    if !ready() {
        return;
    }
    let pod = Pod::start();
    let pause = pod.pid;
    let started = stat(pause).expect("pause in /proc").start;

    for sig in ["HUP", "USR1"] {
        run(docker(&["kill", "-s", sig, &pod.name])).check();
        // `docker kill` returns once the signal is sent; pause has taken it
        // when nothing is pending and it waits again.
        wait_for(
            &format!("pause to take SIG{sig} and wait again"),
            DEADLINE,
            || waiting_for_signals(pause),
        );
        assert_eq!(
            inspect(&pod.name, "{{.State.Running}}"),
            "true",
            "after SIG{sig}"
        );
        assert!(
            stat(pause).is_some_and(|s| s.start == started && s.state != 'Z'),
            "after SIG{sig}"
        );
    }
    let logs = run(docker(&["logs", &pod.name])).check();
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
        &pod.name,
    ]))
    .check();
    let took = t.elapsed();
    eprintln!("docker stop took {took:?} (grace period {STOP_TIMEOUT_SECS} s)");
    assert_eq!(
        inspect(&pod.name, "{{.State.ExitCode}}"),
        "0",
        "exit code after docker stop"
    );
    assert_eq!(inspect(&pod.name, "{{.State.OOMKilled}}"), "false");
    assert!(
        took < PROMPT_STOP,
        "docker stop took {took:?}: pause did not end on SIGTERM"
    );
    let logs = run(docker(&["logs", &pod.name])).check();
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
    let name = unique("nonreaper");
    teardown.push(docker(&["rm", "-f", "-v", &name]));
    run(docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--ipc",
        "shareable",
        "--network",
        "none",
        &image,
    ]))
    .check();
    let pid1: u32 = inspect(&name, "{{.State.Pid}}").parse().unwrap();
    let c = format!("container:{name}");
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
    assert_eq!(kv(&line, "new_parents"), Some("1:20"), "{line}");
    assert_eq!(kv(&line, "zombies"), Some("20"), "{line}");
    assert_eq!(
        zombies_of(pid1).len(),
        20,
        "the host sees the zombies of the non-reaping PID 1"
    );
}
