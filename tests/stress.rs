//! Hardening: pause must survive storms of signals, forks, stops and hostile
//! command lines, with any kind of standard streams, and lose nothing: after
//! each storm it is still running, it has left no zombie, and SIGTERM still
//! ends it with exit code 0.
//!
//! Sizes come from the environment (`make test-stress` sets them):
//!   STRESS_SIGNALS  signals sent in the signal storm      (default 1,000,000)
//!   STRESS_ORPHANS  orphans made in the fork storm        (default 100,000)
//!   STRESS_ARGVS    generated argument vectors            (default 10,000)
//!   STRESS_STOPS    SIGSTOP/SIGCONT cycles                (default 200)
//! Each test prints what it did (run with --nocapture to see it). Starting
//! pause as PID 1 needs root or user namespaces; the fork storm needs root
//! (a pids cgroup).

use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};
use test_support::ci::{cannot_run, is_root};
use test_support::orphans::Storm;
use test_support::pid1::{self, As, Pause, Stdio, ignored_signals};
use test_support::wait::{DEADLINE, poll};

const SHUTDOWN_TERM: &str = "Shutting down, got signal: Terminated\n";
const NOT_FIRST: &str = "Warning: pause should be the first process\n";

fn size(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(v) => v
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("{var}={v} is not a number")),
        Err(_) => default,
    }
}

/// The lines pause prints on stderr for arguments it does not know.
fn warnings(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in args {
        out.extend_from_slice(b"pause: ignoring argument: ");
        out.extend_from_slice(a);
        out.push(b'\n');
    }
    out
}

/// SIGTERM, then exit code 0 (not a signal); with captured stderr, exactly
/// `expected_stderr` followed by the shutdown line.
fn terminate(pause: Pause, expected_stderr: &[u8], what: &str) {
    let captured = pause.captured();
    pause.signal(Signal::SIGTERM);
    let exit = pause.wait_exit();
    assert_eq!(
        (exit.code, exit.signal),
        (Some(0), None),
        "{what}: SIGTERM must end pause with 0"
    );
    if captured {
        let mut want = expected_stderr.to_vec();
        want.extend_from_slice(SHUTDOWN_TERM.as_bytes());
        // Compared as text (lossily decoded, as the harness collects it) but
        // without printing megabytes when they differ.
        let want = String::from_utf8_lossy(&want);
        assert!(
            exit.stderr == want,
            "{what}: stderr differs: {} bytes, expected {}; starts {:?}",
            exit.stderr.len(),
            want.len(),
            &exit.stderr.chars().take(200).collect::<String>()
        );
        assert_eq!(exit.stdout, "", "{what}: nothing on stdout");
    }
}

/// Everything is reaped: pause has no child left, zombie or not.
fn assert_no_child_left(pause: &Pause, what: &str) {
    poll(&format!("pause to reap every orphan ({what})"), || {
        pause.children().0.is_empty()
    });
    assert_eq!(pause.children(), (vec![], 0), "{what}");
}

// ---------------------------------------------------------------- signals

/// Real-time signals queue, one entry each, up to RLIMIT_SIGPENDING (beyond
/// it kill(2) still succeeds and only the pending bit is kept). Taking
/// signals off a long queue costs the kernel time that grows with its
/// length: at this machine's default limit (96,365) a full queue took pause
/// 38 s to drain. The storm's pause gets a smaller queue, as a pod with
/// a lower `ulimit -i` would; what it must survive is the same.
const SIGNAL_QUEUE: u64 = 16_384;

/// Sends `total` signals of every kind pause must ignore (SIGCHLD spoofed,
/// the real-time ones too) from four threads, while a fifth keeps making
/// orphans inside the namespace and letting them exit.
fn signal_storm(stdio: Stdio, args: &[&[u8]], total: usize) {
    let Some(mut pause) = Pause::start(As::Pid1, stdio, args) else {
        return;
    };
    pause.wait_ready();
    pause.limit_pending_signals(SIGNAL_QUEUE);
    let kinds = ignored_signals();
    assert!(kinds.contains(&libc::SIGCHLD) && kinds.contains(&libc::SIGRTMAX()));
    const SENDERS: usize = 4;
    let sent = AtomicUsize::new(0);
    let orphans = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Relaxed) {
                let mut batch = pause.make_orphans(4, 25);
                orphans.fetch_add(100, Relaxed);
                batch.release();
            }
        });
        let senders: Vec<_> = (0..SENDERS)
            .map(|t| {
                let (kinds, pause, sent) = (&kinds, &pause, &sent);
                s.spawn(move || {
                    for i in (t..total).step_by(SENDERS) {
                        pause.signal_raw(kinds[i % kinds.len()]);
                        sent.fetch_add(1, Relaxed);
                    }
                })
            })
            .collect();
        for t in senders {
            t.join().unwrap();
        }
        done.store(true, Relaxed);
    });
    let storm = started.elapsed();
    pause.wait_signals_taken();
    let drained = started.elapsed() - storm;
    assert!(pause.running(), "the signal storm ended pause");
    assert_no_child_left(&pause, "after the signal storm");
    eprintln!(
        "signal storm ({}): {} signals of {} kinds sent by {SENDERS} threads in {:.1?} \
         (real-time queue limit {SIGNAL_QUEUE}), {} orphans made meanwhile; \
         the queue was empty {drained:.1?} after the last send",
        stdio_name(stdio),
        sent.load(Relaxed),
        kinds.len(),
        storm,
        orphans.load(Relaxed),
    );
    assert_eq!(sent.load(Relaxed), total);
    assert!(orphans.load(Relaxed) > 0);
    terminate(pause, &warnings(args), "after the signal storm");
}

fn stdio_name(stdio: Stdio) -> &'static str {
    match stdio {
        Stdio::Captured => "stdio captured",
        Stdio::Closed => "fds 0-2 closed",
        Stdio::Full => "stdout/stderr on /dev/full",
        Stdio::Broken => "stdout/stderr on closed pipes",
    }
}

#[test]
fn signal_storm_while_orphans_exit() {
    signal_storm(Stdio::Captured, &[], size("STRESS_SIGNALS", 1_000_000));
}

#[test]
fn signal_storm_with_closed_full_or_broken_stdio_and_unknown_arguments() {
    let each = size("STRESS_SIGNALS", 1_000_000) / 10;
    for stdio in [Stdio::Closed, Stdio::Full, Stdio::Broken] {
        signal_storm(stdio, &[b"--bogus", b"\xff\xfe"], each);
    }
}

// ------------------------------------------------------------------ forks

/// A `pids` cgroup in a fresh temporary name, removed (after killing what
/// is left in it) when dropped. cgroup v1 (this machine) or v2.
struct PidsCgroup {
    dir: PathBuf,
}

impl PidsCgroup {
    fn create(max: usize) -> Option<PidsCgroup> {
        let v1 = Path::new("/sys/fs/cgroup/pids");
        let v2 = Path::new("/sys/fs/cgroup");
        let parent = if v1.join("cgroup.procs").exists() {
            v1
        } else if std::fs::read_to_string(v2.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "pids"))
        {
            v2
        } else {
            cannot_run("no cgroup hierarchy with the pids controller");
            return None;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = parent.join(format!("pause-stress.{}.{nanos}", std::process::id()));
        if let Err(e) = std::fs::create_dir(&dir) {
            cannot_run(&format!("creating {} ({e}): needs root", dir.display()));
            return None;
        }
        let cgroup = PidsCgroup { dir };
        std::fs::write(cgroup.dir.join("pids.max"), max.to_string()).expect("pids.max");
        Some(cgroup)
    }

    fn add(&self, pid: Pid) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).expect("cgroup.procs");
    }

    fn procs(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    }

    /// How many times the kernel refused a fork for the limit (pids.events).
    fn limit_hits(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("pids.events"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("max "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        let start = Instant::now();
        loop {
            for pid in self.procs() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(e) if start.elapsed() > DEADLINE => {
                    eprintln!("cannot remove {}: {e}", self.dir.display());
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
}

/// Orphans each intermediate process leaves behind.
const PER_PARENT: usize = 16;

/// Waits until every spawner has met the target and exited with 0; stops
/// the storm and fails when it has not after 5 × DEADLINE.
fn wait_for_spawners(forks: &Storm, started: Instant) {
    for &s in forks.spawners() {
        let status = loop {
            match waitpid(s, Some(WaitPidFlag::WNOHANG)).expect("waitpid spawner") {
                WaitStatus::StillAlive => {
                    if started.elapsed() > 5 * DEADLINE {
                        forks.stop();
                        panic!(
                            "the fork storm made only {} orphans in {:?}",
                            forks.orphans(),
                            started.elapsed()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                status => break status,
            }
        };
        assert_eq!(status, WaitStatus::Exited(s, 0), "spawner (11: setns)");
    }
}

#[test]
fn fork_storm_under_a_pids_limit_leaves_no_zombie() {
    if !is_root() {
        cannot_run("the fork storm needs root for its pids cgroup");
        return;
    }
    const SPAWNERS: usize = 4;
    let target = size("STRESS_ORPHANS", 100_000) as u64;
    // Room for the spawners, their intermediates and a few dozen orphans not
    // yet reaped: forks fail whenever pause falls behind (zombies count).
    let limit = 2 * SPAWNERS + 2 * PER_PARENT;
    let Some(cgroup) = PidsCgroup::create(limit) else {
        return;
    };
    let Some(mut pause) = Pause::start(As::Pid1, Stdio::Captured, &[]) else {
        return;
    };
    pause.wait_ready();
    // Spawners in the namespace of pause, each waiting for the start: each
    // forks intermediates that fork PER_PARENT children and exit at once.
    let mut forks = Storm::prepare(pause.pid, SPAWNERS, PER_PARENT, target).expect("fork storm");
    for &s in forks.spawners() {
        cgroup.add(s);
    }
    let started = Instant::now();
    forks.go();
    wait_for_spawners(&forks, started);
    let storm = started.elapsed();
    // Every orphan exits at once, so within a second of the last spawner's
    // exit pause must have reaped them all.
    let end = Instant::now();
    loop {
        let (kids, zombies) = pause.children();
        if kids.is_empty() {
            break;
        }
        assert!(
            end.elapsed() < Duration::from_secs(1),
            "1 s after the fork storm pause still has {} children, {zombies} of them zombies",
            kids.len()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let reaped_in = end.elapsed();
    let (orphans, failed) = (forks.orphans(), forks.failed_forks());
    eprintln!(
        "fork storm: {orphans} orphans made by {SPAWNERS} spawners in {storm:.1?} under pids.max={limit}; \
         {failed} forks failed (pids.events max {}); last zombie gone {reaped_in:.1?} after the storm",
        cgroup.limit_hits()
    );
    assert!(orphans >= target);
    assert!(
        failed > 0,
        "the pids limit never made a fork fail: the storm did not test it"
    );
    assert!(pause.running());
    pause.wait_ready();
    terminate(pause, b"", "after the fork storm");
    drop(cgroup);
}

// ------------------------------------------------------------ stop / cont

#[test]
fn stopped_and_continued_while_orphans_exit() {
    let cycles = size("STRESS_STOPS", 200);
    let Some(mut pause) = Pause::start(As::Pid1, Stdio::Captured, &[]) else {
        return;
    };
    pause.wait_ready();
    // SIGCONT would end the stop it is meant to survive.
    let kinds: Vec<i32> = ignored_signals()
        .into_iter()
        .filter(|&s| s != libc::SIGCONT)
        .collect();
    let started = Instant::now();
    let mut orphans = 0;
    for cycle in 0..cycles {
        pause.signal(Signal::SIGSTOP);
        poll("pause to stop", || pause.state() == 'T');
        // While it is stopped, orphans exit: they must stay zombies (which
        // shows the final check can fail) until pause runs again.
        let (parents, each) = if cycle == 0 { (20, 50) } else { (2, 10) };
        let mut batch = pause.make_orphans(parents, each);
        batch.release();
        orphans += parents * each;
        poll("the orphans to become zombies of the stopped pause", || {
            pause.children().1 >= parents * each
        });
        for &sig in kinds.iter().skip(cycle % 7).step_by(7) {
            pause.signal_raw(sig);
        }
        assert_eq!(pause.state(), 'T', "pause ran while stopped");
        pause.signal(Signal::SIGCONT);
    }
    pause.wait_signals_taken();
    assert!(pause.running(), "stop/continue ended pause");
    assert_no_child_left(&pause, "after stop/continue");
    eprintln!(
        "stop/continue: {cycles} cycles in {:.1?}, {orphans} orphans exited while pause was stopped",
        started.elapsed()
    );
    terminate(pause, b"", "after stop/continue");
}

// -------------------------------------------------------------- arguments

/// SplitMix64: a deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
}

const SEED: u64 = 0x7061_7573_6521; // "pause!"

/// The spellings that end pause (with 0) before it does anything else.
const FLAGS: [&[u8]; 5] = [b"-v", b"-V", b"--version", b"-h", b"--help"];

/// Close to a flag, but not one: pause must warn and keep running.
const NEAR_MISSES: &[&[u8]] = &[
    b"--VERSION",
    b"--Version",
    b"--HELP",
    b"--Help",
    b"-vv",
    b"-VV",
    b"-vh",
    b"-hv",
    b"-H",
    b"-hh",
    b"-version",
    b"-help",
    b"--ver",
    b"--v",
    b"--h",
    b"---version",
    b"--version=1",
    b"--help=",
    b"--",
    b"-",
    b"",
    b" -v",
    b"-v ",
    b"-v\n",
    b"\t--help",
    b"-v\xff",
    b"\xe2\x80\x93v",    // en dash + v
    b"\xe2\x80\x94help", // em dash + help
    b"\xef\xbc\x8dv",    // fullwidth hyphen-minus + v
    b"-\xcc\xb6v",       // combining mark inside
    b"v",
    b"version",
    b"help",
    b"-?",
    b"/v",
    b"/?",
    b"--no-version",
    b"%s%s%s%n",
    b"\x1b[2J",
];

/// The longest single argument the kernel accepts (MAX_ARG_STRLEN, 32
/// pages, including the NUL).
const MAX_ARG_STRLEN: usize = 32 * 4096;

fn random_bytes(rng: &mut Rng, len: usize, printable: bool) -> Vec<u8> {
    (0..len)
        .map(|_| {
            let r = rng.next() as u8;
            if printable {
                b' ' + r % 95
            } else {
                r.max(1) // anything but NUL
            }
        })
        .collect()
}

fn one_arg(rng: &mut Rng) -> Vec<u8> {
    match rng.below(100) {
        0..30 => rng.pick(NEAR_MISSES).to_vec(),
        30..60 => {
            let len = rng.below(40);
            random_bytes(rng, len, true)
        }
        60..85 => {
            let len = rng.below(64);
            random_bytes(rng, len, false)
        }
        85..98 => {
            let len = rng.below(4096);
            random_bytes(rng, len, false)
        }
        _ => {
            let len = MAX_ARG_STRLEN - 1 - rng.below(64);
            let printable = rng.below(2) == 0;
            random_bytes(rng, len, printable)
        }
    }
}

/// What exec lets us pass: ARG_MAX less our environment, pause's path and a
/// margin. Each argument costs its bytes, a NUL and a pointer.
fn argv_budget() -> usize {
    let arg_max = test_support::spawn::arg_max();
    let env: usize = std::env::vars_os()
        .map(|(k, v)| k.len() + v.len() + 2 + 8)
        .sum();
    let path = pid1::pause_bin().as_os_str().len() + pid1::runner().map_or(0, |r| r.len()) + 32;
    arg_max - env - path - 64 * 1024
}

fn cost(arg: &[u8]) -> usize {
    arg.len() + 1 + 8
}

/// Argument vector number `n`: the same for every run.
fn argv(n: usize, budget: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(SEED ^ (n as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut args: Vec<Vec<u8>> = match n % 50 {
        0 => vec![],
        1 => (0..1000 + rng.below(4000))
            .map(|_| {
                let len = rng.below(12);
                random_bytes(&mut rng, len, true)
            })
            .collect(),
        2 => {
            // As close to ARG_MAX as exec allows.
            let mut v = Vec::new();
            let mut room = budget;
            while room > cost(b"") {
                let len = (room - cost(b"")).min(MAX_ARG_STRLEN - 1);
                room -= cost(&vec![0; len]);
                v.push(random_bytes(&mut rng, len, n % 100 == 2));
            }
            v
        }
        3 => vec![vec![b'x'; MAX_ARG_STRLEN - 1]],
        _ => (0..1 + rng.below(8)).map(|_| one_arg(&mut rng)).collect(),
    };
    // Every flag spelling, at any position, in a sixth of the vectors.
    if n % 6 == 5 {
        let at = rng.below(args.len() + 1);
        args.insert(at, rng.pick(&FLAGS).to_vec());
    }
    // Never more than exec accepts: that would test the kernel, not pause.
    let mut total = 0;
    args.retain(|a| {
        total += cost(a);
        total <= budget
    });
    args
}

#[derive(Debug, PartialEq, Clone, Copy)]
enum Outcome {
    Version,
    Help,
    Runs,
}

/// The contract: the first flag decides; without one pause keeps running.
fn expected(args: &[Vec<u8>]) -> Outcome {
    args.iter()
        .find_map(|a| match &a[..] {
            b"-v" | b"-V" | b"--version" => Some(Outcome::Version),
            b"-h" | b"--help" => Some(Outcome::Help),
            _ => None,
        })
        .unwrap_or(Outcome::Runs)
}

/// Runs pause with argument vector `n` and checks the outcome.
fn run_argv(n: usize, budget: usize) -> (Outcome, usize, usize) {
    let args = argv(n, budget);
    let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
    let as_ = if n % 16 == 7 { As::Pid1 } else { As::Child };
    let stdio = match n % 10 {
        1 => Stdio::Closed,
        4 => Stdio::Full,
        8 => Stdio::Broken,
        _ => Stdio::Captured,
    };
    let what = format!(
        "argument vector #{n} ({} arguments, {} bytes, {} as {}, first {:?})",
        args.len(),
        args.iter().map(|a| a.len()).sum::<usize>(),
        stdio_name(stdio),
        if as_ == As::Pid1 { "PID 1" } else { "a child" },
        refs.first()
            .map(|a| String::from_utf8_lossy(&a[..a.len().min(40)]).into_owned())
    );
    let want = expected(&args);
    let shape = (
        want,
        args.len(),
        args.iter().map(|a| cost(a)).sum::<usize>(),
    );
    let Some(mut pause) = Pause::start(as_, stdio, &refs) else {
        return shape;
    };
    if want == Outcome::Runs {
        pause.wait_ready();
        assert!(pause.running(), "{what}: pause stopped");
        let mut stderr = warnings(&refs);
        if as_ == As::Child {
            stderr.extend_from_slice(NOT_FIRST.as_bytes());
        }
        terminate(pause, &stderr, &what);
    } else {
        let exit = pause.wait_exit();
        assert_eq!((exit.code, exit.signal), (Some(0), None), "{what}");
        if stdio == Stdio::Captured {
            match want {
                Outcome::Version => assert_eq!(
                    exit.stdout,
                    format!("pause {}\n", env!("CARGO_PKG_VERSION")),
                    "{what}"
                ),
                _ => assert!(exit.stdout.starts_with("Usage: pause"), "{what}"),
            }
            assert_eq!(exit.stderr, "", "{what}: a flag prints no warning");
        }
    }
    shape
}

#[test]
fn ten_thousand_generated_command_lines_never_crash_it() {
    let count = size("STRESS_ARGVS", 10_000);
    let budget = argv_budget();
    let next = AtomicUsize::new(0);
    let (runs, versions, helps) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let (most_args, most_bytes) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let started = Instant::now();
    std::thread::scope(|s| {
        // Most of a run is waiting (for exec, for the exit): many at a time.
        for _ in 0..16 {
            s.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Relaxed);
                    if n >= count {
                        break;
                    }
                    let (outcome, args, bytes) = run_argv(n, budget);
                    match outcome {
                        Outcome::Runs => &runs,
                        Outcome::Version => &versions,
                        Outcome::Help => &helps,
                    }
                    .fetch_add(1, Relaxed);
                    most_args.fetch_max(args, Relaxed);
                    most_bytes.fetch_max(bytes, Relaxed);
                }
            });
        }
    });
    eprintln!(
        "arguments: {count} vectors (seed {SEED:#x}) in {:.1?}: {} kept running until SIGTERM, \
         {} printed the version, {} the usage; up to {} arguments, up to {} bytes (ARG_MAX budget {budget})",
        started.elapsed(),
        runs.load(Relaxed),
        versions.load(Relaxed),
        helps.load(Relaxed),
        most_args.load(Relaxed),
        most_bytes.load(Relaxed),
    );
    assert!(versions.load(Relaxed) > 0 && helps.load(Relaxed) > 0 && runs.load(Relaxed) > 0);
}

#[test]
fn the_generator_covers_what_it_claims() {
    // Every shape the argument test promises is really generated.
    let budget = argv_budget();
    let all: Vec<_> = (0..1000).map(|n| argv(n, budget)).collect();
    assert!(all.iter().any(|a| a.is_empty()));
    assert!(all.iter().any(|a| a.len() >= 1000));
    let bytes = |a: &Vec<Vec<u8>>| a.iter().map(|x| cost(x)).sum::<usize>();
    assert!(all.iter().any(|a| bytes(a) > budget - MAX_ARG_STRLEN));
    assert!(all.iter().flatten().any(|x| x.len() == MAX_ARG_STRLEN - 1));
    assert!(
        all.iter()
            .flatten()
            .any(|x| std::str::from_utf8(x).is_err())
    );
    for spelling in FLAGS.iter().chain(NEAR_MISSES) {
        assert!(
            all.iter().flatten().any(|a| a == spelling),
            "{:?} is never generated",
            String::from_utf8_lossy(spelling)
        );
    }
    for outcome in [Outcome::Runs, Outcome::Version, Outcome::Help] {
        assert!(all.iter().any(|a| expected(a) == outcome), "{outcome:?}");
    }
    assert_eq!(argv(1234, budget), argv(1234, budget), "deterministic");
}
