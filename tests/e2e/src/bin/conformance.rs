//! `conformance [--kubelet 1.34] [FOCUS]` (`make conformance [KUBELET=1.34]`):
//! every `[Conformance]` spec of e2e.test (or those FOCUS picks) on a
//! one-node cluster whose sandbox image is this project's
//! (pause_e2e::conformance::start_cluster), the `[Serial]` ones alone after
//! the rest. The control plane and e2e.test are the newest release; the
//! node's kubelet is that release too, or v1.34 with `--kubelet 1.34` (the
//! kubelet is what talks to the runtime that starts the sandbox). Prints
//! passed / failed / skipped, keeps ginkgo's JUnit reports (gzip) and a
//! summary under tests/conformance/results/ (results/kubelet-1.34/ for
//! v1.34), and exits non-zero when a spec failed.
//!
//! `conformance --side-by-side` (`make conformance-side-by-side`): the
//! sig-node `[Conformance]` specs on two new clusters alike but for the
//! sandbox, this image and catatonit -P; writes
//! tests/conformance/results/side-by-side.md and exits non-zero when a spec
//! failed or the two result sets differ.

use pause_e2e::conformance::{self, ALL, Plan, Report, SIG_NODE};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use test_support::kube::Release;
use test_support::repo;

/// The whole run's limit: the specs carry their own timeouts.
const TIMEOUT: Duration = Duration::from_secs(3 * 3600);
/// e2e.test processes at once: most specs wait on timers, and the sandbox
/// subset passed with six on this machine's two cores.
const PROCS: usize = 6;
const USAGE: &str = "usage: conformance [--kubelet 1.34|1.37] [FOCUS] | conformance --side-by-side";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => whole(Release::NEWEST, ALL),
        [flag] if flag == "--side-by-side" => side_by_side(),
        [flag, minor, rest @ ..] if flag == "--kubelet" && rest.len() <= 1 => kubelet(minor)
            .and_then(|release| whole(release, rest.first().map_or(ALL, String::as_str))),
        [flag] if flag == "--kubelet" => Err(format!("--kubelet needs a release; {USAGE}")),
        [flag, ..] if flag.starts_with('-') => Err(format!("unknown option {flag}; {USAGE}")),
        [focus] => whole(Release::NEWEST, focus),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("conformance: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The kubelet release `--kubelet` names: one of the two the harness runs.
fn kubelet(minor: &str) -> Result<Release, String> {
    [Release::NEWEST, Release::V1_34]
        .into_iter()
        .find(|r| r.0 == format!("kubernetes-{minor}"))
        .ok_or_else(|| format!("no kubelet {minor} is built here (1.34 or 1.37); {USAGE}"))
}

/// The specs `focus` picks on a cluster whose sandbox is this image and
/// whose kubelet is `kubelet`; Ok says whether none failed.
fn whole(kubelet: Release, focus: &str) -> Result<bool, String> {
    // The skips this run applies (run_on reads the file as each part starts).
    let skips = conformance::skips();
    let work = repo::path("target/conformance/run");
    let (report, took) = run_with(kubelet, repo::built_pause_archive(), "/pause", focus, &work)?;
    println!(
        "conformance: {} in {} min",
        report.counts(),
        took.as_secs() / 60
    );
    print!("{}", report.explain());
    keep(kubelet, &work, &report, &skips, focus, took)?;
    Ok(report.failed.is_empty())
}

/// Starts a cluster whose kubelet is `kubelet` and whose sandbox image is
/// `sandbox` (an OCI archive whose program is `program`), runs the specs
/// `focus` picks with reports under `work`, and stops it. Err when the
/// cluster did not start or its sandboxes are not `program`.
fn run_with(
    kubelet: Release,
    sandbox: PathBuf,
    program: &str,
    focus: &str,
    work: &Path,
) -> Result<(Report, Duration), String> {
    let images = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let started = Instant::now();
    let cluster = conformance::start_cluster(kubelet, sandbox, images.path(), true)?;
    // CoreDNS's pods run by now: their sandboxes must be the program asked for.
    if sandboxes_running(program) == 0 {
        return Err(format!(
            "the cluster started, but no process runs {program}: the sandbox image is not the one asked for"
        ));
    }
    let _ = std::fs::remove_dir_all(work);
    let plan = Plan {
        focus,
        procs: PROCS,
        // A certification run: a spec has one attempt.
        attempts: 1,
        report_dir: work,
        timeout: TIMEOUT,
    };
    let report = conformance::run_on(&cluster, &plan)?;
    drop(cluster);
    Ok((report, started.elapsed()))
}

/// Processes whose command line starts with `program` (a sandbox's).
fn sandboxes_running(program: &str) -> usize {
    test_support::procfs::command_lines()
        .iter()
        .filter(|(_, line)| line.split(' ').next() == Some(program))
        .count()
}

/// One side of a side-by-side run.
struct Side {
    sandbox: &'static str,
    report: Report,
    took: Duration,
}

/// The sig-node `[Conformance]` specs with this image, then with catatonit
/// -P, as every sandbox of a new cluster; Ok says whether both passed the
/// same specs and failed none.
fn side_by_side() -> Result<bool, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let sandboxes = [
        ("this image", repo::built_pause_archive(), "/pause", "pause"),
        (
            "catatonit -P",
            conformance::catatonit_sandbox(dir.path())?,
            "/catatonit",
            "catatonit",
        ),
    ];
    let mut sides = Vec::new();
    for (sandbox, archive, program, key) in sandboxes {
        let work = repo::path(&format!("target/conformance/side-by-side/{key}"));
        let (report, took) = run_with(Release::NEWEST, archive, program, SIG_NODE, &work)?;
        println!(
            "sig-node conformance, sandbox {sandbox}: {} in {} min",
            report.counts(),
            took.as_secs() / 60
        );
        print!("{}", report.explain());
        sides.push(Side {
            sandbox,
            report,
            took,
        });
    }
    let differences = sides[0].report.differences(&sides[1].report);
    for (spec, a, b) in &differences {
        println!("DIFFERS: {spec}: {a} with this image, {b} with catatonit -P");
    }
    keep_side_by_side(&sides, &differences)?;
    Ok(differences.is_empty() && sides.iter().all(|s| s.report.failed.is_empty()))
}

/// A command's first line of output, or `?` when it has none.
fn output(program: &str, args: &[&str]) -> String {
    let mut command = std::process::Command::new(program);
    command.args(args);
    let run = test_support::command::run(command);
    let stdout = run.stdout();
    let line = stdout.lines().next().filter(|_| run.ok());
    line.filter(|l| !l.is_empty()).unwrap_or("?").to_string()
}

/// ginkgo's report, compressed: it holds every spec of e2e.test (those the
/// focus left out as skipped) and each run spec's whole timeline, megabytes
/// of text a repository keeps better as gzip (`zcat` reads it).
fn gzip(from: &Path, to: &Path) -> Result<(), String> {
    use std::io::Write;
    let xml = std::fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&xml).map_err(|e| e.to_string())?;
    let bytes = gz.finish().map_err(|e| e.to_string())?;
    std::fs::write(to, bytes).map_err(|e| format!("{}: {e}", to.display()))
}

/// Copies the JUnit reports to tests/conformance/results/ (kubelet-1.34/
/// for a v1.34 kubelet) and writes what the run was beside them.
fn keep(
    kubelet: Release,
    work: &Path,
    report: &Report,
    skips: &[conformance::Skip],
    focus: &str,
    took: Duration,
) -> Result<(), String> {
    let results = results_dir()?;
    let results = if kubelet == Release::NEWEST {
        results
    } else {
        let dir = results.join(kubelet.0.replace("kubernetes-", "kubelet-"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        dir
    };
    for part in ["parallel", "serial"] {
        let from = work.join(part).join("junit.xml");
        let to = results.join(format!("junit-{part}.xml.gz"));
        gzip(&from, &to)?;
    }
    let mut summary = format!(
        "# Conformance run\n\n\
         - e2e.test {version} (focus `{focus}`), on one node: kubelet {kubelet}, containerd 2.1, \
           control plane {version}, this project's image {image} as every pod's sandbox\n\
         - {counts}; {mins} min on this machine (2 cores), {PROCS} processes then `[Serial]` alone\n\
         - command: `make conformance{make_var}`, {when}\n",
        when = date_and_revision(),
        version = Release::NEWEST.version(),
        kubelet = kubelet.version(),
        make_var = if kubelet == Release::NEWEST {
            String::new()
        } else {
            format!(" KUBELET={}", kubelet.0.trim_start_matches("kubernetes-"))
        },
        image = format_args!("localhost/pause:{}", repo::version()),
        counts = report.counts(),
        mins = took.as_secs() / 60,
    );
    if !report.failed.is_empty() {
        summary.push_str("\n## Failed\n\n");
        summary.push_str(&failed_with_why(report));
    }
    if let Some(pattern) = conformance::newer_kubelet_pattern(kubelet) {
        summary.push_str(&format!(
            "\n## Skipped: labelled for a newer kubelet than {} (`{pattern}`)\n\n",
            kubelet.version()
        ));
        for spec in conformance::dry_run(&pattern, None)? {
            if spec.contains("[Conformance]") {
                summary.push_str(&format!("- {spec}\n"));
            }
        }
    }
    summary.push_str("\n## Skipped by tests/conformance/skip.toml (one node)\n\n");
    for skip in skips {
        let reason = skip.reason.split_whitespace().collect::<Vec<_>>().join(" ");
        summary.push_str(&format!("- `{}`: {reason}\n", skip.spec));
    }
    if !report.skipped.is_empty() {
        summary.push_str("\n## Skipped by the suite itself\n\n");
        for (s, why) in &report.skipped {
            summary.push_str(&format!("- {s}: {why}\n"));
        }
    }
    let path = results.join("summary.md");
    std::fs::write(&path, summary).map_err(|e| format!("{}: {e}", path.display()))
}

/// tests/conformance/results/, made if missing.
fn results_dir() -> Result<PathBuf, String> {
    let results = repo::path("tests/conformance/results");
    std::fs::create_dir_all(&results).map_err(|e| format!("{}: {e}", results.display()))?;
    Ok(results)
}

/// `<date>, revision <commit>`: when a kept summary was written, of what.
fn date_and_revision() -> String {
    format!(
        "{}, revision {}",
        output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        output("git", &["rev-parse", "--short=12", "HEAD"])
    )
}

/// A Markdown list of the failed specs, each with why.
fn failed_with_why(report: &Report) -> String {
    let mut list = String::new();
    for s in &report.failed {
        let why = report.why.get(s).map_or(String::new(), |w| {
            format!("\n\n  ```\n  {}\n  ```", w.replace('\n', "\n  "))
        });
        list.push_str(&format!("- {s}{why}\n"));
    }
    list
}

/// Writes tests/conformance/results/side-by-side.md: both runs' counts, the
/// specs whose outcome differs, each side's failures, the specs both passed.
fn keep_side_by_side(
    sides: &[Side],
    differences: &[(String, &'static str, &'static str)],
) -> Result<(), String> {
    let mut md = format!(
        "# Side by side: the sig-node [Conformance] specs, this image and catatonit -P\n\n\
         - e2e.test {version} (focus `{SIG_NODE}`), each side on a new one-node cluster \
           (kubelet {version}, containerd 2.1, kube-proxy, CoreDNS) alike but for the sandbox image: \
           this project's, and Debian's catatonit ({catatonit}) run as `catatonit -P`, packed under \
           the same reference as uid 65535; {PROCS} processes then `[Serial]` alone, one attempt\n\
         - command: `make conformance-side-by-side`, {when}\n\n\
         | sandbox | passed | failed | skipped by the suite | minutes |\n\
         |---|---|---|---|---|\n",
        version = Release::NEWEST.version(),
        catatonit = output(conformance::CATATONIT, &["--version"]),
        when = date_and_revision(),
    );
    for side in sides {
        let r = &side.report;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            side.sandbox,
            r.passed.len(),
            r.failed.len(),
            r.skipped.len(),
            side.took.as_secs() / 60
        ));
    }
    md.push_str("\n## Specs whose outcome differs\n\n");
    if differences.is_empty() {
        md.push_str("None.\n");
    }
    for (spec, a, b) in differences {
        md.push_str(&format!(
            "- {spec}: {a} with this image, {b} with catatonit -P\n"
        ));
    }
    for side in sides.iter().filter(|s| !s.report.failed.is_empty()) {
        md.push_str(&format!("\n## Failed with {}\n\n", side.sandbox));
        md.push_str(&failed_with_why(&side.report));
    }
    let both: Vec<&String> = sides[0]
        .report
        .passed
        .iter()
        .filter(|s| sides[1].report.passed.contains(s))
        .collect();
    md.push_str(&format!("\n## Passed with both ({})\n\n", both.len()));
    for spec in both {
        md.push_str(&format!("- {spec}\n"));
    }
    let path = results_dir()?.join("side-by-side.md");
    std::fs::write(&path, md).map_err(|e| format!("{}: {e}", path.display()))
}
