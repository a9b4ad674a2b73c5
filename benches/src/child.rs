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

/// [`run`] for a child that writes what it finished to `json` as it goes:
/// what it wrote (also when it failed part-way), and why it failed, if it did.
pub fn run_collecting<T: serde::de::DeserializeOwned>(
    phase: &str,
    cmd: Command,
    tmp: &Path,
    json: &Path,
    log: &Path,
) -> (Vec<T>, Option<String>) {
    let ran = run(phase, cmd, tmp, log);
    let done: Vec<T> = std::fs::read(json)
        .ok()
        .and_then(|j| serde_json::from_slice(&j).ok())
        .unwrap_or_default();
    let error = match ran {
        Ok(st) if st.success() => None,
        Ok(st) => Some(failure(st, log)),
        Err(e) => Some(e.to_string()),
    };
    (done, error)
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
