//! What only the end-to-end suites share: the images they run, the test
//! workload's report, and the checks on a pod whose PID 1 is pause, made
//! from the host. Running engines, waiting and reading /proc are
//! test_support's.

pub mod conformance;
pub mod conformance_images;
pub mod critest_images;
pub mod critest_specs;
pub mod layout;
pub mod oci_layout;
pub mod sandbox_user;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use test_support::command::Run;
use test_support::procfs::{children_of, stat};
use test_support::wait::{DEADLINE, wait_for};

/// Grace period given to `docker stop` / `podman pod stop`; pause must end
/// far inside it (on SIGTERM), never by the SIGKILL that follows it.
pub const STOP_TIMEOUT_SECS: u64 = 30;

/// How long a prompt stop may take: far less than the grace period.
pub const PROMPT_STOP: Duration = Duration::from_secs(5);

/// The workload image in the local Docker (`make workload-image`).
pub fn workload_image() -> String {
    std::env::var("WORKLOAD_IMAGE").unwrap_or_else(|_| "pause-workload:test".into())
}

/// A name unique to this test run, for containers and pods.
pub fn unique(what: &str) -> String {
    test_support::docker::unique(&format!("pause-e2e-{what}"))
}

/// The one-line `key=value ...` report the workload prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report(BTreeMap<String, String>);

/// The workload's command line that keeps its container running.
pub const SERVE: &[&str] = &["/workload", "serve"];

/// `workload ARGS` run in `container` with ExecSync, on either runtime's
/// CRI: its report, and the exit code checked.
pub fn workload(cri: &test_support::cri::Cri, container: &str, args: &[&str]) -> Report {
    let mut cmd = vec!["/workload"];
    cmd.extend_from_slice(args);
    let (code, out, err) = cri.exec(container, &cmd);
    assert_eq!(code, 0, "workload {args:?}: {out}{err}");
    Report::parse(&out)
}

impl Report {
    pub fn parse(line: &str) -> Report {
        Report(
            line.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

impl std::ops::Index<&str> for Report {
    type Output = String;

    /// The value of `key`; panics (showing the report) if there is none.
    fn index(&self, key: &str) -> &String {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in the workload's report {self:?}"))
    }
}

/// Waits until `workload serve` has made its orphans: the `serving ...`
/// line of its log (`logs` reads it).
pub fn wait_serving(mut logs: impl FnMut() -> Run) -> String {
    wait_for("the workload to make its orphans", DEADLINE, || {
        let logs = logs();
        logs.stdout()
            .lines()
            .find(|l| l.starts_with("serving"))
            .map(str::to_string)
            .ok_or(logs.describe())
    })
}

/// What `workload orphans N` reports from inside a pod whose PID 1 reaps:
/// all `n` were reparented, each to PID 1, and reaped.
pub fn assert_orphans_reaped_in_pod(line: &str, n: usize) {
    let report = Report::parse(line);
    let n = n.to_string();
    assert_eq!(report.get("reparented"), Some(n.as_str()), "{line}");
    assert_eq!(
        report.get("new_parents"),
        Some(format!("1:{n}").as_str()),
        "{line}"
    );
    assert_eq!(report.get("reaped"), Some(n.as_str()), "{line}");
}

/// Host-side checks shared by both engines, on a pod whose PID 1 is pause
/// (host PID `pause`) and where a workload in the pod holds `n` live orphans
/// (`workload serve --orphans n` printed `serving_line`).
pub fn assert_orphans_adopted(pause: i32, n: usize, serving_line: &str) {
    let serving = Report::parse(serving_line);
    assert_eq!(
        serving.get("reparented"),
        Some(n.to_string().as_str()),
        "workload: {serving_line}"
    );
    assert_eq!(
        serving.get("new_parents"),
        Some(format!("1:{n}").as_str()),
        "every orphan must be adopted by PID 1 of the pod: {serving_line}"
    );
    // Seen from the host: the orphans are live children of pause.
    let live = wait_for("the orphans to show as children of pause", DEADLINE, || {
        let kids = children_of(pause);
        let live = kids.iter().filter(|s| s.state != 'Z').count();
        if live >= n {
            Ok(live)
        } else {
            Err(format!("{live} live children of pause"))
        }
    });
    eprintln!("pause (host PID {pause}) has {live} live adopted children");
}

/// After the orphans exit: pause reaps every one (no zombie or other child
/// of pause left on the host).
pub fn assert_all_reaped(pause: i32) {
    let start = Instant::now();
    wait_for("pause to reap every orphan", DEADLINE, || {
        let kids = children_of(pause);
        if kids.is_empty() {
            Ok(())
        } else {
            let z = kids.iter().filter(|s| s.state == 'Z').count();
            Err(format!(
                "{} children of pause, {z} of them zombies",
                kids.len()
            ))
        }
    });
    eprintln!(
        "all children of pause gone {:?} after the check began",
        start.elapsed()
    );
    assert!(
        stat(pause).is_some_and(|s| s.state != 'Z'),
        "pause itself must still be running"
    );
}

#[doc(hidden)]
pub use test_support as __test_support;

/// Every containerd of the CRI matrix: one module per version and config
/// dialect, each holding one `#[test]` per function named, which it calls
/// with its [`Containerd`](test_support::cri::Containerd). The test output
/// thus names each (`containerd_2_1_kind_patch::sigterm_ends_the_sandbox_with_status_0`).
/// `containerd_matrix!(test_a, test_b);` in a suite, after the functions.
#[macro_export]
macro_rules! containerd_matrix {
    ($($test:ident),* $(,)?) => {
        // Debian 12's own, with deploy/containerd/sandbox-image.toml.
        $crate::containerd_matrix!(@module containerd_1_6,
            $crate::__test_support::cri::Containerd::SYSTEM; $($test)*);
        // Debian 13's, with the same file.
        $crate::containerd_matrix!(@module containerd_1_7,
            $crate::__test_support::cri::Containerd::new(
                "1.7", $crate::__test_support::cri::Dialect::SandboxImage); $($test)*);
        // What kind 0.27+ and current clusters run, with pinned-images-v3.toml...
        $crate::containerd_matrix!(@module containerd_2_1_pinned_images_v3,
            $crate::__test_support::cri::Containerd::new(
                "2.1", $crate::__test_support::cri::Dialect::PinnedImagesV3); $($test)*);
        // ...and with the version-2 patch of deploy/kind/kind-config.yaml, migrated on load.
        $crate::containerd_matrix!(@module containerd_2_1_kind_patch,
            $crate::__test_support::cri::Containerd::new(
                "2.1", $crate::__test_support::cri::Dialect::KindPatch); $($test)*);
    };
    (@module $module:ident, $containerd:expr; $($test:ident)*) => {
        mod $module {
            const CONTAINERD: $crate::__test_support::cri::Containerd = $containerd;
            $(
                #[test]
                fn $test() {
                    super::$test(CONTAINERD)
                }
            )*
        }
    };
}

/// The host process `pid` is this project's pause: named `pause` (READY can
/// come before runc's init has exec'd the entrypoint, when it is still
/// `runc:[2:INIT]`), and, when the suite runs the default archive, the very
/// binary `make build` wrote for this machine.
pub fn assert_runs_our_pause(pid: i32) {
    test_support::wait::poll("the sandbox process named pause", || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "pause")
    });
    let default = test_support::repo::path("bin/pause-oci.tar");
    if std::env::var_os("PAUSE_OCI_ARCHIVE").is_none_or(|a| a == default) {
        let arch = test_support::repo::host_arch();
        let ours = test_support::repo::path(&format!("bin/pause-linux-{arch}"));
        let exe = std::fs::read(format!("/proc/{pid}/exe")).unwrap();
        assert!(
            exe == std::fs::read(&ours).unwrap(),
            "sandbox runs another binary than {}",
            ours.display()
        );
    }
}

/// The host process `pid` is PID 1 of its pod: `/pause` alone on its
/// command line, and 1 as its PID in the pod's namespace.
pub fn assert_pid1_of_pod(pid: i32) {
    use test_support::procfs::{cmdline, status_field};
    assert_eq!(cmdline(pid), Some(vec!["/pause".to_string()]));
    assert_eq!(
        status_field(pid, "NSpid").unwrap().split(' ').next_back(),
        Some("1"),
        "PID 1 of the pod"
    );
}
