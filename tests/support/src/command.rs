//! Running a tool (docker, podman, ctr, skopeo, ...) to completion, and
//! undoing what a test created even when it fails.

use std::ffi::OsStr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The result of one command, printed in full when a test fails on it.
pub struct Run {
    pub line: String,
    pub out: Output,
    pub elapsed: Duration,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.out.status.success()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).trim().to_string()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).trim().to_string()
    }

    pub fn describe(&self) -> String {
        format!(
            "`{}` -> {} after {:?}\nstdout: {}\nstderr: {}",
            self.line,
            self.out.status,
            self.elapsed,
            self.stdout(),
            self.stderr()
        )
    }

    /// Panics with the whole story unless the command succeeded.
    pub fn check(self) -> Self {
        assert!(self.ok(), "command failed: {}", self.describe());
        self
    }
}

/// Runs `cmd` to completion, capturing its output.
pub fn run(mut cmd: Command) -> Run {
    let line = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(OsStr::to_string_lossy)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{line}`: {e}"));
    Run {
        line,
        out,
        elapsed: start.elapsed(),
    }
}

/// Commands run when dropped, last registered first: the teardown of what a
/// test created, which also happens when the test panics.
#[derive(Default)]
pub struct Teardown {
    steps: Vec<Command>,
}

impl Teardown {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, cmd: Command) {
        self.steps.push(cmd);
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        while let Some(cmd) = self.steps.pop() {
            let r = run(cmd);
            if !r.ok() {
                eprintln!("teardown: {}", r.describe());
            }
        }
    }
}
