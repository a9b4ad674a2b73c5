//! What the kernel says about a process in /proc: the only view a test has
//! of pause, of its children and of what a runtime left behind.

use nix::libc;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One line of /proc/PID/stat, the fields the tests use.
#[derive(Clone, Debug)]
pub struct Stat {
    pub pid: i32,
    /// `S` sleeping, `R` running, `T` stopped, `Z` zombie, ...
    pub state: char,
    pub ppid: i32,
    /// Clock ticks spent in user and in kernel mode.
    pub utime: u64,
    pub stime: u64,
    /// Start time after boot, in clock ticks: tells a reused PID apart.
    pub start: u64,
}

pub fn stat(pid: i32) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name may hold spaces and parentheses: fields start after the last ')'.
    let f: Vec<&str> = s[s.rfind(')')? + 2..].split_whitespace().collect();
    // f[0] is field 3 of proc(5) (state).
    let field = |n: usize| f.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        pid,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        utime: field(14)?,
        stime: field(15)?,
        start: field(22)?,
    })
}

/// The state letter of a process, `?` when it is gone.
pub fn state(pid: i32) -> char {
    stat(pid).map_or('?', |s| s.state)
}

/// True while the process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|s| s.state != 'Z')
}

/// Every process on the host.
pub fn all() -> Vec<Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

/// Every process whose parent is `parent`, zombies included.
pub fn children_of(parent: i32) -> Vec<Stat> {
    all().into_iter().filter(|s| s.ppid == parent).collect()
}

pub fn zombies_of(parent: i32) -> Vec<Stat> {
    children_of(parent)
        .into_iter()
        .filter(|s| s.state == 'Z')
        .collect()
}

/// The value of `Key:` in /proc/PID/status, whitespace-normalised.
pub fn status_field(pid: i32, key: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A `Key:   value kB` (or plain number) field of a /proc file.
pub fn number(path: &Path, key: &str) -> Result<u64, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.split_whitespace().next()?.parse().ok())?
        })
        .ok_or_else(|| format!("no {key} in {}", path.display()))
}

/// A signal mask field of /proc/PID/status (`SigPnd`, `SigBlk`, ...).
pub fn signal_mask(pid: i32, key: &str) -> Option<u64> {
    u64::from_str_radix(&status_field(pid, key)?, 16).ok()
}

/// Resident memory: (VmRSS kB, Rss kB, Pss kB).
pub fn memory(pid: i32) -> Result<(u64, u64, u64), String> {
    let status = proc_path(pid, "status");
    let rollup = proc_path(pid, "smaps_rollup");
    Ok((
        number(&status, "VmRSS")?,
        number(&rollup, "Rss")?,
        number(&rollup, "Pss")?,
    ))
}

/// (voluntary + involuntary context switches, utime + stime clock ticks).
pub fn activity(pid: i32) -> Result<(u64, u64), String> {
    let status = proc_path(pid, "status");
    let switches = number(&status, "voluntary_ctxt_switches")?
        + number(&status, "nonvoluntary_ctxt_switches")?;
    let s = stat(pid).ok_or_else(|| format!("no /proc/{pid}/stat"))?;
    Ok((switches, s.utime + s.stime))
}

pub fn cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(proc_path(pid, "cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect(),
    )
}

/// Every process with its command line, arguments joined by spaces (empty
/// for a kernel thread): what to search for an id or a path it names.
pub fn command_lines() -> Vec<(i32, String)> {
    all()
        .into_iter()
        .filter_map(|s| Some((s.pid, cmdline(s.pid)?.join(" "))))
        .collect()
}

/// The namespace a process is in, as the link /proc/PID/ns/KIND reads.
pub fn namespace(pid: i32, kind: &str) -> Option<PathBuf> {
    std::fs::read_link(proc_path(pid, &format!("ns/{kind}"))).ok()
}

/// The host PID of the process that is `inner` in the PID namespace of
/// `ns_of` (the last entry of `NSpid` is the innermost PID).
pub fn host_pid(ns_of: i32, inner: i32) -> Option<i32> {
    let ns = namespace(ns_of, "pid")?;
    all().into_iter().map(|s| s.pid).find(|&p| {
        namespace(p, "pid").as_ref() == Some(&ns)
            && status_field(p, "NSpid")
                .and_then(|v| v.split_whitespace().last().map(str::to_string))
                == Some(inner.to_string())
    })
}

/// The system call a process sleeps in (first field of /proc/PID/syscall).
pub fn syscall(pid: i32) -> Option<i64> {
    SyscallFile::open(pid).ok()?.read().ok()?
}

/// /proc/PID/syscall held open: each look costs one read, cheap enough to
/// spin on while measuring how soon a process gets ready. Reads fail once
/// the process is gone (reaped), even if its PID is used again.
pub struct SyscallFile(File);

impl SyscallFile {
    pub fn open(pid: i32) -> Result<Self, String> {
        let path = proc_path(pid, "syscall");
        File::open(&path)
            .map(SyscallFile)
            .map_err(|e| format!("open {}: {e}", path.display()))
    }

    /// The system call it sleeps in now: `None` while it runs ("running"),
    /// `-1` when it is in user space or a zombie.
    pub fn read(&self) -> Result<Option<i64>, String> {
        let mut buf = [0u8; 256];
        let n = self
            .0
            .read_at(&mut buf, 0)
            .map_err(|e| format!("read syscall: {e}"))?;
        let text = std::str::from_utf8(&buf[..n]).unwrap_or("");
        Ok(text.split_whitespace().next().and_then(|f| f.parse().ok()))
    }
}

/// pause is idle and ready: asleep in `rt_sigtimedwait`, with no signal
/// pending for it (it has taken every one sent so far).
pub fn waiting_for_signals(pid: i32) -> Result<(), String> {
    match syscall(pid) {
        Some(libc::SYS_rt_sigtimedwait) => {}
        other => return Err(format!("in system call {other:?}")),
    }
    for key in ["SigPnd", "ShdPnd"] {
        match signal_mask(pid, key) {
            Some(0) => {}
            other => return Err(format!("{key}: {other:x?}")),
        }
    }
    Ok(())
}

/// Mount points at or under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = mount_points()
        .into_iter()
        .map(PathBuf::from)
        .filter(|p| p.starts_with(dir))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    v
}

/// Every mount point this process sees.
pub fn mount_points() -> Vec<String> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mi.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| p.replace("\\040", " "))
        .collect()
}

/// Unmounts whatever an engine left mounted under `dir` (lazily, so that a
/// busy mount cannot stop the cleanup).
pub fn unmount_all_under(dir: &Path) {
    for m in mounts_under(dir) {
        if let Err(e) = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("teardown: umount {}: {e}", m.display());
        }
    }
}

/// Whether a single-threaded process has any child (zombies included). Reads
/// only the start of /proc/PID/task/PID/children, so the kernel lists one or
/// two entries instead of thousands: cheap enough to poll in a tight loop.
pub struct HasChildren(File);

impl HasChildren {
    pub fn open(pid: i32) -> Result<Self, String> {
        let path = proc_path(pid, &format!("task/{pid}/children"));
        File::open(&path)
            .map(HasChildren)
            .map_err(|e| format!("open {}: {e}", path.display()))
    }

    pub fn check(&self) -> Result<bool, String> {
        let mut buf = [0u8; 16];
        self.0
            .read_at(&mut buf, 0)
            .map(|n| n > 0)
            .map_err(|e| format!("read children: {e}"))
    }
}

fn proc_path(pid: i32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}
