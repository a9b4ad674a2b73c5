//! The two counters of a held storm (storm.rs): callgrind counts the
//! peer's user-space instructions from exec to exit, strace (attached once
//! the peer is ready) its system calls by name until it exits.

use super::storm::{self, Asleep};
use crate::container_env;
use crate::peer::{STRACE, VALGRIND};
use crate::single::callgrind;
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;
use test_support::teardown::{self, Live, Resource};
use test_support::{procfs, spawn};

/// What is counted: a command line run as PID 1, and how to tell that it
/// sleeps where it waits for work.
pub struct Subject<'a> {
    /// Names its files.
    pub key: &'a str,
    pub argv: Vec<String>,
    pub asleep: Asleep,
}

/// Where a count writes, and how long each step may take.
pub struct Setting<'a> {
    pub tmp: &'a Path,
    pub null: &'a OwnedFd,
    pub deadline: Duration,
}

/// Every user-space instruction of the peer's life with `n` orphans reaped.
pub fn instructions(s: &Subject, n: usize, run: usize, at: &Setting) -> Result<u64, String> {
    let out = at
        .tmp
        .join(format!("reapcount-callgrind.{}.{n}.{run}", s.key));
    let log = at
        .tmp
        .join(format!("reapcount-valgrind.{}.{n}.{run}.log", s.key));
    let mut argv = vec![
        VALGRIND.to_string(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out.display()),
        format!("--log-file={}", log.display()),
    ];
    argv.extend(s.argv.iter().cloned());
    registered(&format!("callgrind of {} ({n} orphans)", s.key), |live| {
        let mut guard = spawn_pid1(&argv, live, at.null)?;
        ready(s, guard.pid()).map_err(|e| {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            format!("under valgrind: {e}; {log}")
        })?;
        storm::held(guard.pid(), n, s.asleep, at.deadline)?;
        guard.stop()?;
        callgrind::totals(&out)
    })
}

/// The peer's system calls by name, from once it is ready until it exits,
/// with `n` orphans reaped.
pub fn syscalls(
    s: &Subject,
    n: usize,
    run: usize,
    at: &Setting,
) -> Result<BTreeMap<String, u64>, String> {
    let out = at.tmp.join(format!("reapcount-strace.{}.{n}.{run}", s.key));
    let log = at
        .tmp
        .join(format!("reapcount-strace.{}.{n}.{run}.log", s.key));
    registered(&format!("strace of {} ({n} orphans)", s.key), |live| {
        let mut guard = spawn_pid1(&s.argv, live, at.null)?;
        let pid = guard.pid();
        ready(s, pid)?;
        let tracer = Tracer::attach(pid, &out, &log, live, at.deadline)?;
        // Attaching interrupts the wait, which strace restarts: hold the
        // peer only once it sleeps in its wait again, or whether the
        // restarted call is counted would depend on the timing.
        storm::until(at.deadline, "the traced peer to wait again", || {
            (s.asleep)(pid)
        })?;
        storm::held(pid, n, s.asleep, at.deadline)?;
        guard.stop()?;
        tracer.finish()?;
        let text =
            std::fs::read_to_string(&out).map_err(|e| format!("read {}: {e}", out.display()))?;
        summary(&text).ok_or_else(|| format!("no strace -c summary in {}", out.display()))
    })
}

/// Waits until the started subject sleeps where it waits for work.
fn ready(s: &Subject, pid: Pid) -> Result<(), String> {
    // valgrind takes a second or more to start a guest on a loaded machine.
    storm::until(Duration::from_secs(120), "the peer to be ready", || {
        (s.asleep)(pid)
    })
}

/// Runs `f` with what it starts registered for the harness's teardown,
/// and removes what is left of it afterwards.
fn registered<T>(what: &str, f: impl FnOnce(&Live) -> Result<T, String>) -> Result<T, String> {
    let live = teardown::register(Resource::new(what));
    let result = f(&live);
    live.release();
    result
}

/// Starts `argv` as PID 1 of a fresh PID namespace.
fn spawn_pid1(argv: &[String], live: &Live, null: &OwnedFd) -> Result<spawn::Guard, String> {
    let mut cmd = spawn::Command::new(argv, &container_env());
    let pid = cmd
        .spawn_pid1(null, null)
        .map_err(|e| format!("spawn {}: {e}", argv[0]))?;
    live.add_process(pid.as_raw() as u32);
    Ok(spawn::Guard(Some(pid)))
}

/// strace -c attached to a running process; killed and reaped if dropped
/// before `finish`.
struct Tracer {
    child: Option<Child>,
    log: PathBuf,
}

impl Tracer {
    /// Attaches and waits until the kernel names it the tracer of `pid`.
    fn attach(
        pid: Pid,
        out: &Path,
        log: &Path,
        live: &Live,
        deadline: Duration,
    ) -> Result<Tracer, String> {
        let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = std::process::Command::new(STRACE)
            .args(["-c", "-o"])
            .arg(out)
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("spawn {STRACE}: {e}"))?;
        live.add_process(child.id());
        let tracer = Tracer {
            child: Some(child),
            log: log.to_path_buf(),
        };
        let me = tracer.child.as_ref().map(|c| c.id().to_string());
        storm::until(deadline, "strace to attach", || {
            let now = procfs::status_field(pid.as_raw(), "TracerPid");
            (now == me)
                .then_some(())
                .ok_or(format!("TracerPid {now:?}; {}", tracer.log_text()))
        })?;
        Ok(tracer)
    }

    /// Waits for strace to write its summary and exit (the tracee is gone).
    fn finish(mut self) -> Result<(), String> {
        let mut child = self.child.take().expect("finished once");
        match child.wait() {
            Ok(st) if st.success() => Ok(()),
            Ok(st) => Err(format!("strace {st}: {}", self.log_text())),
            Err(e) => Err(format!("wait for strace: {e}")),
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .trim()
            .replace('\n', " / ")
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The calls of each system call in a `strace -c` table; None when there
/// is no table (its last line is the total).
pub fn summary(text: &str) -> Option<BTreeMap<String, u64>> {
    let mut calls = BTreeMap::new();
    let mut total = false;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // "% time  seconds  usecs/call  calls  [errors]  syscall"
        if f.len() < 5 || f[0].parse::<f64>().is_err() {
            continue;
        }
        let (Some(name), Ok(n)) = (f.last(), f[3].parse::<u64>()) else {
            continue;
        };
        if *name == "total" {
            total = true;
        } else {
            calls.insert(name.to_string(), n);
        }
    }
    total.then_some(calls)
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn reads_a_strace_summary() {
        let text = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
100.00    0.000303           3       101         1 wait4
  0.00    0.000000           0         1           writev
  0.00    0.000000           0         4         1 rt_sigtimedwait
------ ----------- ----------- --------- --------- ----------------
100.00    0.000303           2       106         2 total
";
        let s = summary(text).unwrap();
        assert_eq!(s["wait4"], 101);
        assert_eq!(s["writev"], 1);
        assert_eq!(s["rt_sigtimedwait"], 4);
        assert_eq!(s.len(), 3);
        assert!(summary("strace: attach: ptrace(PTRACE_SEIZE, 1): No such process\n").is_none());
    }
}
