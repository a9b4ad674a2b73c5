//! Kubernetes' conformance suite (e2e.test v1.37.2, `make deps-go`) and
//! what this project gives it: the images its sig-node `[Conformance]` specs
//! pull (pause_e2e::conformance_images), the skip file
//! (tests/conformance/skip.toml) and the named subset of specs that touch
//! the sandbox. These checks need no cluster: they hold the project's
//! lists to what the suite itself says, so that an upgrade of the pin that
//! renames an image or a spec fails here.

use pause_e2e::conformance::{
    self, ALL, Report, Run, SANDBOX_SUBSET, SIG_NODE, dry_run, listed_images, skips,
};
use pause_e2e::conformance_images::images;
use test_support::ci::require;

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
        procs: 1,
        report_dir: dir.path().join("report"),
        timeout: std::time::Duration::from_secs(600),
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
