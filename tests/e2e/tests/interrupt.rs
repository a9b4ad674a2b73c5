//! Ctrl-C, SIGTERM or kill -9 at any moment of a run leaves nothing behind.
//!
//! Each test starts a long-lived harness (`src/bin/hold.rs`: a containerd
//! node with 20 pods, the private registry, a podman pod as root and
//! rootless) in a process group of its own, as a terminal starts a job, with
//! its own record directory and TMPDIR; waits until it reaches a moment
//! (starting, running, tearing down); signals it as a user or CI would; then
//! asserts that no process, mount, cgroup, user, temporary directory or file
//! mode of that run is left, from /proc, the mount table and cgroupfs. After
//! kill -9 the next run of the harness must remove it all and say so. The
//! negative control runs the same harness with the handler off, and must
//! find leftovers.
//!
//! Needs root, the pause archive (`make oci`), containerd 2.1
//! (`make deps-pinned`), podman and the registry (`make deps`):
//! `make test-interrupt`.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};
use test_support::teardown::{self, Resource};
use test_support::{ci, cri, kube, podman, registry, repo, rootless};

/// From the signal to the last process gone: the bound.
const TEARDOWN_LIMIT: Duration = Duration::from_secs(30);
/// Starting 20 pods on a loaded two-core machine.
const START_LIMIT: Duration = Duration::from_secs(240);

struct Place {
    state: tempfile::TempDir,
    tmp: tempfile::TempDir,
}

/// One run of the harness, watched from outside.
struct Run {
    child: Child,
    /// Its records and its TMPDIR, handed on to the next run.
    place: Option<Place>,
    lines: Receiver<String>,
    /// The harness's stderr, line by line, as it comes.
    err_lines: Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
    /// Every resource its records named so far, kept after they go.
    seen: Vec<Resource>,
}

impl Run {
    /// `hold ARGS` in a new process group with SIGINT at its default (a
    /// background job of a non-interactive shell inherits it ignored, and
    /// the harness keeps an inherited ignore, as shells do).
    fn start(args: &[&str], handler: bool) -> Run {
        let state = tempfile::Builder::new()
            .prefix("pause-interrupt-state.")
            .tempdir()
            .unwrap();
        // Short: podman refuses a run root of more than 50 characters.
        let tmp = tempfile::Builder::new().prefix("pi.").tempdir().unwrap();
        // A rootless user's directory is made in here and must be reachable.
        std::fs::set_permissions(tmp.path(), PermissionsExt::from_mode(0o755)).unwrap();
        Self::start_with(args, handler, Place { state, tmp })
    }

    /// [`Run::start`], then waits until the harness holds what it started.
    fn ready(args: &[&str], handler: bool) -> Run {
        let mut run = Run::start(args, handler);
        run.wait_for("ready", |l| l == "ready");
        run
    }

    /// The next run, on the same records and TMPDIR as `self` (whose child
    /// is gone): what a user's next `make` does after a kill -9.
    fn next(mut self, args: &[&str]) -> Run {
        let place = self.place.take().unwrap();
        Self::start_with(args, true, place)
    }

    fn state(&self) -> &Path {
        self.place.as_ref().unwrap().state.path()
    }

    fn tmp(&self) -> &Path {
        self.place.as_ref().unwrap().tmp.path()
    }

    fn start_with(args: &[&str], handler: bool, place: Place) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hold"));
        command
            .args(args)
            .env("PAUSE_HARNESS_STATE", place.state.path())
            .env("TMPDIR", place.tmp.path())
            .env("PAUSE_OCI_ARCHIVE", repo::built_pause_archive())
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if !handler {
            command.env("PAUSE_HARNESS_SIGNALS", "off");
        }
        // SAFETY: signal() is async-signal-safe; the closure touches nothing else.
        unsafe {
            command.pre_exec(|| {
                nix::sys::signal::signal(Signal::SIGINT, nix::sys::signal::SigHandler::SigDfl)
                    .map(drop)
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = command.spawn().expect("start the hold harness");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let err = child.stderr.take().unwrap();
        let (err_tx, err_lines) = channel();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                text += &line;
                text.push('\n');
                let _ = err_tx.send(line);
            }
            text
        });
        Run {
            child,
            place: Some(place),
            lines,
            err_lines,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Waits for a line of the harness that `wanted` accepts, reading its
    /// records meanwhile.
    fn wait_for(&mut self, step: &str, wanted: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            self.look();
            match self.lines.recv_timeout(Duration::from_millis(10)) {
                Ok(line) if wanted(&line) => return self.look(),
                Ok(_) => {}
                Err(_) if start.elapsed() > START_LIMIT => {
                    panic!("the harness never said {step:?}")
                }
                Err(_) => {
                    if let Some(status) = self.child.try_wait().unwrap() {
                        let (_, stderr) = self.exit();
                        panic!("the harness exited ({status}) before {step:?}:\n{stderr}");
                    }
                }
            }
        }
    }

    /// Adds whatever the records name now to what was seen.
    fn look(&mut self) {
        for r in teardown::records_in(self.state()) {
            match self.seen.iter_mut().find(|s| s.what == r.what) {
                Some(s) => *s = r,
                None => self.seen.push(r),
            }
        }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// To the whole process group, as a terminal sends Ctrl-C.
    fn signal_group(&mut self, signal: Signal) {
        self.look();
        killpg(self.pid(), signal).expect("signal the process group");
    }

    /// To the harness alone, as `kill PID` or a parent's timeout does.
    fn signal_harness(&mut self, signal: Signal) {
        self.look();
        kill(self.pid(), signal).expect("signal the harness");
    }

    /// Waits for the harness to exit, reading records until then; its
    /// status and what it printed on stderr.
    fn exit(&mut self) -> (ExitStatus, String) {
        let start = Instant::now();
        let status = loop {
            self.look();
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < TEARDOWN_LIMIT,
                "the harness still runs {TEARDOWN_LIMIT:?} after the signal"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        (status, stderr.join().unwrap())
    }

    /// Everything of this run still on the host: of each resource it ever
    /// recorded, and anything under its TMPDIR.
    fn left(&self) -> Vec<String> {
        let mut left: Vec<String> = self
            .seen
            .iter()
            .flat_map(|r| {
                teardown::left(r)
                    .into_iter()
                    .map(move |l| format!("{}: {l}", r.what))
            })
            .collect();
        left.extend(
            teardown::tied_to_dir(self.tmp())
                .into_iter()
                .filter(|l| !l.starts_with("directory ")),
        );
        let entries = std::fs::read_dir(self.tmp())
            .into_iter()
            .flatten()
            .flatten();
        left.extend(entries.map(|e| format!("temporary {}", e.path().display())));
        left
    }

    /// Polls until nothing of the run is left, or fails listing it.
    fn assert_nothing_left(&self) {
        let start = Instant::now();
        loop {
            let left = self.left();
            if left.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < TEARDOWN_LIMIT,
                "left behind:\n  {}",
                left.join("\n  ")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Run {
    /// Whatever a failed test left goes too: kill the group, then sweep.
    fn drop(&mut self) {
        let _ = killpg(self.pid(), Signal::SIGKILL);
        let _ = self.child.wait();
        if let Some(place) = &self.place {
            teardown::sweep_in(place.state.path());
        }
    }
}

/// Signalled with `signal`: exits with 128 + signal and one line naming
/// what it removed; then nothing of it is left.
fn assert_torn_down(mut run: Run, signal: Signal) {
    let (status, stderr) = run.exit();
    assert_eq!(
        status.code(),
        Some(128 + signal as i32),
        "exit status {status}; stderr:\n{stderr}"
    );
    let line = format!("harness: got {}: removed ", signal.as_str());
    assert!(
        stderr.lines().filter(|l| l.starts_with(&line)).count() == 1,
        "no single {line:?} line in:\n{stderr}"
    );
    run.assert_nothing_left();
}

/// Killed with -9 (the group: what a runaway CI job gets), something is
/// left; the next run removes all of it, one line per thing, and goes on.
fn assert_next_run_sweeps(mut run: Run, args: &[&str], ready: &str) {
    run.signal_group(Signal::SIGKILL);
    let (status, _) = run.exit();
    assert_eq!(status.signal(), Some(Signal::SIGKILL as i32));
    assert!(
        !run.left().is_empty(),
        "kill -9 left nothing: the sweep is untested"
    );
    let seen = run.seen.clone();
    let mut next = run.next(args);
    next.wait_for(ready, |l| l == ready);
    next.seen.extend(seen);
    next.signal_group(Signal::SIGINT);
    let (status, stderr) = next.exit();
    assert!(
        stderr.lines().any(|l| l.starts_with("swept (left by run ")),
        "the next run said nothing of what it swept:\n{stderr}"
    );
    assert_eq!(status.code(), Some(130), "stderr:\n{stderr}");
    next.assert_nothing_left();
}

fn can_run_node() -> bool {
    let containerd = cri::Containerd::new("2.1", cri::Dialect::PinnedImagesV3);
    cri::can_run_on(containerd)
}

const NODE: &[&str] = &["node", "20"];

#[test]
fn node_sigint_while_pods_start() {
    if !can_run_node() {
        return;
    }
    let mut run = Run::start(NODE, true);
    run.wait_for("pod 3 up", |l| l.starts_with("pod ") && l.ends_with(" up"));
    run.signal_group(Signal::SIGINT);
    assert_torn_down(run, Signal::SIGINT);
}

#[test]
fn node_sigint_while_pods_run() {
    if !can_run_node() {
        return;
    }
    let mut run = Run::ready(NODE, true);
    run.signal_group(Signal::SIGINT);
    assert_torn_down(run, Signal::SIGINT);
}

#[test]
fn node_sigint_during_its_own_teardown() {
    if !can_run_node() {
        return;
    }
    let mut run = Run::start(&["node", "20", "--release"], true);
    run.wait_for("releasing", |l| l == "releasing");
    run.signal_group(Signal::SIGINT);
    let (status, stderr) = run.exit();
    // The release may finish first (exit 0); either way nothing is left.
    assert!(
        status.code() == Some(130) || status.success(),
        "exit status {status}; stderr:\n{stderr}"
    );
    run.assert_nothing_left();
}

#[test]
fn node_sigterm_to_the_harness_alone() {
    if !can_run_node() {
        return;
    }
    let mut run = Run::ready(NODE, true);
    run.signal_harness(Signal::SIGTERM);
    assert_torn_down(run, Signal::SIGTERM);
}

#[test]
fn node_second_sigint_leaves_at_once_and_the_next_run_sweeps() {
    if !can_run_node() {
        return;
    }
    let mut run = Run::ready(NODE, true);
    run.signal_group(Signal::SIGINT);
    // The second press once the first is taken: two signals sent at once
    // are one for the kernel.
    let taken = "harness: got SIGINT: stopping";
    let start = Instant::now();
    while !run
        .err_lines
        .recv_timeout(Duration::from_millis(10))
        .is_ok_and(|l| l.starts_with(taken))
    {
        assert!(start.elapsed() < TEARDOWN_LIMIT, "never said {taken:?}");
    }
    run.signal_harness(Signal::SIGINT);
    let (status, stderr) = run.exit();
    assert_eq!(status.code(), Some(130), "stderr:\n{stderr}");
    assert!(
        stderr.contains("second SIGINT during the teardown: leaving at once"),
        "stderr:\n{stderr}"
    );
    let seen = run.seen.clone();
    let mut next = run.next(&["registry"]);
    next.wait_for("ready", |l| l == "ready");
    next.seen.extend(seen);
    next.signal_group(Signal::SIGINT);
    next.exit();
    next.assert_nothing_left();
}

#[test]
fn node_kill_9_then_the_next_run_sweeps() {
    if !can_run_node() {
        return;
    }
    let run = Run::ready(NODE, true);
    assert_next_run_sweeps(run, &["registry"], "ready");
}

/// The negative control: without the handler, Ctrl-C leaves the pods.
#[test]
fn node_sigint_without_the_handler_leaves_pods_behind() {
    if !can_run_node() {
        return;
    }
    let mut run = Run::ready(NODE, false);
    run.signal_group(Signal::SIGINT);
    let (status, _) = run.exit();
    assert_eq!(status.signal(), Some(Signal::SIGINT as i32));
    let left = run.left();
    assert!(
        left.iter().any(|l| l.contains("process")) && left.iter().any(|l| l.contains("cgroup")),
        "no pods left without the handler: {left:?}"
    );
}

fn can_run_registry() -> bool {
    let missing = registry::missing();
    ci::require(missing.is_none(), missing.as_deref().unwrap_or_default())
}

#[test]
fn registry_sigint_and_sigterm() {
    if !can_run_registry() {
        return;
    }
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let mut run = Run::ready(&["registry"], true);
        run.signal_group(signal);
        assert_torn_down(run, signal);
    }
}

#[test]
fn registry_kill_9_then_the_next_run_sweeps() {
    if !can_run_registry() {
        return;
    }
    let run = Run::ready(&["registry"], true);
    assert_next_run_sweeps(run, &["registry"], "ready");
}

fn can_run_kubernetes() -> bool {
    let containerd = cri::Containerd::new("2.1", cri::Dialect::PinnedImagesV3);
    let missing = kube::Cluster::missing(kube::Release::NEWEST, containerd);
    ci::require(missing.is_none(), missing.as_deref().unwrap_or_default())
}

/// A Kubernetes node with a pod: SIGINT removes every daemon, the pod's
/// processes, mounts and cgroups, and puts back the kernel settings kubelet
/// changed; after kill -9 the next run does.
#[test]
fn kubernetes_node_sigint_then_kill_9_and_sweep() {
    if !can_run_kubernetes() {
        return;
    }
    let mut run = Run::ready(&["kubernetes"], true);
    run.signal_group(Signal::SIGINT);
    assert_torn_down(run, Signal::SIGINT);
    let run = Run::ready(&["kubernetes"], true);
    assert_next_run_sweeps(run, &["registry"], "ready");
}

#[test]
fn podman_pod_sigint_then_kill_9_and_sweep() {
    if !ci::require(ci::is_root(), "root") || !podman::ready() {
        return;
    }
    let mut run = Run::ready(&["podman"], true);
    run.signal_group(Signal::SIGINT);
    assert_torn_down(run, Signal::SIGINT);
    let run = Run::ready(&["podman"], true);
    assert_next_run_sweeps(run, &["registry"], "ready");
}

#[test]
fn rootless_podman_pod_sigint_then_kill_9_and_sweep() {
    if !ci::require(ci::is_root(), "root") || !podman::ready() || !rootless::ready() {
        return;
    }
    let mut run = Run::ready(&["podman-rootless"], true);
    run.signal_group(Signal::SIGINT);
    assert_torn_down(run, Signal::SIGINT);
    let run = Run::ready(&["podman-rootless"], true);
    assert_next_run_sweeps(run, &["registry"], "ready");
}
