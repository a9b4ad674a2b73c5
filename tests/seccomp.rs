//! Least privilege: the seccomp profile shipped in deploy/seccomp/pause.json
//! admits exactly the system calls pause makes, plus the few the runtime
//! (runc) makes between loading the filter and exec'ing pause.
//!
//! - The real calls of a whole lifecycle are recorded (Debian's strace
//!   natively; qemu-user's own `QEMU_STRACE` log under PAUSE_RUNNER, where
//!   strace cannot see the guest) and must all be in the profile, and the
//!   profile's pause group must hold nothing pause did not call.
//! - Every name must be a real system call on every architecture the profile
//!   lists (libseccomp's tables, through `scmp_sys_resolver`; for LoongArch,
//!   which libseccomp 2.5 does not know, the kernel's generic table).
//! - Docker runs the image under the profile, read-only, without
//!   capabilities, with no-new-privileges, as 65535:65535: it starts, ignores
//!   SIGHUP and stops with exit code 0. A profile without one of the listed
//!   calls must fail, so none is there for nothing.
//!
//! Needs strace, jq and libseccomp's `scmp_sys_resolver` (`make deps`),
//! and for the Docker tests a Docker engine and the image ($PAUSE_IMAGE,
//! default pause:<version>, `make image`).

use nix::libc;
use nix::sys::signal::Signal;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use test_support::ci::cannot_run;
use test_support::command::{Run, run};
use test_support::docker::{self, Container, docker, pause_image};
use test_support::pid1::{self, As, Pause, Stdio, ignored_signals};
use test_support::podman::{self, Podman};
use test_support::procfs::{status_field, syscall, waiting_for_signals};
use test_support::repo;
use test_support::wait::{DEADLINE, poll, wait_for};

fn profile_path() -> PathBuf {
    repo::path("deploy/seccomp/pause.json")
}

/// Runs a tool and returns its stdout; `None` (after `cannot_run`) when the
/// tool is not installed.
fn tool(program: &str, args: &[&str]) -> Option<String> {
    match Command::new(program).args(args).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{program} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).expect("utf-8 output"))
        }
        Err(e) => {
            cannot_run(&format!("{program} ({e}): make deps installs it"));
            None
        }
    }
}

/// A jq query over the profile, one result per line.
fn query(filter: &str) -> Option<Vec<String>> {
    let path = profile_path();
    let out = tool("jq", &["-r", filter, path.to_str().unwrap()])?;
    Some(out.lines().map(str::to_owned).collect())
}

struct Profile {
    default_action: String,
    /// Every name any rule allows.
    allowed: BTreeSet<String>,
    /// The rule for pause's own calls (its comment starts with "pause").
    pause: BTreeSet<String>,
    /// The rule for the runtime's calls before exec (comment "runtime...").
    runtime: BTreeSet<String>,
    /// Every architecture named, main and sub-architectures.
    arches: BTreeSet<String>,
}

fn profile() -> Option<Profile> {
    let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
    let group = |prefix: &str| {
        query(&format!(
            r#".syscalls[] | select(.action == "SCMP_ACT_ALLOW" and (.comment | startswith("{prefix}"))) | .names[]"#
        ))
        .map(set)
    };
    Some(Profile {
        default_action: query(".defaultAction")?.concat(),
        allowed: set(query(
            r#".syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]"#,
        )?),
        pause: group("pause")?,
        runtime: group("runtime")?,
        arches: set(query(".archMap[] | .architecture, .subArchitectures[]")?),
    })
}

#[test]
fn profile_denies_by_default_and_lists_every_architecture() {
    let Some(p) = profile() else { return };
    assert_eq!(p.default_action, "SCMP_ACT_ERRNO");
    // Every rule allows; nothing else is needed.
    let actions = query(".syscalls[].action").unwrap();
    assert!(actions.iter().all(|a| a == "SCMP_ACT_ALLOW"), "{actions:?}");
    let want: BTreeSet<String> = [
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_S390X",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_LOONGARCH64",
    ]
    .map(String::from)
    .into();
    assert_eq!(p.arches, want);
    // The 32-bit Arm image may run on an arm64 node: its compat ABI.
    let compat =
        query(r#".archMap[] | select(.architecture == "SCMP_ARCH_AARCH64") | .subArchitectures[]"#)
            .unwrap();
    assert_eq!(compat, ["SCMP_ARCH_ARM"]);
    assert_eq!(p.allowed, &p.pause | &p.runtime, "two rules, nothing else");
}

#[test]
fn every_allowed_name_is_a_system_call_on_every_architecture() {
    let Some(p) = profile() else { return };
    for arch in &p.arches {
        let short = arch.trim_start_matches("SCMP_ARCH_").to_lowercase();
        match resolver_knows(&short) {
            None => return,
            Some(true) => {}
            Some(false) => {
                // libseccomp learnt LoongArch in 2.6.0; Debian 12 has 2.5.4.
                assert_eq!(short, "loongarch64", "libseccomp does not know {short}");
                assert_in_generic_table(&p.allowed);
                continue;
            }
        }
        for name in &p.allowed {
            let Some(out) = tool("scmp_sys_resolver", &["-a", &short, name]) else {
                return;
            };
            let nr: i64 = out.trim().parse().expect("a number");
            // libseccomp answers with a negative pseudo-number for a call the
            // architecture does not have.
            assert!(nr >= 0, "{name} is not a system call on {short} ({nr})");
        }
    }
}

/// Whether the installed libseccomp has a table for `arch`: its resolver
/// rejects an architecture it does not know with EINVAL (22). None (after
/// `cannot_run`) when the resolver is not installed.
fn resolver_knows(arch: &str) -> Option<bool> {
    match Command::new("scmp_sys_resolver")
        .args(["-a", arch, "getpid"])
        .output()
    {
        Ok(out) => Some(out.status.code() != Some(libc::EINVAL)),
        Err(e) => {
            cannot_run(&format!("scmp_sys_resolver ({e}): make deps installs it"));
            None
        }
    }
}

/// Where libseccomp cannot tell, the kernel's headers can: LoongArch has no
/// table of its own but the generic one (its asm/unistd.h includes
/// asm-generic/unistd.h), which Debian's linux-libc-dev ships.
fn assert_in_generic_table(names: &BTreeSet<String>) {
    let header = "/usr/include/asm-generic/unistd.h";
    let text = std::fs::read_to_string(header)
        .unwrap_or_else(|e| panic!("{header} ({e}): make deps installs linux-libc-dev"));
    for name in names {
        let defined = [
            format!("#define __NR_{name} "),
            format!("#define __NR3264_{name} "),
        ]
        .iter()
        .any(|d| text.contains(d.as_str()));
        assert!(defined, "{name} is not in the generic system-call table");
    }
}

// -------------------------------------------------------------- recording

/// A whole lifecycle of pause, run by `recorded_calls_are_in_the_profile`
/// in a child process under strace (or with qemu-user's strace log): PID 1
/// with orphans to reap, every ignored signal, SIGTERM; `-v`; `--help`; an
/// unknown argument, not PID 1, ended by SIGINT. With RECORD_DIR set, each
/// run's stderr is saved there (qemu writes its log to the guest's stderr).
#[test]
#[ignore = "run by recorded_calls_are_in_the_profile under a tracer"]
fn lifecycle_for_recording() {
    let mut stderrs = Vec::new();

    let pause = Pause::start(As::Pid1, Stdio::Captured, &[]).expect("PID 1 needs root");
    pause.wait_ready();
    let mut orphans = pause.make_orphans(5, 10);
    poll("orphans reparented", || pause.children().0.len() >= 50);
    orphans.release();
    poll("orphans reaped", || pause.children().0.is_empty());
    for sig in ignored_signals() {
        pause.signal_raw(sig);
    }
    pause.wait_signals_taken();
    pause.signal(Signal::SIGTERM);
    let exit = pause.wait_exit();
    assert_eq!(exit.code, Some(0));
    stderrs.push(exit.stderr + &exit.stdout);

    for flag in [&b"-v"[..], b"--help"] {
        let exit = Pause::start(As::Child, Stdio::Captured, &[flag])
            .unwrap()
            .wait_exit();
        assert_eq!(exit.code, Some(0));
        stderrs.push(exit.stderr + &exit.stdout);
    }

    let pause = Pause::start(As::Child, Stdio::Captured, &[b"--unknown"]).unwrap();
    pause.wait_ready();
    pause.signal(Signal::SIGINT);
    let exit = pause.wait_exit();
    assert_eq!(exit.code, Some(0));
    stderrs.push(exit.stderr + &exit.stdout);

    if let Some(dir) = std::env::var_os("RECORD_DIR") {
        for (i, text) in stderrs.iter().enumerate() {
            std::fs::write(Path::new(&dir).join(format!("run-{i}.stderr")), text).unwrap();
        }
    }
}

/// A fresh temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let template = std::env::temp_dir().join(format!("pause-{what}.XXXXXX"));
        TempDir(nix::unistd::mkdtemp(&template).expect("mkdtemp"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `lifecycle_for_recording` in a child (this test binary again),
/// after `prefix` (a tracer), with a small environment of its own plus
/// `envs`. pause inherits it: with few strings above its stack, pause always
/// has room to move its stack next to them and give the rest back (madvise).
fn run_lifecycle(prefix: &[&std::ffi::OsStr], envs: &[(&str, &std::ffi::OsStr)]) {
    let me = std::env::current_exe().unwrap();
    let mut cmd = match prefix.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&me);
            c
        }
        None => Command::new(&me),
    };
    cmd.args([
        "lifecycle_for_recording",
        "--exact",
        "--ignored",
        "--test-threads",
        "1",
    ])
    .env_clear()
    .env("PAUSE_BIN", pid1::pause_bin())
    .envs(envs.iter().copied());
    if let Some(r) = pid1::runner() {
        cmd.env("PAUSE_RUNNER", r);
    }
    let out = cmd.output().expect("run the recorded lifecycle");
    assert!(
        out.status.success(),
        "the recorded lifecycle failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The name of the system call a strace line reports, if it reports one.
fn strace_call(line: &str) -> Option<String> {
    let line = line.strip_prefix("<... ").unwrap_or(line);
    let end = line.find(['(', ' '])?;
    let name = &line[..end];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| name.to_owned())
}

/// Natively: strace follows the whole lifecycle, one file per process; in
/// each file that exec'd pause, every call after that exec is pause's.
fn record_with_strace() -> Option<BTreeSet<String>> {
    if !nix::unistd::geteuid().is_root() {
        cannot_run("recording needs root (pause as PID 1, ptrace)");
        return None;
    }
    tool("strace", &["-V"])?;
    let dir = TempDir::new("strace");
    let out = dir.0.join("t");
    let prefix = ["strace", "-f", "-ff", "-qq", "-o"].map(std::ffi::OsStr::new);
    run_lifecycle(
        &[&prefix[..], &[out.as_os_str(), "--".as_ref()]].concat(),
        &[],
    );
    let exec_line = format!("execve(\"{}\"", pid1::pause_bin().display());
    let (mut calls, mut runs) = (BTreeSet::new(), 0);
    for entry in std::fs::read_dir(&dir.0).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let Some(at) = text
            .lines()
            .position(|l| l.starts_with(&exec_line) && l.ends_with("= 0"))
        else {
            continue;
        };
        runs += 1;
        calls.extend(text.lines().skip(at + 1).filter_map(strace_call));
    }
    assert_eq!(runs, 4, "strace saw every run of pause");
    Some(calls)
}

/// Under qemu-user: its QEMU_STRACE log of the guest's calls, which qemu
/// writes to the guest's stderr as `PID name(args) = result`.
fn record_with_qemu() -> BTreeSet<String> {
    let dir = TempDir::new("qemu-strace");
    run_lifecycle(
        &[],
        &[
            ("QEMU_STRACE", "1".as_ref()),
            ("RECORD_DIR", dir.0.as_os_str()),
        ],
    );
    let mut calls = BTreeSet::new();
    for entry in std::fs::read_dir(&dir.0).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let Some((pid, rest)) = line.split_once(' ') else {
                continue;
            };
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            // qemu names the calls it has no name for: those must fail too.
            if let Some(n) = rest.strip_prefix("Unknown syscall ") {
                calls.insert(format!("unknown system call {n}"));
            } else if let Some(name) = strace_call(rest) {
                calls.insert(name);
            }
        }
    }
    calls
}

#[test]
fn recorded_calls_are_in_the_profile() {
    let Some(p) = profile() else { return };
    let calls = if pid1::emulated() {
        record_with_qemu()
    } else {
        match record_with_strace() {
            Some(c) => c,
            None => return,
        }
    };
    // The recording worked: it saw pause wait, reap and exit.
    for must in ["rt_sigtimedwait", "wait4", "exit_group"] {
        assert!(calls.contains(must), "no {must} in {calls:?}");
    }
    let outside: Vec<_> = calls.difference(&p.allowed).collect();
    assert!(
        outside.is_empty(),
        "pause made calls the profile denies: {outside:?}"
    );
    // The pause rule holds nothing pause does not call.
    let unused: Vec<_> = p.pause.difference(&calls).collect();
    assert!(
        unused.is_empty(),
        "the profile allows calls pause never made: {unused:?}"
    );
    eprintln!(
        "recorded ({}): {calls:?}",
        if pid1::emulated() { "qemu" } else { "strace" }
    );
}

// ----------------------------------------------------------------- docker

/// Docker answers (started if need be) and has the image; otherwise says
/// why (a failure in CI).
fn docker_ready() -> bool {
    docker::ready(&[pause_image()], "make image")
}

/// The least privilege there is, as the README gives it for Docker and
/// podman alike: the profile, a read-only root, no capabilities, no new
/// privileges, uid 65535 and no network.
fn least_privilege(seccomp: &str) -> [&str; 11] {
    [
        "--security-opt",
        seccomp,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--user",
        "65535:65535",
        "--network",
        "none",
    ]
}

/// `docker run -d` with the least privilege there is, under `profile`; the
/// container is removed when the returned guard is dropped.
fn run_under(profile: &Path) -> (Container, Run) {
    let c = Container::named("pause-seccomp");
    let seccomp = format!("seccomp={}", profile.display());
    let image = pause_image();
    let out = c.run(&[&["-d"][..], &least_privilege(&seccomp), &[&image]].concat());
    (c, out)
}

/// The fields of /proc/PID/status that show how confined a process is.
fn confinement(pid: i32) -> Vec<(String, String)> {
    [
        "Uid",
        "Gid",
        "CapEff",
        "CapPrm",
        "CapBnd",
        "NoNewPrivs",
        "Seccomp",
    ]
    .iter()
    .map(|key| (key.to_string(), status_field(pid, key).unwrap_or_default()))
    .collect()
}

/// Waits until the container's process sleeps in rt_sigtimedwait.
fn wait_idle(pid: i32) {
    poll(
        &format!("container process {pid} to wait for signals"),
        || syscall(pid) == Some(libc::SYS_rt_sigtimedwait),
    );
}

/// Waits until the container's process has taken every pending signal and
/// sleeps again.
fn wait_signals_taken(pid: i32) {
    wait_for(
        &format!("container process {pid} to take its signals"),
        DEADLINE,
        || waiting_for_signals(pid),
    );
}

#[test]
fn docker_runs_pause_under_the_profile_with_least_privilege() {
    if !docker_ready() {
        return;
    }
    let (c, out) = run_under(&profile_path());
    assert!(out.ok(), "docker run under the profile: {}", out.describe());
    poll("the container to run", || c.running());
    let pid = c.pid();
    wait_idle(pid);
    let confined = confinement(pid);
    let field = |k: &str| confined.iter().find(|(key, _)| key == k).unwrap().1.clone();
    assert_eq!(field("Seccomp"), "2", "a seccomp filter is in force");
    assert_eq!(field("NoNewPrivs"), "1");
    assert_eq!(field("CapEff"), "0000000000000000");
    assert_eq!(field("CapPrm"), "0000000000000000");
    assert_eq!(field("Uid"), "65535 65535 65535 65535");
    assert_eq!(field("Gid"), "65535 65535 65535 65535");

    for sig in ["HUP", "USR1", "CHLD", "PIPE", "WINCH"] {
        run(docker(&["kill", "-s", sig, &c.name])).check();
    }
    // Docker delivers asynchronously: wait until nothing is pending.
    wait_signals_taken(pid);
    assert!(
        c.running(),
        "an ignored signal ended pause under the profile"
    );

    let started = Instant::now();
    run(docker(&["stop", "-t", "30", &c.name])).check();
    let took = started.elapsed();
    assert_eq!(c.inspect("{{.State.ExitCode}}"), "0");
    // SIGTERM ended it, not Docker's SIGKILL after the grace period.
    assert!(took < Duration::from_secs(10), "docker stop took {took:?}");
    let logs = c.logs();
    assert_eq!(
        String::from_utf8_lossy(&logs.out.stderr),
        "Shutting down, got signal: Terminated\n"
    );
    eprintln!("docker under the profile: {confined:?}; docker stop took {took:.1?}");
}

/// Writes the profile without `name` to `dir` and returns its path.
fn profile_without(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("without-{name}.json"));
    let filter = format!(".syscalls[].names -= [\"{name}\"]");
    let out = tool("jq", &[&filter, profile_path().to_str().unwrap()]).unwrap();
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn pause_fails_without_the_calls_it_cannot_do_without() {
    if !docker_ready() {
        return;
    }
    let dir = TempDir::new("seccomp");
    // The filter really is applied to pause: without rt_sigtimedwait it
    // cannot wait for signals and exits with its documented code.
    let (c, out) = run_under(&profile_without(&dir.0, "rt_sigtimedwait"));
    assert!(out.ok(), "{}", out.describe());
    poll("pause to give up", || !c.running());
    assert_eq!(c.inspect("{{.State.ExitCode}}"), "42");
    let logs = c.logs();
    assert_eq!(
        String::from_utf8_lossy(&logs.out.stderr),
        "pause: rt_sigtimedwait failed\n"
    );
    // Without rt_sigprocmask it cannot block signals: exit code 1.
    let (c, _) = run_under(&profile_without(&dir.0, "rt_sigprocmask"));
    poll("pause to give up", || !c.running());
    assert_eq!(c.inspect("{{.State.ExitCode}}"), "1");
}

#[test]
fn the_runtime_needs_each_call_the_profile_allows_it() {
    if !docker_ready() {
        return;
    }
    let Some(p) = profile() else { return };
    let dir = TempDir::new("seccomp");
    // These calls are made on runc's path to exec, every time: without any
    // one of them the container cannot start. (futex and rt_sigreturn depend
    // on the Go runtime's timing: measured, not asserted; see the notes.)
    let always = [
        "close",
        "execve",
        "fstatfs",
        "getdents64",
        "openat",
        "write",
    ];
    for name in &always {
        assert!(
            p.runtime.contains(*name),
            "{name} missing from the runtime rule"
        );
    }
    for name in always {
        let (c, out) = run_under(&profile_without(&dir.0, name));
        let deadline = Instant::now() + DEADLINE;
        // Either docker run fails or the container stops without ever
        // running pause (it never reaches rt_sigtimedwait).
        let failed = !out.ok() || {
            poll("the container to stop", || {
                !c.running() || Instant::now() > deadline
            });
            !c.running() && c.inspect("{{.State.ExitCode}}") != "0"
        };
        assert!(
            failed,
            "the container started without {name}: drop it from the profile"
        );
    }
}

// ----------------------------------------------------------------- podman

#[test]
fn podman_runs_pause_under_the_profile_with_least_privilege() {
    if !docker_ready() {
        return; // the image comes from the local Docker
    }
    if !podman::ready() {
        return;
    }
    let podman = Podman::new();
    podman.ok(&["pull", "-q", &format!("docker-daemon:{}", pause_image())]);
    let name = test_support::docker::fully_qualified(&pause_image());
    let seccomp = format!("seccomp={}", profile_path().display());
    let podman_only = [
        "--pull",
        "never",
        "--name",
        "pause",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
    ];
    podman.ok(&[
        &["run", "-d"][..],
        &podman_only,
        &least_privilege(&seccomp),
        &[&name],
    ]
    .concat());
    let pid: i32 = podman
        .ok(&["inspect", "-f", "{{.State.Pid}}", "pause"])
        .parse()
        .expect("State.Pid");
    wait_idle(pid);
    let confined = confinement(pid);
    assert!(
        confined.contains(&("Seccomp".into(), "2".into())),
        "{confined:?}"
    );
    assert!(
        confined.contains(&("NoNewPrivs".into(), "1".into())),
        "{confined:?}"
    );
    assert!(
        confined.contains(&("CapEff".into(), "0000000000000000".into())),
        "{confined:?}"
    );
    podman.ok(&["kill", "-s", "HUP", "pause"]);
    wait_signals_taken(pid);
    let started = Instant::now();
    podman.ok(&["stop", "-t", "30", "pause"]);
    let took = started.elapsed();
    assert_eq!(
        podman.ok(&["inspect", "-f", "{{.State.ExitCode}}", "pause"]),
        "0"
    );
    assert!(took < Duration::from_secs(10), "podman stop took {took:?}");
    eprintln!("podman under the profile: {confined:?}; podman stop took {took:.1?}");
}
