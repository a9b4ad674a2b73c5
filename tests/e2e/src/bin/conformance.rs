//! `conformance [FOCUS]` (`make conformance`): every `[Conformance]` spec of
//! e2e.test (or those FOCUS picks) on a one-node cluster whose sandbox image
//! is this project's (pause_e2e::conformance::start_cluster), the
//! `[Serial]` ones alone after the rest. Prints passed / failed / skipped,
//! keeps ginkgo's JUnit reports (gzip) and a summary under
//! tests/conformance/results/, and exits non-zero when a spec failed.

use pause_e2e::conformance::{self, ALL, Report};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use test_support::kube::Release;
use test_support::repo;

/// The whole run's limit: the specs carry their own timeouts.
const TIMEOUT: Duration = Duration::from_secs(3 * 3600);
/// e2e.test processes at once: most specs wait on timers, and the sandbox
/// subset passed with six on this machine's two cores.
const PROCS: usize = 6;

fn main() -> ExitCode {
    let focus = std::env::args().nth(1).unwrap_or_else(|| ALL.to_string());
    match run(&focus) {
        Ok(report) if report.failed.is_empty() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("conformance: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(focus: &str) -> Result<Report, String> {
    let images = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    // The skips this run applies (run_on reads the file as each part starts).
    let skips = conformance::skips();
    let started = Instant::now();
    let cluster = conformance::start_cluster(
        Release::NEWEST,
        repo::built_pause_archive(),
        images.path(),
        true,
    )?;
    let work = repo::path("target/conformance/run");
    let _ = std::fs::remove_dir_all(&work);
    let plan = conformance::Plan {
        focus,
        procs: PROCS,
        // A certification run: a spec has one attempt.
        attempts: 1,
        report_dir: &work,
        timeout: TIMEOUT,
    };
    let report = conformance::run_on(&cluster, &plan)?;
    drop(cluster);
    let took = started.elapsed();
    println!(
        "conformance: {} in {} min",
        report.counts(),
        took.as_secs() / 60
    );
    print!("{}", report.explain());
    keep(&work, &report, &skips, focus, took)?;
    Ok(report)
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

/// Copies the JUnit reports to tests/conformance/results/ and writes what
/// the run was beside them.
fn keep(
    work: &Path,
    report: &Report,
    skips: &[conformance::Skip],
    focus: &str,
    took: Duration,
) -> Result<(), String> {
    let results = repo::path("tests/conformance/results");
    std::fs::create_dir_all(&results).map_err(|e| format!("{}: {e}", results.display()))?;
    for part in ["parallel", "serial"] {
        let from = work.join(part).join("junit.xml");
        let to = results.join(format!("junit-{part}.xml.gz"));
        gzip(&from, &to)?;
    }
    let mut summary = format!(
        "# Conformance run\n\n\
         - e2e.test {version} (focus `{focus}`), on one node: kubelet {version}, containerd 2.1, \
           this project's image {image} as every pod's sandbox\n\
         - {counts}; {mins} min on this machine (2 cores), {PROCS} processes then `[Serial]` alone\n\
         - command: `make conformance`, {date}, revision {revision}\n",
        date = output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        revision = output("git", &["rev-parse", "--short=12", "HEAD"]),
        version = Release::NEWEST.version(),
        image = format_args!("localhost/pause:{}", repo::version()),
        counts = report.counts(),
        mins = took.as_secs() / 60,
    );
    if !report.failed.is_empty() {
        summary.push_str("\n## Failed\n\n");
        for s in &report.failed {
            let why = report.why.get(s).map_or(String::new(), |w| {
                format!("\n\n  ```\n  {}\n  ```", w.replace('\n', "\n  "))
            });
            summary.push_str(&format!("- {s}{why}\n"));
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
