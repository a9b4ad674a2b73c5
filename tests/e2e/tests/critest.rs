//! critest, cri-tools' CRI validation suite (the runtimes' own yardstick;
//! built by `make deps-go`), against containerd 1.7, containerd 2.1 and
//! CRI-O, each with this project's image as the sandbox image, pulled from
//! the loopback registry like every image critest asks for
//! (pause_e2e::critest_images builds them under critest's names; each
//! runtime has the registry as the mirror of their registries).
//!
//! critest runs in the registry's network namespace, the node's: it reaches
//! the pods' addresses, host ports and the runtime's streaming server there.
//! The specs it skips are in tests/critest/skip.toml, each with its reason;
//! any failed spec fails the test. The negative control runs the sandbox
//! specs with a sandbox image that exits at once, and critest must fail.
//!
//! Needs what tests/e2e/tests/crio.rs and tests/e2e/tests/registry.rs need,
//! and the programs tests/critest/build.sh builds: `make test-critest`
//! provides all of them.

use pause_e2e::critest_images::{self, REGISTRIES};
use pause_e2e::critest_specs::{List, RUNTIMES};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use test_support::ci::require;
use test_support::cri::{Containerd, CrioNode, Dialect, Node, can_run_crio, can_run_on};
use test_support::registry::{self, Registry};
use test_support::repo;
use test_support::teardown::{self, Resource};

/// critest as `make deps-go` builds it.
fn critest() -> PathBuf {
    repo::path("target/go/cri-tools/bin/critest")
}

/// How long one critest run may take on a loaded two-core machine.
const CRITEST_DEADLINE: Duration = Duration::from_secs(40 * 60);

/// What critest's summary says.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    passed: u32,
    failed: u32,
    /// Passed, after failing first (only where retries are allowed).
    flaked: u32,
    pending: u32,
    skipped: u32,
}

/// Reads ginkgo's last line of counts: `SUCCESS! -- 70 Passed | 0 Failed |
/// 0 Pending | 13 Skipped` (or `FAIL! -- ...`).
fn summary(output: &str) -> Option<Summary> {
    let line = output.lines().rev().find(|l| l.contains(" Passed | "))?;
    let counts = line.split_once("-- ")?.1;
    let mut s = Summary::default();
    for part in counts.split(" | ") {
        let (n, what) = part.trim().split_once(' ')?;
        let n = n.parse().ok()?;
        match what {
            "Passed" => s.passed = n,
            "Failed" => s.failed = n,
            "Flaked" => s.flaked = n,
            "Pending" => s.pending = n,
            "Skipped" => s.skipped = n,
            _ => {}
        }
    }
    Some(s)
}

/// Whether critest can run here: the binary, the test images' programs, a
/// registry, and the runtime (`runtime_ok`, which says why not itself).
fn can_run(runtime_ok: bool) -> bool {
    let missing = registry::missing()
        .or_else(|| {
            (!critest().is_file())
                .then(|| format!("{} missing: run `make deps-go`", critest().display()))
        })
        .or_else(|| {
            [critest_images::busybox(), critest_images::nonewprivs()]
                .into_iter()
                .find(|p| !p.is_file())
                .map(|p| format!("{} missing: run tests/critest/build.sh", p.display()))
        });
    runtime_ok && require(missing.is_none(), &missing.unwrap_or_default())
}

/// A registry holding the pause archive and every image critest pulls.
fn registry_with_images() -> (Registry, tempfile::TempDir) {
    let registry = Registry::start_isolated();
    registry.push(&repo::built_pause_archive());
    let dir = tempfile::tempdir().unwrap();
    for archive in critest_images::build_all(dir.path()) {
        registry.push(&archive);
    }
    (registry, dir)
}

/// Runs critest against the CRI socket `socket` of `id` (one of
/// [`RUNTIMES`]) from `registry`'s network namespace as
/// tests/critest/skip.toml says: its skipped specs skipped, its reruns apart
/// with their attempts (unless `focus` narrows the run to some specs: then
/// in one run, once); returns the summary of all and the output. `runtime` names it for
/// people.
fn run_critest(
    registry: &Registry,
    socket: &Path,
    focus: Option<&str>,
    id: &str,
    runtime: &str,
) -> (Summary, String) {
    let list = List::read();
    let rerun = if focus.is_some() {
        Vec::new()
    } else {
        list.rerun_on(id)
    };
    let mut skip = list.skipped_on(id);
    skip.extend(rerun.iter().map(|e| e.spec.as_str()));
    let once = |focus, skip: &[&str], attempts, what: &str| {
        critest_once(registry, socket, focus, skip, attempts, what)
    };
    let (mut total, mut output) = once(focus, &skip, 1, runtime);
    for entry in rerun {
        let what = format!(
            "{runtime}, `{}` (up to {} attempts)",
            entry.spec, entry.attempts
        );
        let (s, out) = once(
            Some(&entry.spec),
            &list.skipped_on(id),
            entry.attempts,
            &what,
        );
        total.passed += s.passed;
        total.failed += s.failed;
        total.flaked += s.flaked;
        total.skipped = total.skipped.saturating_sub(s.passed + s.failed);
        output.push_str(&out);
    }
    (total, output)
}

/// One critest run: `focus` and `skip` as ginkgo takes them, each spec
/// tried up to `attempts` times. `runtime` names the run for people.
fn critest_once(
    registry: &Registry,
    socket: &Path,
    focus: Option<&str>,
    skip: &[&str],
    attempts: u32,
    runtime: &str,
) -> (Summary, String) {
    let skip = skip
        .iter()
        .map(|spec| format!("({spec})"))
        .collect::<Vec<_>>()
        .join("|");
    let endpoint = format!("unix://{}", socket.display());
    let work = tempfile::Builder::new()
        .prefix("pause-critest.")
        .tempdir()
        .unwrap();
    // critest and its directory go with the run on Ctrl-C or SIGTERM (the
    // pods it made go with the node).
    let live = teardown::register(
        Resource::new(format!("critest {}", work.path().display())).dir(work.path()),
    );
    let log = work.path().join("critest.log");
    let mut command: Command = registry.netns().command(critest());
    command
        .arg(format!("-runtime-endpoint={endpoint}"))
        .arg(format!("-image-endpoint={endpoint}"))
        .arg(format!("-ginkgo.skip={skip}"))
        .arg("-ginkgo.no-color")
        .arg("-ginkgo.poll-progress-after=120s")
        .arg(format!("-ginkgo.flake-attempts={attempts}"))
        .args(focus.map(|f| format!("-ginkgo.focus={f}")))
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(work.path().join("critest.err")).unwrap());
    let segments_before = shm_segments();
    let start = Instant::now();
    let mut child = command.spawn().expect("start critest");
    live.add_process(child.id());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > CRITEST_DEADLINE {
            live.release();
            let _ = child.wait();
            panic!("{runtime}: critest still running after {CRITEST_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let errors = std::fs::read_to_string(work.path().join("critest.err")).unwrap_or_default();
    live.release();
    remove_segments_made_since(&segments_before);
    let summary = summary(&output).unwrap_or_else(|| {
        panic!("{runtime}: critest ({status}) printed no summary:\n{output}\n{errors}")
    });
    eprintln!(
        "{runtime}: critest {status} in {:?}: {} passed ({} flaked), {} failed, {} skipped, {} pending",
        start.elapsed(),
        summary.passed,
        summary.flaked,
        summary.failed,
        summary.skipped,
        summary.pending
    );
    (summary, output)
}

/// The System V shared memory segments of the host's IPC namespace: (id,
/// creator PID). critest's HostIpc specs make one each with `ipcmk` on
/// the host, and never remove it.
fn shm_segments() -> Vec<(i32, i32)> {
    let table = std::fs::read_to_string("/proc/sysvipc/shm").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.get(1)?.parse().ok()?, f.get(4)?.parse().ok()?))
        })
        .collect()
}

/// Removes the segments made since `before` whose creator (critest's
/// `ipcmk`) is gone and that nothing has attached.
fn remove_segments_made_since(before: &[(i32, i32)]) {
    for (id, creator) in shm_segments() {
        if !before.contains(&(id, creator)) && !test_support::procfs::alive(creator) {
            // SAFETY: shmctl(IPC_RMID) on an id; no memory of ours is involved.
            let _ = unsafe { nix::libc::shmctl(id, nix::libc::IPC_RMID, std::ptr::null_mut()) };
        }
    }
}

/// The specs that failed, from critest's `[FAIL]` lines.
fn failures(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.trim_start().starts_with("[FAIL]"))
        .collect()
}

fn assert_conformant(runtime: &str, summary: &Summary, output: &str, log_tail: &str) {
    assert!(
        summary.passed > 0,
        "{runtime}: critest passed nothing:\n{output}"
    );
    assert_eq!(
        summary.failed,
        0,
        "{runtime}: critest failed specs:\n{}\n\nthe whole output:\n{output}\n\n{runtime}'s log:\n{log_tail}",
        failures(output).join("\n")
    );
}

/// CRITEST_FOCUS (a `-ginkgo.focus` pattern) runs only some specs: for a
/// person chasing one failure, never set by make.
fn focus() -> Option<String> {
    std::env::var("CRITEST_FOCUS")
        .ok()
        .filter(|f| !f.is_empty())
}

fn critest_on_containerd(containerd: Containerd) {
    if !can_run(can_run_on(containerd)) {
        return;
    }
    let (registry, _images) = registry_with_images();
    let node = Node::start_mirroring(containerd, &registry, &REGISTRIES);
    let runtime = format!(
        "containerd {} ({:?})",
        containerd.series, containerd.dialect
    );
    let id = format!("containerd-{}", containerd.series);
    let (summary, output) = run_critest(&registry, &node.socket, focus().as_deref(), &id, &runtime);
    assert_conformant(&runtime, &summary, &output, &node.log_tail());
}

#[test]
fn critest_passes_on_containerd_1_7() {
    critest_on_containerd(Containerd::new("1.7", Dialect::SandboxImage));
}

#[test]
fn critest_passes_on_containerd_2_1() {
    critest_on_containerd(Containerd::new("2.1", Dialect::PinnedImagesV3));
}

#[test]
fn critest_passes_on_crio() {
    if !can_run(can_run_crio()) {
        return;
    }
    let (registry, _images) = registry_with_images();
    let node = CrioNode::start_mirroring(&registry, "", &REGISTRIES);
    route_localhost_to_pods(&registry);
    let (summary, output) =
        run_critest(&registry, &node.socket, focus().as_deref(), "crio", "CRI-O");
    assert_conformant("CRI-O", &summary, &output, &node.log_tail());
}

/// Lets the node reach a pod's host port at 127.0.0.1, as CRI-O's own
/// critest setup does (contrib/test/ci/critest.yml in its module): CRI-O's
/// host ports are nftables DNAT rules alone, and a packet from 127.0.0.1
/// DNATed to a pod leaves the node's loopback only with `route_localnet`
/// and a masquerade of that source (containerd's CNI portmap plugin sets up
/// both itself). Done in the node's network namespace, which goes with it.
fn route_localhost_to_pods(registry: &Registry) {
    registry.netns().run(|| {
        std::fs::write("/proc/sys/net/ipv4/conf/all/route_localnet", "1")
            .expect("net.ipv4.conf.all.route_localnet=1 in the node's namespace");
    });
    let mut nft = registry.netns().command("nft");
    nft.arg(
        "add table ip critest-localhost; \
         add chain ip critest-localhost postrouting { type nat hook postrouting priority srcnat; }; \
         add rule ip critest-localhost postrouting ip saddr 127.0.0.0/8 ip daddr != 127.0.0.0/8 masquerade",
    );
    test_support::command::run(nft).check();
}

/// The negative control: the sandbox specs with a sandbox image whose
/// /pause exits at once (busybox, called by a name it has no applet for)
/// under this project's image name, on containerd 2.1. critest must fail.
#[test]
fn critest_fails_with_a_sandbox_that_exits_at_once() {
    let containerd = Containerd::new("2.1", Dialect::PinnedImagesV3);
    if !can_run(can_run_on(containerd)) {
        return;
    }
    let (registry, images) = registry_with_images();
    let node = Node::start_mirroring(containerd, &registry, &REGISTRIES);
    let exiting = critest_images::exiting_pause(images.path(), &node.sandbox_image);
    registry.push(&exiting);
    let (summary, output) = run_critest(
        &registry,
        &node.socket,
        Some("PodSandbox"),
        "containerd-2.1",
        "exiting pause",
    );
    assert!(
        summary.failed > 0,
        "critest passed with a sandbox that exits at once: {summary:?}\n{output}"
    );
}

#[test]
fn reads_ginkgos_summary() {
    let out =
        "Ran 3 of 5 Specs in 1.2 seconds\nFAIL! -- 2 Passed | 1 Failed | 0 Pending | 2 Skipped\n";
    assert_eq!(
        summary(out),
        Some(Summary {
            passed: 2,
            failed: 1,
            flaked: 0,
            pending: 0,
            skipped: 2
        })
    );
    let flaky = "SUCCESS! -- 1 Passed | 0 Failed | 1 Flaked | 0 Pending | 112 Skipped";
    assert_eq!(summary(flaky).map(|s| s.flaked), Some(1));
    assert_eq!(summary("no summary"), None);
}

/// tests/critest/skip.toml reads (List::read checks each entry) and names
/// something for every runtime.
#[test]
fn reads_the_skip_list() {
    let list = List::read();
    assert!(!list.skip.is_empty());
    for runtime in RUNTIMES {
        assert!(!list.skipped_on(runtime).is_empty(), "{runtime}");
    }
}
