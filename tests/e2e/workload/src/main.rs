//! `workload`: the process the pause end-to-end suites run beside pause in a
//! pod. It makes orphans on demand (children whose parent exits at once, so the
//! kernel hands them to PID 1 of the PID namespace) and reports what it saw, so
//! a test can check that PID 1 adopts and reaps them. It exits 0 at once on
//! SIGTERM or SIGINT. The command line is described by `usage()` below and in
//! the e2e notes.

use nix::libc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::prctl;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid, pipe, read, write};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::fd::{AsFd, OwnedFd};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Every orphan reports its PID and the PID of its new parent: two u32s.
const REPORT: usize = 8;

fn usage() -> &'static str {
    "usage: workload orphans N [--timeout SECS] [--no-wait-reaped]\n\
     \x20      workload serve [--orphans N]\n\
     \x20      workload info\n\
     \x20      workload zombies\n"
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["orphans", n, rest @ ..] => parse_count(n).and_then(|n| orphans_cmd(n, rest)),
        ["serve", rest @ ..] => serve_cmd(rest),
        ["info"] => Ok(info_cmd()),
        ["zombies"] => Ok(zombies_cmd()),
        ["-h" | "--help"] => {
            print!("{}", usage());
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!("bad arguments: {args:?}")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprint!("workload: {e}\n{}", usage());
            ExitCode::from(2)
        }
    }
}

fn parse_count(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|&n| n <= 100_000)
        .ok_or_else(|| format!("not a count: {s}"))
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not make the workload fail its job.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn orphans_cmd(n: usize, rest: &[&str]) -> Result<ExitCode, String> {
    let mut timeout = Duration::from_secs(30);
    let mut wait_reaped = true;
    let mut it = rest.iter();
    while let Some(&a) = it.next() {
        match a {
            "--timeout" => {
                let v = it.next().ok_or("--timeout needs a value")?;
                let secs: u64 = v.parse().map_err(|_| format!("bad --timeout: {v}"))?;
                timeout = Duration::from_secs(secs);
            }
            "--no-wait-reaped" => wait_reaped = false,
            _ => return Err(format!("unknown option: {a}")),
        }
    }
    let deadline = Instant::now() + timeout;
    let batch = make_orphans(n, None, deadline)?;
    let mut line = format!(
        "orphans={n} reparented={} new_parents={}",
        batch.reports.len(),
        parents_summary(&batch.reports)
    );
    let mut ok = batch.reports.len() == n;
    if wait_reaped {
        let left = wait_gone(&batch.reports, deadline);
        line += &format!(
            " reaped={} zombies={}",
            batch.reports.len() - left.len(),
            count_zombies(&left)
        );
        ok &= left.is_empty();
    }
    line += &format!(" pid1={}", pid1_name());
    say(&line);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn serve_cmd(rest: &[&str]) -> Result<ExitCode, String> {
    let mut n = 0;
    let mut it = rest.iter();
    while let Some(&a) = it.next() {
        match a {
            "--orphans" => n = parse_count(it.next().ok_or("--orphans needs a value")?)?,
            _ => return Err(format!("unknown option: {a}")),
        }
    }
    // Handlers first: a SIGTERM that comes while the orphans are being made
    // is kept pending and answered right after.
    let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(|e| format!("signals: {e}"))?;
    // Orphans hold the read end of this pipe and leave when it reports EOF,
    // that is when this process (the only holder of the write end) is gone.
    let (hold_r, hold_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let hold = Hold {
        read: hold_r,
        write_raw: libc_fd(&hold_w),
    };
    let batch = make_orphans(n, Some(hold), Instant::now() + Duration::from_secs(30))?;
    say(&format!(
        "serving orphans={n} reparented={} new_parents={}",
        batch.reports.len(),
        parents_summary(&batch.reports)
    ));
    let got = signals.forever().next().unwrap_or(SIGTERM);
    let name = Signal::try_from(got).map(|s| s.as_str()).unwrap_or("?");
    say(&format!("stopping signal={name}"));
    drop(hold_w);
    Ok(ExitCode::SUCCESS)
}

/// One orphan as it reported itself: its PID and the parent it was given.
#[derive(Clone, Copy)]
struct Report {
    pid: u32,
    new_parent: u32,
    /// Start time from /proc/PID/stat when the report was read (to tell a
    /// reused PID from the orphan); None when it was already gone.
    start: Option<u64>,
}

/// The pipe orphans wait on in `serve`: they keep the read end and must close
/// their inherited copy of the write end.
struct Hold {
    read: OwnedFd,
    write_raw: i32,
}

struct Batch {
    reports: Vec<Report>,
}

/// Forks `n` intermediate children that each fork one orphan and exit. Each
/// orphan waits until it has been reparented, reports, and then either exits
/// (hold = None) or waits for EOF on `hold`. Returns once every orphan has
/// reported or at the deadline.
fn make_orphans(n: usize, hold: Option<Hold>, deadline: Instant) -> Result<Batch, String> {
    let (rep_r, rep_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    // SIGUSR1 tells an orphan its parent died; blocked so it can be waited
    // for synchronously, and inherited blocked by every fork.
    let mut usr1 = SigSet::empty();
    usr1.add(Signal::SIGUSR1);
    let mut old = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&usr1), Some(&mut old)).map_err(|e| e.to_string())?;
    let mut intermediates = Vec::with_capacity(n);
    for _ in 0..n {
        // SAFETY: the children only make async-signal-safe calls and _exit.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => intermediate(&rep_r, &rep_w, hold.as_ref(), &usr1),
            Ok(ForkResult::Parent { child }) => intermediates.push(child),
            Err(e) => {
                reap(&intermediates);
                return Err(format!("fork: {e}"));
            }
        }
    }
    reap(&intermediates);
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None).map_err(|e| e.to_string())?;
    drop(rep_w);
    drop(hold);

    let mut reports = Vec::with_capacity(n);
    let mut buf = Vec::with_capacity(n * REPORT);
    let mut chunk = [0u8; 4096];
    while reports.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let ms = u16::try_from(left.as_millis().min(10_000)).unwrap_or(10_000);
        let mut fds = [PollFd::new(rep_r.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(format!("poll: {e}")),
        }
        match read(&rep_r, &mut chunk) {
            Ok(0) => break, // every orphan is gone
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("read: {e}")),
        }
        while buf.len() >= REPORT {
            let rec: Vec<u8> = buf.drain(..REPORT).collect();
            let pid = u32::from_ne_bytes(rec[..4].try_into().unwrap());
            let new_parent = u32::from_ne_bytes(rec[4..].try_into().unwrap());
            let start = stat(pid).map(|s| s.start);
            reports.push(Report {
                pid,
                new_parent,
                start,
            });
        }
    }
    Ok(Batch { reports })
}

/// The intermediate child: forks the orphan and exits at once.
fn intermediate(rep_r: &OwnedFd, rep_w: &OwnedFd, hold: Option<&Hold>, usr1: &SigSet) -> ! {
    let me = getpid();
    // SAFETY: as above.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => orphan(me, rep_r, rep_w, hold, usr1),
        // SAFETY: _exit runs no destructors or atexit handlers, which a
        // forked copy of a multi-threaded process must not run.
        _ => unsafe { libc::_exit(0) },
    }
}

/// The orphan: waits to be reparented, reports, then leaves or holds.
fn orphan(parent: Pid, rep_r: &OwnedFd, rep_w: &OwnedFd, hold: Option<&Hold>, usr1: &SigSet) -> ! {
    let _ = nix::unistd::close(libc_fd(rep_r));
    if let Some(h) = hold {
        let _ = nix::unistd::close(h.write_raw);
    }
    // The parent's death is signalled after the kernel has set the new
    // parent; checking getppid() afterwards covers a parent already gone.
    let armed = prctl::set_pdeathsig(Signal::SIGUSR1).is_ok();
    if getppid() == parent {
        if armed {
            let _ = usr1.wait();
        }
        while getppid() == parent {
            std::hint::spin_loop();
        }
    }
    let mut rec = [0u8; REPORT];
    rec[..4].copy_from_slice(&(getpid().as_raw() as u32).to_ne_bytes());
    rec[4..].copy_from_slice(&(getppid().as_raw() as u32).to_ne_bytes());
    let _ = write(rep_w, &rec);
    let _ = nix::unistd::close(libc_fd(rep_w));
    if let Some(h) = hold {
        let mut b = [0u8; 1];
        while !matches!(read(&h.read, &mut b), Ok(0) | Err(nix::errno::Errno::EBADF)) {}
    }
    // SAFETY: as in `intermediate`: a forked child leaves without unwinding.
    unsafe { libc::_exit(0) }
}

fn libc_fd(fd: &OwnedFd) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

fn reap(pids: &[Pid]) {
    for &p in pids {
        while matches!(waitpid(p, None), Err(nix::errno::Errno::EINTR)) {}
    }
}

/// Reaps any child this process may have been given (when it is itself PID 1
/// of its namespace, the orphans are its own).
fn reap_any() {
    while let Ok(s) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if s == WaitStatus::StillAlive {
            break;
        }
    }
}

/// Polls until every reported orphan has disappeared from /proc, or the
/// deadline; returns the ones still there.
fn wait_gone(reports: &[Report], deadline: Instant) -> Vec<Report> {
    let mut left: Vec<Report> = reports
        .iter()
        .copied()
        .filter(|r| r.start.is_some())
        .collect();
    loop {
        reap_any();
        left.retain(|r| stat(r.pid).is_some_and(|s| Some(s.start) == r.start));
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn count_zombies(reports: &[Report]) -> usize {
    reports
        .iter()
        .filter(|r| stat(r.pid).is_some_and(|s| s.state == 'Z' && Some(s.start) == r.start))
        .count()
}

fn parents_summary(reports: &[Report]) -> String {
    let mut by: BTreeMap<u32, usize> = BTreeMap::new();
    for r in reports {
        *by.entry(r.new_parent).or_default() += 1;
    }
    if by.is_empty() {
        return "-".into();
    }
    by.iter()
        .map(|(p, c)| format!("{p}:{c}"))
        .collect::<Vec<_>>()
        .join(",")
}

struct Stat {
    state: char,
    ppid: u32,
    start: u64,
}

/// Fields of /proc/PID/stat after the command name (which may hold spaces).
fn stat(pid: u32) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); ppid is field 4, starttime field 22.
    Some(Stat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

fn pid1_name() -> String {
    std::fs::read("/proc/1/cmdline")
        .ok()
        .and_then(|c| {
            c.split(|&b| b == 0)
                .next()
                .map(|w| String::from_utf8_lossy(w).into_owned())
        })
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "?".into())
}

fn status_field(pid: &str, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(key)
                    .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            })
        })
        .unwrap_or_else(|| "?".into())
}

fn info_cmd() -> ExitCode {
    say(&format!(
        "pid={} ppid={} pid1={} pid1_uid={} pid1_state={}",
        getpid(),
        getppid(),
        pid1_name(),
        status_field("1", "Uid:"),
        status_field("1", "State:")
    ));
    ExitCode::SUCCESS
}

fn zombies_cmd() -> ExitCode {
    let mut zombies = 0;
    let mut of_pid1 = 0;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(s) = stat(pid).filter(|s| s.state == 'Z') {
                zombies += 1;
                if s.ppid == 1 {
                    of_pid1 += 1;
                }
            }
        }
    }
    say(&format!("zombies={zombies} zombies_of_pid1={of_pid1}"));
    if zombies == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
