//! Kubernetes' conformance suite (e2e.test v1.37.2, `make deps-go`) judging
//! a cluster whose every pod sandbox is this image: the sandbox subset of the
//! sig-node `[Conformance]` specs on a one-node cluster (containerd 2.1,
//! kubelet 1.37, kube-proxy, CoreDNS), and the negative control (a sandbox
//! image that exits at once makes named specs fail).
//!
//! The checks before them need no cluster: they hold the project's lists
//! (the images of pause_e2e::conformance_images, the skip file
//! tests/conformance/skip.toml, the sandbox subset) to what the suite itself
//! says, so that an upgrade of the pin that renames an image or a spec fails
//! here. `make conformance` (pause_e2e's `conformance` program) runs every
//! `[Conformance]` spec.

use pause_e2e::conformance::{
    self, ALL, Plan, Report, Run, SANDBOX_SUBSET, SIG_NODE, dry_run, listed_images, skips,
};
use pause_e2e::conformance_images::{COREDNS_TAG, coredns, images};
use std::time::Duration;
use test_support::ci::require;
use test_support::kube::Release;
use test_support::repo;

fn have_suite() -> bool {
    require(
        conformance::e2e_test().is_file(),
        &format!("{} (make deps-go)", conformance::e2e_test().display()),
    )
}

#[test]
fn every_image_built_is_one_the_suite_asks_for() {
    if !have_suite() {
        return;
    }
    let listed = listed_images().unwrap();
    for image in images() {
        assert!(
            listed.contains(&image.reference()),
            "{} is not among the images e2e.test lists:\n{}",
            image.reference(),
            listed.join("\n")
        );
    }
}

#[test]
fn each_skip_names_conformance_specs_with_a_reason() {
    if !have_suite() {
        return;
    }
    let specs = dry_run(ALL, None).unwrap();
    for skip in skips() {
        assert!(!skip.reason.trim().is_empty(), "{}: no reason", skip.spec);
        let re = regex::Regex::new(&skip.spec).unwrap();
        assert!(
            specs.iter().any(|s| re.is_match(s)),
            "skip {:?} names no [Conformance] spec of e2e.test",
            skip.spec
        );
    }
}

#[test]
fn the_sandbox_subset_is_sig_node_conformance_specs() {
    if !have_suite() {
        return;
    }
    let subset = dry_run(SANDBOX_SUBSET, None).unwrap();
    let sig_node = dry_run(SIG_NODE, None).unwrap();
    eprintln!(
        "sig-node [Conformance]: {} specs; the sandbox subset: {}",
        sig_node.len(),
        subset.len()
    );
    assert!(subset.len() >= 50, "{subset:#?}");
    assert!(subset.len() < sig_node.len());
    for spec in &subset {
        assert!(
            sig_node.contains(spec),
            "{spec} is not a sig-node conformance spec"
        );
    }
}

/// A kubelet v1.34 node skips exactly the specs labelled for kubelet 1.35
/// and later (ClusterTrustBundle projection, PodCertificate, ImageVolume's
/// Always pull...), which a v1.34 kubelet cannot pass; the newest kubelet
/// skips none of them.
#[test]
fn a_kubelet_1_34_node_skips_the_specs_labelled_for_a_newer_kubelet() {
    if !have_suite() {
        return;
    }
    assert_eq!(conformance::newer_kubelet_pattern(Release::NEWEST), None);
    let pattern = conformance::newer_kubelet_pattern(Release::V1_34).unwrap();
    let skipped = dry_run(&pattern, None).unwrap();
    let labelled = regex::Regex::new(r"\[MinimumKubeletVersion:1\.(3[5-9])\]").unwrap();
    eprintln!("kubelet 1.34 skips {} specs: {pattern}", skipped.len());
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("ClusterTrustBundle") && s.contains("[Conformance]")),
        "{skipped:#?}"
    );
    for spec in &skipped {
        assert!(
            labelled.is_match(spec),
            "{spec} is not labelled for kubelet 1.35 or later"
        );
    }
    let older = dry_run(r"\[MinimumKubeletVersion:1\.(2[0-9]|3[0-4])\]", None).unwrap();
    for spec in &older {
        assert!(
            !skipped.contains(spec),
            "{spec} is skipped, but a v1.34 kubelet can run it"
        );
    }
}

/// The runner's negative control: against an API server nobody serves (a
/// new network namespace holding only loopback), the suite fails before
/// any spec, and the run says so through its report, not by passing
/// nothing.
#[test]
fn a_run_without_a_cluster_fails() {
    if !have_suite() || !require(test_support::ci::is_root(), "root (a network namespace)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, NOBODYS_KUBECONFIG).unwrap();
    let netns = test_support::netns::NetNs::new_loopback();
    let run = Run {
        kubeconfig,
        focus: r"\[sig-node\] Pods should get a host IP".into(),
        skip: None,
        labels: None,
        procs: 1,
        report_dir: dir.path().join("report"),
        timeout: std::time::Duration::from_secs(600),
        attempts: 1,
    };
    let report = run.execute(&netns).unwrap();
    assert!(report.passed.is_empty(), "{report:?}");
    assert_eq!(report.failed, ["[SynchronizedBeforeSuite]"], "{report:?}");
    let log = std::fs::read_to_string(dir.path().join("report/e2e.log")).unwrap();
    assert!(log.contains("connection refused"), "{log}");
}

const NOBODYS_KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
";

#[test]
fn reads_a_junit_report() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="5"><testsuite name="Kubernetes e2e suite" tests="5">
  <testcase name="[SynchronizedBeforeSuite]" status="passed"></testcase>
  <testcase name="[SynchronizedAfterSuite]" status="failed"></testcase>
  <testcase name="[It] [sig-node] A passes [Conformance]" status="passed"></testcase>
  <testcase name="[It] [sig-node] B fails [Conformance]" status="failed"><failure message="x"></failure></testcase>
  <testcase name="[It] [sig-node] C times out [Conformance]" status="timedout"></testcase>
  <testcase name="[It] [sig-node] D needs two nodes [Conformance]" status="skipped"><skipped message="skipped - Requires at least 2 nodes"></skipped></testcase>
  <testcase name="[It] [sig-apps] E filtered out" status="skipped"><skipped message="skipped"></skipped></testcase>
</testsuite></testsuites>"#;
    let report = Report::parse(xml).unwrap();
    assert_eq!(report.passed, ["[sig-node] A passes [Conformance]"]);
    assert_eq!(
        report.failed,
        [
            "[SynchronizedAfterSuite]",
            "[sig-node] B fails [Conformance]",
            "[sig-node] C times out [Conformance]"
        ]
    );
    assert_eq!(
        report.skipped,
        [(
            "[sig-node] D needs two nodes [Conformance]".to_string(),
            "Requires at least 2 nodes".to_string()
        )]
    );
    assert_eq!(report.counts(), "passed 1, failed 3, skipped 1");
    assert!(Report::parse("not xml").is_err());
}

/// A spec that passed at its second attempt is named as flaked, and each
/// failure says why in a few lines (ginkgo 2's report of a two-spec suite
/// run with --flake-attempts=2, its timelines shortened).
#[test]
fn names_flaked_specs_and_why_specs_failed() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="flaky" tests="2">
  <testcase name="[It] thing flakes once" status="passed">
    <system-err>&gt; Enter [It] flakes once - flaky_test.go:14
[FAILED] Failure recorded during attempt 1:
first attempt fails
Unexpected error:
    &lt;*fs.PathError | 0xb13778cc210&gt;: 
    stat /tmp/flaky/marker: no such file or directory
occurred
In [It] at: /tmp/flaky/flaky_test.go:20 @ 12/06/26 14:59:12.882
&lt; Exit [It] flakes once - flaky_test.go:14 (0s)

Attempt #1 Failed.  Retrying ↺ @ 12/06/26 14:59:12.882

&gt; Enter [It] flakes once - flaky_test.go:14
&lt; Exit [It] flakes once - flaky_test.go:14 (0s)
</system-err>
  </testcase>
  <testcase name="[It] thing passes" status="passed">
    <system-err>&gt; Enter [It] passes - flaky_test.go:24
</system-err>
  </testcase>
  <testcase name="[It] thing fails always" status="failed">
    <failure message="never equal&#xA;Expected&#xA;    &lt;int&gt;: 1&#xA;to equal&#xA;    &lt;int&gt;: 2" type="failed">[FAILED] never equal
Expected
    &lt;int&gt;: 1
to equal
    &lt;int&gt;: 2
In [It] at: /tmp/flaky/flaky_test.go:23 @ 12/06/26 14:59:12.883
</failure>
  </testcase>
</testsuite></testsuites>"#;
    let report = Report::parse(xml).unwrap();
    assert_eq!(report.passed, ["thing flakes once", "thing passes"]);
    assert_eq!(report.flaked, ["thing flakes once"]);
    assert_eq!(report.failed, ["thing fails always"]);
    assert_eq!(
        report.counts(),
        "passed 2 (1 of them at a second attempt), failed 1, skipped 0"
    );
    assert_eq!(
        report.why["thing fails always"],
        "never equal\nExpected\n    <int>: 1\nto equal\n\
         In [It] at: /tmp/flaky/flaky_test.go:23 @ 12/06/26 14:59:12.883"
    );
    assert_eq!(
        report.why["thing flakes once"],
        "[FAILED] Failure recorded during attempt 1:\nfirst attempt fails\nUnexpected error:\n\
         \x20   <*fs.PathError | 0xb13778cc210>: \n\
         In [It] at: /tmp/flaky/flaky_test.go:20 @ 12/06/26 14:59:12.882"
    );
    let explained = report.explain();
    assert!(
        explained.starts_with("FAILED: thing fails always\n    never equal\n"),
        "{explained}"
    );
    assert!(
        explained.contains("FLAKED: thing flakes once\n"),
        "{explained}"
    );
}

/// Two runs' outcomes compared spec by spec: a spec that passed in one and
/// failed, was skipped or did not run in the other is named with both.
#[test]
fn tells_which_specs_two_runs_judged_differently() {
    let run = |passed: &[&str], failed: &[&str], skipped: &[&str]| Report {
        passed: passed.iter().map(|s| s.to_string()).collect(),
        failed: failed.iter().map(|s| s.to_string()).collect(),
        skipped: skipped
            .iter()
            .map(|s| (s.to_string(), "why".into()))
            .collect(),
        ..Report::default()
    };
    let this = run(&["a", "b", "c", "e"], &["d"], &["f"]);
    assert!(this.differences(&this).is_empty());
    let other = run(&["a", "c", "d"], &["b"], &["e", "f"]);
    assert_eq!(
        this.differences(&other),
        [
            ("b".to_string(), "passed", "failed"),
            ("d".to_string(), "failed", "passed"),
            ("e".to_string(), "passed", "skipped"),
        ]
    );
    let fewer = run(&["a"], &[], &[]);
    assert_eq!(
        fewer.differences(&run(&["a", "g"], &[], &[]))[0],
        ("g".to_string(), "not run", "passed")
    );
}

/// The CoreDNS image built is the one kubeadm's addon runs, at the version
/// tests/go/pins.txt pins.
#[test]
fn coredns_is_the_image_kubeadm_names() {
    let kubeadm = Release::NEWEST.bin("kubeadm");
    if !require(
        kubeadm.is_file(),
        &format!("{} (make deps-go)", kubeadm.display()),
    ) {
        return;
    }
    let out = std::process::Command::new(&kubeadm)
        .args(["config", "images", "list", "--kubernetes-version"])
        .arg(Release::NEWEST.version())
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.lines().any(|l| l == coredns().reference()),
        "kubeadm names another CoreDNS than {}:\n{listed}",
        coredns().reference()
    );
    let pins = std::fs::read_to_string(repo::path("tests/go/pins.txt")).unwrap();
    assert!(
        pins.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["coredns", "github.com/coredns/coredns", COREDNS_TAG]),
        "tests/go/pins.txt does not pin coredns at {COREDNS_TAG}"
    );
}

/// Whether the on-cluster runs can run here: the suite, root and every part
/// of the cluster (else skipped, and failed in CI, naming what is missing).
fn can_run_on_a_cluster() -> bool {
    if !have_suite() {
        return false;
    }
    if !test_support::ci::is_root() {
        return require(false, "root (a Kubernetes node)");
    }
    match pause_e2e::conformance::missing(Release::NEWEST) {
        Some(missing) => require(false, &missing),
        None => true,
    }
}

/// The sandbox subset of the sig-node conformance specs (pod lifecycle,
/// containers, hooks, probes, init and ephemeral containers, security
/// contexts, RuntimeClass...) on a node whose sandbox image is this
/// project's, pulled from the registry: none fails.
#[test]
fn the_sandbox_subset_passes_with_this_image() {
    if !can_run_on_a_cluster() {
        return;
    }
    let images = tempfile::tempdir().unwrap();
    let sandbox = repo::built_pause_archive();
    let cluster = conformance::start_cluster(Release::NEWEST, sandbox, images.path(), true)
        .unwrap_or_else(|e| panic!("{e}"));
    let plan = Plan {
        focus: SANDBOX_SUBSET,
        procs: SUBSET_PROCS,
        attempts: SUBSET_ATTEMPTS,
        report_dir: &repo::path("target/conformance/sandbox-subset"),
        timeout: SUBSET_TIMEOUT,
    };
    let report = conformance::run_on(&cluster, &plan).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("the sandbox subset with this image: {}", report.counts());
    eprint!("{}", report.explain());
    for (spec, why) in &report.skipped {
        eprintln!("  skipped by the suite: {spec}: {why}");
    }
    assert!(report.passed.len() >= 50, "{report:#?}");
    assert!(report.failed.is_empty(), "failed:\n{}", report.explain());
}

const SUBSET_TIMEOUT: Duration = Duration::from_secs(40 * 60);
/// e2e.test processes at once: the long specs (four probes watched for
/// 4 min, 500 pod updates) mostly wait, so six fit two cores.
const SUBSET_PROCS: usize = 6;
/// A spec that fails is run once more before it fails the test (and is
/// printed as flaked if it then passes): on a loaded two-core CI machine
/// one of 63 specs failed once in three runs (a post-start HTTP hook),
/// which a second attempt tells apart from a spec this image breaks,
/// which fails both. `make conformance` gives no second attempt.
const SUBSET_ATTEMPTS: u32 = 2;

/// The negative control: the same cluster with a sandbox image that exits
/// at once (busybox under this image's name) fails the specs that need a
/// pod to run, so a run of this suite can fail.
#[test]
fn a_sandbox_that_exits_fails_named_specs() {
    if !can_run_on_a_cluster() {
        return;
    }
    let images = tempfile::tempdir().unwrap();
    let reference = format!("localhost/pause:{}", repo::version());
    let exiting = pause_e2e::critest_images::exiting_pause(images.path(), &reference);
    // Without kube-proxy and CoreDNS: CoreDNS's pods could not start either.
    let cluster = conformance::start_cluster(Release::NEWEST, exiting, images.path(), false)
        .unwrap_or_else(|e| panic!("{e}"));
    let plan = Plan {
        focus: NEEDS_A_RUNNING_POD,
        procs: 1,
        attempts: 1,
        report_dir: &repo::path("target/conformance/negative-control"),
        timeout: SUBSET_TIMEOUT,
    };
    let report = conformance::run_on(&cluster, &plan).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "one spec with a sandbox that exits at once: {}",
        report.counts()
    );
    assert!(report.passed.is_empty(), "{report:#?}");
    assert_eq!(report.failed.len(), 1, "{report:#?}");
    assert!(
        report.failed[0].contains("should get a host IP"),
        "{report:#?}"
    );
}

const NEEDS_A_RUNNING_POD: &str = r"\[sig-node\] Pods should get a host IP";
