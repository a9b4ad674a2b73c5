//! Helpers for the end-to-end suites: running engine commands, tearing down
//! what a test created even when it fails, and observing pause from the host
//! through /proc.

use nix::libc;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Generous: conditions are polled, so a passing run never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Grace period given to `docker stop` / `podman pod stop`; pause must end
/// far inside it (on SIGTERM), never by the SIGKILL that follows it.
pub const STOP_TIMEOUT_SECS: u64 = 30;

/// How long a prompt stop may take: far less than the grace period.
pub const PROMPT_STOP: Duration = Duration::from_secs(5);

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Checks a prerequisite. Missing: a failure in CI, a loud skip elsewhere
/// (the caller returns when this gives false).
pub fn require(ok: bool, what: &str) -> bool {
    if !ok {
        if in_ci() {
            panic!("prerequisite missing (required in CI): {what}");
        }
        eprintln!("SKIPPED (not in CI): prerequisite missing: {what}");
    }
    ok
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The pause image to test: $PAUSE_IMAGE, else the root Makefile's default
/// `pause:<version of the root package>`.
pub fn pause_image() -> String {
    std::env::var("PAUSE_IMAGE").unwrap_or_else(|_| {
        let toml = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap_or_default();
        let version = toml
            .lines()
            .find_map(|l| l.strip_prefix("version = \""))
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or("dev");
        format!("pause:{version}")
    })
}

pub fn workload_image() -> String {
    std::env::var("WORKLOAD_IMAGE").unwrap_or_else(|_| "pause-workload:test".into())
}

/// A name unique to this test run, for containers and pods.
pub fn unique(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "pause-e2e-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

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
pub struct Teardown {
    steps: Vec<Command>,
}

impl Teardown {
    pub fn new() -> Self {
        Teardown { steps: Vec::new() }
    }
    pub fn push(&mut self, cmd: Command) {
        self.steps.push(cmd);
    }
}

impl Default for Teardown {
    fn default() -> Self {
        Self::new()
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

/// Polls `probe` until it gives Some, or panics at the deadline saying what
/// was awaited and what the last probe saw.
pub fn wait_for<T>(
    what: &str,
    deadline: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let end = Instant::now() + deadline;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= end => {
                panic!("timed out after {deadline:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// What /proc/PID/stat says about a process.
#[derive(Clone, Debug)]
pub struct Stat {
    pub pid: u32,
    pub state: char,
    pub ppid: u32,
    pub start: u64,
}

pub fn stat(pid: u32) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        pid,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

/// Every process on the host whose parent is `parent`, zombies included.
pub fn children_of(parent: u32) -> Vec<Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .filter(|s| s.ppid == parent)
        .collect()
}

pub fn zombies_of(parent: u32) -> Vec<Stat> {
    children_of(parent)
        .into_iter()
        .filter(|s| s.state == 'Z')
        .collect()
}

/// The value of `Key:` in /proc/PID/status, whitespace-normalised.
pub fn status_field(pid: u32, key: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect(),
    )
}

pub fn pid_ns(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

/// pause is idle and ready: blocked in rt_sigtimedwait (first field of
/// /proc/PID/syscall), with no signal pending for it.
pub fn waiting_for_signals(pid: u32) -> Result<(), String> {
    let sc = std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .map_err(|e| format!("syscall: {e}"))?;
    let nr = sc.split_whitespace().next().unwrap_or("");
    if nr != libc::SYS_rt_sigtimedwait.to_string() {
        return Err(format!("in system call {sc:?}"));
    }
    for key in ["SigPnd", "ShdPnd"] {
        let v = status_field(pid, key).ok_or("no status")?;
        if !v.trim_start_matches('0').is_empty() {
            return Err(format!("{key}: {v}"));
        }
    }
    Ok(())
}

/// The `key=value` pairs the workload prints on one line.
pub fn kv<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// Host-side checks shared by both engines, on a pod whose PID 1 is pause
/// (host PID `pause`) and where a workload in the pod holds `n` live orphans
/// (`workload serve --orphans n` printed `serving_line`).
pub fn assert_orphans_adopted(pause: u32, n: usize, serving_line: &str) {
    assert_eq!(
        kv(serving_line, "reparented"),
        Some(n.to_string().as_str()),
        "workload: {serving_line}"
    );
    assert_eq!(
        kv(serving_line, "new_parents"),
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
pub fn assert_all_reaped(pause: u32) {
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

/// Mount points at or under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut v: Vec<PathBuf> = mi
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    v
}

/// Unmounts whatever an engine left mounted under `dir` (lazy, so a busy
/// mount cannot stop the cleanup).
pub fn unmount_all_under(dir: &Path) {
    for m in mounts_under(dir) {
        if let Err(e) = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("teardown: umount {}: {e}", m.display());
        }
    }
}
