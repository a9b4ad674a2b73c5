//! Kubernetes' conformance suite as the project runs it: e2e.test and ginkgo
//! (`make deps-go`, tests/go/kubernetes-1.37), the specs skipped for a reason
//! the machine imposes (tests/conformance/skip.toml), the named subset of the
//! sig-node specs that touch the pod sandbox, and what a run's JUnit report
//! says.

use crate::conformance_images::KUBERNETES;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every `[Conformance]` spec.
pub const ALL: &str = r"\[Conformance\]";

/// Every sig-node `[Conformance]` spec.
pub const SIG_NODE: &str = r"\[sig-node\].*\[Conformance\]";

/// The sig-node conformance specs whose pods exercise the sandbox: pod
/// lifecycle and status, containers' commands and exit, lifecycle hooks,
/// probes, init and ephemeral containers, security contexts, RuntimeClass,
/// the kubelet's logs and /etc/hosts, PreStop. (Left out: specs of API
/// objects alone, such as ConfigMap, Secret, PodTemplate, Lease, DRA.)
pub const SANDBOX_SUBSET: &str = r"\[sig-node\] (Pods |Pods Extended|Container Lifecycle Hook|Container Runtime|Containers |Probing container|InitContainer|Ephemeral Containers|Security Context|RuntimeClass|Kubelet |KubeletManagedEtcHosts|PreStop|Sysctls).*\[Conformance\]";

/// e2e.test, built by `make deps-go`.
pub fn e2e_test() -> PathBuf {
    bin("e2e.test")
}

/// ginkgo's CLI, at the version e2e.test was written for.
pub fn ginkgo() -> PathBuf {
    bin("ginkgo")
}

fn bin(name: &str) -> PathBuf {
    test_support::repo::path(&format!("target/go/{KUBERNETES}/bin/{name}"))
}

/// Which runs skip a spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runs {
    /// Every run.
    All,
    /// Runs on the harness's one-node cluster.
    OneNode,
}

/// One entry of tests/conformance/skip.toml.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Skip {
    /// A regular expression matched against the spec's full name.
    pub spec: String,
    pub runs: Runs,
    pub reason: String,
}

/// tests/conformance/skip.toml.
pub fn skips() -> Vec<Skip> {
    #[derive(serde::Deserialize)]
    struct File {
        skip: Vec<Skip>,
    }
    let path = test_support::repo::path("tests/conformance/skip.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    file.skip
}

/// The skips a run on a cluster of `nodes` nodes applies, as one
/// `--ginkgo.skip` pattern (None when there is none).
pub fn skip_pattern(nodes: usize) -> Option<String> {
    let specs: Vec<String> = skips()
        .into_iter()
        .filter(|s| s.runs == Runs::All || nodes == 1)
        .map(|s| format!("({})", s.spec))
        .collect();
    (!specs.is_empty()).then(|| specs.join("|"))
}

/// The specs labelled `[MinimumKubeletVersion:1.N]` for a minor N newer
/// than `kubelet`'s, up to the suite's own release, as one `--ginkgo.skip`
/// pattern (None when the kubelet is the suite's release). Kubernetes marks
/// with that label the specs a kubelet older than N cannot pass (features it
/// lacks); e2e.test runs them anyway, and its version-skew jobs skip them.
pub fn newer_kubelet_pattern(kubelet: test_support::kube::Release) -> Option<String> {
    let minor = |r: test_support::kube::Release| -> u32 {
        let version = r.version();
        let minor = version.trim_start_matches("v1.").split('.').next();
        minor
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("{}: not v1.N.P", r.0))
    };
    let (node, suite) = (
        minor(kubelet),
        minor(test_support::kube::Release(KUBERNETES)),
    );
    let newer: Vec<String> = (node + 1..=suite).map(|m| m.to_string()).collect();
    (!newer.is_empty()).then(|| format!(r"\[MinimumKubeletVersion:1\.({})\]", newer.join("|")))
}

/// The full names of the specs e2e.test would run for `focus` and `skip`,
/// from its dry run (no cluster needed).
pub fn dry_run(focus: &str, skip: Option<&str>) -> Result<Vec<String>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let report = dir.path().join("junit.xml");
    let mut c = Command::new(e2e_test());
    c.current_dir(dir.path())
        .arg("--ginkgo.dry-run")
        .arg(format!("--ginkgo.focus={focus}"))
        .arg(format!("--ginkgo.junit-report={}", report.display()));
    if let Some(skip) = skip {
        c.arg(format!("--ginkgo.skip={skip}"));
    }
    let out = c
        .output()
        .map_err(|e| format!("{}: {e}", e2e_test().display()))?;
    if !out.status.success() {
        return Err(format!(
            "e2e.test --ginkgo.dry-run: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let report = Report::read(&report)?;
    Ok(report.passed)
}

/// The images e2e.test may ask for (`--list-images`).
pub fn listed_images() -> Result<Vec<String>, String> {
    let out = Command::new(e2e_test())
        .arg("--list-images")
        .output()
        .map_err(|e| format!("{}: {e}", e2e_test().display()))?;
    if !out.status.success() {
        return Err(format!("e2e.test --list-images: {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// What a run's JUnit report (ginkgo's) says about its specs, by full name.
/// Specs the focus left out are in the report as skipped with no reason;
/// they are counted nowhere.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub passed: Vec<String>,
    pub failed: Vec<String>,
    /// Passed, but only at a later attempt (a run with `attempts` > 1):
    /// also in `passed`, named so that a flaky spec is seen, not hidden.
    pub flaked: Vec<String>,
    /// Skipped by the suite itself as it ran (Skip with a reason).
    pub skipped: Vec<(String, String)>,
    /// Why each failed or flaked spec failed: the failure's first lines and
    /// where in the suite it was raised (CI keeps the output, not the
    /// report).
    pub why: std::collections::BTreeMap<String, String>,
}

impl Report {
    pub fn read(path: &Path) -> Result<Report, String> {
        let xml = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Report::parse(&xml).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(xml: &str) -> Result<Report, String> {
        let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not JUnit XML: {e}"))?;
        let mut report = Report::default();
        for case in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
            let name = case.attribute("name").unwrap_or_default();
            let status = case.attribute("status").unwrap_or_default();
            // Suite nodes (BeforeSuite, ReportAfterSuite...) are not specs,
            // but when one fails (no cluster, say) the run has failed.
            let Some(name) = name.strip_prefix("[It] ") else {
                if !matches!(status, "passed" | "skipped") {
                    report.failed.push(name.to_string());
                }
                continue;
            };
            let name = name.to_string();
            match status {
                "passed" => {
                    if let Some(why) = first_failed_attempt(case) {
                        report.why.insert(name.clone(), why);
                        report.flaked.push(name.clone());
                    }
                    report.passed.push(name)
                }
                "skipped" => {
                    let message = case
                        .children()
                        .find(|c| c.has_tag_name("skipped"))
                        .and_then(|s| s.attribute("message"))
                        .unwrap_or_default();
                    if let Some(reason) = message.strip_prefix("skipped - ") {
                        report.skipped.push((name, reason.to_string()));
                    }
                }
                // failed, panicked, timedout, interrupted, aborted, pending.
                _ => {
                    if let Some(why) = failure(case) {
                        report.why.insert(name.clone(), why);
                    }
                    report.failed.push(name)
                }
            }
        }
        Ok(report)
    }

    /// Each failed spec with why, then each flaked one: what a reader of
    /// CI's output needs to tell a cluster's fault from the image's.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let listed = self.failed.iter().map(|s| ("FAILED", s));
        for (what, spec) in listed.chain(self.flaked.iter().map(|s| ("FLAKED", s))) {
            out.push_str(&format!("{what}: {spec}\n"));
            if let Some(why) = self.why.get(spec) {
                for line in why.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
        out
    }

    /// The specs whose outcome (passed, failed, skipped, not run) differs
    /// between this run and `other`: (spec, its outcome here, in `other`).
    pub fn differences(&self, other: &Report) -> Vec<(String, &'static str, &'static str)> {
        let (here, there) = (self.outcomes(), other.outcomes());
        let specs: std::collections::BTreeSet<&str> =
            here.keys().chain(there.keys()).copied().collect();
        specs
            .into_iter()
            .filter_map(|spec| {
                let a = here.get(spec).copied().unwrap_or("not run");
                let b = there.get(spec).copied().unwrap_or("not run");
                (a != b).then(|| (spec.to_string(), a, b))
            })
            .collect()
    }

    fn outcomes(&self) -> std::collections::BTreeMap<&str, &'static str> {
        let passed = self.passed.iter().map(|s| (s.as_str(), "passed"));
        let failed = self.failed.iter().map(|s| (s.as_str(), "failed"));
        let skipped = self.skipped.iter().map(|(s, _)| (s.as_str(), "skipped"));
        passed.chain(failed).chain(skipped).collect()
    }

    /// `passed N, failed N, skipped N` (the passed count says how many of
    /// them flaked, when some did).
    pub fn counts(&self) -> String {
        let flaked = match self.flaked.len() {
            0 => String::new(),
            n => format!(" ({n} of them at a second attempt)"),
        };
        format!(
            "passed {}{flaked}, failed {}, skipped {}",
            self.passed.len(),
            self.failed.len(),
            self.skipped.len()
        )
    }
}

/// The lines of a failure worth printing: ginkgo's messages can hold whole
/// objects (a pod's YAML), so the first few lines and the location.
const WHY_LINES: usize = 4;

/// A failed spec's failure: its message's first lines and where it was
/// raised (the description's `In [It] at: file:line` line).
fn failure(case: roxmltree::Node) -> Option<String> {
    let node = case
        .children()
        .find(|c| c.has_tag_name("failure") || c.has_tag_name("error"))?;
    let message = node.attribute("message").unwrap_or_default();
    let text = node.text().unwrap_or_default();
    Some(why(message, text.lines().find(|l| l.starts_with("In ["))))
}

/// A passed spec's failed attempt, if it had one: ginkgo's timeline (the
/// report's system-err) says `Attempt #N Failed.  Retrying`, with the
/// `[FAILED]` line and its location before it.
fn first_failed_attempt(case: roxmltree::Node) -> Option<String> {
    let timeline = case
        .children()
        .find(|c| c.has_tag_name("system-err"))?
        .text()?;
    let retry = timeline.find("Failed.  Retrying")?;
    let before = &timeline[..retry];
    let failed = before.rfind("[FAILED]").map_or("", |at| &before[at..]);
    let located = failed.lines().find(|l| l.trim_start().starts_with("In ["));
    Some(why(failed, located))
}

/// The first lines of a failure's `message`, then where it was raised
/// (its `In [It] at: file:line` line).
fn why(message: &str, located: Option<&str>) -> String {
    let mut why: Vec<&str> = message.lines().take(WHY_LINES).collect();
    why.extend(located);
    why.join("\n")
}

/// One run of the suite against a cluster.
#[derive(Clone, Debug)]
pub struct Run {
    /// The administrator's kubeconfig.
    pub kubeconfig: PathBuf,
    pub focus: String,
    pub skip: Option<String>,
    /// ginkgo's label filter (`Serial`, `!Serial`): e2e.test labels specs
    /// as their names' brackets say.
    pub labels: Option<String>,
    /// Specs run at once: 1 runs e2e.test alone, more run it under ginkgo's
    /// CLI, which starts that many e2e.test processes (give `[Serial]` specs
    /// a run of their own with 1).
    pub procs: usize,
    /// Where the JUnit report (`junit.xml`) and the output (`e2e.log`) go.
    pub report_dir: PathBuf,
    /// The whole run's limit (ginkgo's own --timeout; the suite's specs
    /// have theirs).
    pub timeout: std::time::Duration,
    /// Times a failing spec is run before it counts as failed (ginkgo's
    /// --flake-attempts); a spec that passes at a later one is reported as
    /// flaked.
    pub attempts: u32,
}

impl Run {
    pub fn junit(&self) -> PathBuf {
        self.report_dir.join("junit.xml")
    }

    /// The command line, run in `netns` (the cluster's: the API server and
    /// the pods' addresses are reachable there only), with `kubeconfig`.
    pub fn command(&self, netns: &test_support::netns::NetNs, kubeconfig: &Path) -> Command {
        let timeout = format!("{}s", self.timeout.as_secs());
        let mut ginkgo_flags = vec![
            format!("focus={}", self.focus),
            format!("junit-report={}", self.junit().display()),
            format!("timeout={timeout}"),
            "no-color".to_string(),
            "poll-progress-after=300s".to_string(),
        ];
        if self.attempts > 1 {
            ginkgo_flags.push(format!("flake-attempts={}", self.attempts));
        }
        ginkgo_flags.extend(self.skip.iter().map(|s| format!("skip={s}")));
        ginkgo_flags.extend(self.labels.iter().map(|l| format!("label-filter={l}")));
        // The kubectl of the suite's own release: the specs of sig-cli run
        // it, and a kubectl found on PATH may be any version.
        let kubectl = bin("kubectl");
        let suite_flags = [
            format!("--kubeconfig={}", kubeconfig.display()),
            format!("--kubectl-path={}", kubectl.display()),
        ];
        if self.procs <= 1 {
            let mut c = netns.command(e2e_test());
            c.args(ginkgo_flags.iter().map(|f| format!("--ginkgo.{f}")))
                .args(suite_flags);
            c
        } else {
            let mut c = netns.command(ginkgo());
            c.arg(format!("--procs={}", self.procs))
                .args(ginkgo_flags.iter().map(|f| format!("--{f}")))
                .arg(e2e_test())
                .arg("--")
                .args(suite_flags);
            c
        }
    }

    /// Runs the suite in `netns`, its processes registered with the
    /// harness's teardown; returns what its JUnit report says, or why there
    /// is no report. A run that outlives its timeout by five minutes is
    /// stopped.
    pub fn execute(&self, netns: &test_support::netns::NetNs) -> Result<Report, String> {
        use test_support::teardown::{Resource, register};
        std::fs::create_dir_all(&self.report_dir)
            .map_err(|e| format!("{}: {e}", self.report_dir.display()))?;
        let log_path = self.report_dir.join("e2e.log");
        let log =
            std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let work = tempfile::Builder::new()
            .prefix("pause-conformance.")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let live = register(
            Resource::new(format!("conformance run {}", work.path().display())).dir(work.path()),
        );
        // Every e2e.test process (ginkgo starts one per proc) gets this copy
        // on its command line: that ties them to the run's directory, and the
        // teardown stops every process naming it.
        let kubeconfig = work.path().join("kubeconfig");
        std::fs::copy(&self.kubeconfig, &kubeconfig)
            .map_err(|e| format!("{}: {e}", self.kubeconfig.display()))?;
        let mut command = self.command(netns, &kubeconfig);
        command
            .current_dir(work.path())
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let start = std::time::Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("{:?}: {e}", command.get_program()))?;
        live.add_process(child.id());
        let limit = self.timeout + std::time::Duration::from_secs(300);
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if start.elapsed() > limit {
                live.release();
                let _ = child.wait();
                return Err(format!(
                    "the suite still ran after {limit:?}, stopped; its output: {}",
                    log_path.display()
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        };
        live.forget_process(child.id());
        live.release();
        eprintln!(
            "conformance ({}): e2e.test {status} after {:?}; its output: {}",
            self.focus,
            start.elapsed(),
            log_path.display()
        );
        Report::read(&self.junit()).map_err(|e| {
            format!(
                "the suite ({status}) wrote no report: {e}; its output: {}",
                log_path.display()
            )
        })
    }
}

/// What a conformance cluster with `kubelet` lacks on this machine, if
/// anything: a part of the node, or an input of the suite's images.
pub fn missing(kubelet: test_support::kube::Release) -> Option<String> {
    let containerd =
        test_support::cri::Containerd::new("2.1", test_support::cri::Dialect::PinnedImagesV3);
    test_support::kube::Cluster::missing(kubelet, containerd)
        .or_else(|| crate::conformance_images::Inputs::of_this_repo().missing())
        .or_else(|| {
            (!e2e_test().is_file())
                .then(|| format!("{} missing: run `make deps-go`", e2e_test().display()))
        })
}

/// A one-node cluster conformance can judge: containerd 2.1 (the node a
/// new cluster gets), kubelet of `kubelet`, with `services` kube-proxy and
/// CoreDNS, and the registry serving the sandbox image (`sandbox`, an OCI
/// archive) and every image the suite pulls, built into `images_dir`. Err
/// says what is missing or which part did not start.
pub fn start_cluster(
    kubelet: test_support::kube::Release,
    sandbox: PathBuf,
    images_dir: &Path,
    services: bool,
) -> Result<test_support::kube::Cluster, String> {
    use crate::conformance_images::{Inputs, REGISTRIES, build_all};
    use test_support::cri::{Containerd, Dialect};
    use test_support::kube::{Addons, Cluster, KubeletSettings, Options};
    let containerd = Containerd::new("2.1", Dialect::PinnedImagesV3);
    if let Some(missing) = missing(kubelet) {
        return Err(missing);
    }
    let built = build_all(&Inputs::of_this_repo(), images_dir)?;
    let options = Options {
        kubelet,
        containerd,
        sandbox_archive: sandbox,
        kubelet_settings: KubeletSettings::default(),
        preload: Vec::new(),
        addons: Addons {
            images: built.into_iter().map(|(_, archive)| archive).collect(),
            mirrored: REGISTRIES.to_vec(),
            services,
        },
    };
    Cluster::start(options)
}

/// Debian's catatonit (static), the sandbox a side-by-side run sets beside
/// this image.
pub const CATATONIT: &str = "/usr/bin/catatonit";

/// `catatonit -P` packed as a sandbox image under this project's reference
/// (`localhost/pause:<version>`, uid 65535, as the benchmarks pack it), so
/// that a cluster started with it differs from this image's only in the
/// sandbox's program. Written to `dir`; returns the archive.
pub fn catatonit_sandbox(dir: &Path) -> Result<PathBuf, String> {
    let binary = std::fs::read(CATATONIT)
        .map_err(|e| format!("{CATATONIT}: {e} (make deps installs Debian's catatonit)"))?;
    let options = xtask::Options {
        epoch: 0,
        path: "/catatonit".into(),
        entrypoint: vec!["/catatonit".into(), "-P".into()],
        user: "65535:65535".into(),
        labels: Default::default(),
        name: "localhost/pause".into(),
        tag: test_support::repo::version(),
        tool: "pause-e2e conformance".into(),
    };
    let input = xtask::Input {
        arch: test_support::repo::host_arch().into(),
        binary,
        source_name: "catatonit".into(),
    };
    let built = xtask::build(&options, &[input]).map_err(|e| format!("pack catatonit: {e}"))?;
    let archive = dir.join("catatonit-sandbox.tar");
    std::fs::write(&archive, built.archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    Ok(archive)
}

/// How to run the specs on a cluster: which, how many at once, each
/// given how many attempts, within what time, with reports where.
pub struct Plan<'a> {
    pub focus: &'a str,
    pub procs: usize,
    pub attempts: u32,
    pub report_dir: &'a Path,
    pub timeout: std::time::Duration,
}

/// Runs the specs `plan.focus` picks (less the skip file's, and those
/// labelled for a newer kubelet than the cluster's) on `cluster`:
/// those not marked `[Serial]` under ginkgo with `plan.procs` processes,
/// then the `[Serial]` ones alone, as Kubernetes' own conformance jobs do.
/// Each part's JUnit report and output go under `plan.report_dir`
/// (`parallel/`, `serial/`); the result is both reports together.
pub fn run_on(cluster: &test_support::kube::Cluster, plan: &Plan) -> Result<Report, String> {
    let parts = [("parallel", "!Serial", plan.procs), ("serial", "Serial", 1)];
    let mut all = Report::default();
    for (name, labels, procs) in parts {
        let run = Run {
            kubeconfig: cluster.layout.kubeconfig("admin"),
            focus: plan.focus.to_string(),
            skip: [
                skip_pattern(1),
                newer_kubelet_pattern(cluster.options.kubelet),
            ]
            .into_iter()
            .flatten()
            .reduce(|a, b| format!("{a}|{b}")),
            labels: Some(labels.to_string()),
            procs,
            report_dir: plan.report_dir.join(name),
            timeout: plan.timeout,
            attempts: plan.attempts,
        };
        let report = run.execute(cluster.netns())?;
        eprintln!("conformance, {name} part: {}", report.counts());
        all.passed.extend(report.passed);
        all.failed.extend(report.failed);
        all.flaked.extend(report.flaked);
        all.skipped.extend(report.skipped);
        all.why.extend(report.why);
    }
    Ok(all)
}
