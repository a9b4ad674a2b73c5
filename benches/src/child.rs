//! A phase of the benchmark run in a child process of its own (the CRI
//! library panics on failure, and panics abort). The child and its TMPDIR
//! are registered with the harness's teardown (`test_support::teardown`):
//! a signal to the benchmark stops the child (which removes its own nodes
//! on SIGTERM) and then whatever it left, as the end of a phase does.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use test_support::teardown::{self, Resource};

/// Runs `cmd` with `tmp` as its TMPDIR and `log` as its output, then removes
/// what it left: processes naming `tmp`, mounts under it, the directory,
/// and (once the child is gone) the cgroups its own records name.
pub fn run(phase: &str, mut cmd: Command, tmp: &Path, log: &Path) -> std::io::Result<ExitStatus> {
    std::fs::create_dir_all(tmp)?;
    let live = teardown::register(
        Resource::new(format!("the {phase} phase ({})", tmp.display())).dir(tmp),
    );
    let ran = std::fs::File::create(log).and_then(|f| {
        let mut child = cmd
            .env("TMPDIR", tmp)
            .stdin(Stdio::null())
            .stdout(f.try_clone()?)
            .stderr(f)
            .spawn()?;
        live.add_process(child.id());
        child.wait()
    });
    let left: Vec<String> = live
        .release()
        .into_iter()
        .filter(|l| !l.starts_with("directory "))
        .collect();
    if !left.is_empty() {
        eprintln!(
            "pause-bench: removed what the {phase} phase left: {}",
            left.join(", ")
        );
    }
    for line in teardown::sweep() {
        eprintln!("pause-bench: {line}");
    }
    ran
}

/// Why the child failed: the panic message, or else the end of its log.
pub fn failure(st: ExitStatus, log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("panicked at"))
        .unwrap_or(lines.len().saturating_sub(6));
    let why = lines[at..(at + 6).min(lines.len())].join(" / ");
    format!("{st}: {why} (log: {})", log.display())
}
