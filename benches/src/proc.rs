//! Starting a peer as PID 1 of a fresh PID namespace, telling when it is
//! ready, stopping it, and reading what the kernel says about it in /proc.

use nix::libc;
use nix::sched::{CloneFlags, clone};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// System calls in which an init-like process sits while it waits for
/// signals: rt_sigtimedwait (pause), read on a signalfd (catatonit), pause or
/// rt_sigsuspend (a handler-based pause), and the poll family.
pub const WAIT_SYSCALLS: &[i64] = &[
    libc::SYS_rt_sigtimedwait,
    libc::SYS_read,
    libc::SYS_rt_sigsuspend,
    libc::SYS_ppoll,
    libc::SYS_epoll_pwait,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_pause,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_poll,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_epoll_wait,
];

/// A command line prepared before cloning, so the child allocates nothing
/// between clone and execve.
pub struct Command {
    argv: Vec<CString>,
    envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    stack: Vec<u8>,
}

impl Command {
    pub fn new<S: AsRef<str>>(argv: &[S], env: &[(String, String)]) -> Self {
        let argv: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_ref()).expect("argument without NUL"))
            .collect();
        let envp: Vec<CString> = env
            .iter()
            .map(|(k, v)| CString::new(format!("{k}={v}")).expect("environment without NUL"))
            .collect();
        let mut argv_ptrs: Vec<_> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let mut envp_ptrs: Vec<_> = envp.iter().map(|a| a.as_ptr()).collect();
        envp_ptrs.push(std::ptr::null());
        Command {
            argv,
            envp,
            argv_ptrs,
            envp_ptrs,
            stack: vec![0u8; 256 * 1024],
        }
    }

    /// Clones a child into a new PID namespace (where it is PID 1) with
    /// stdin, stdout and stderr on the given descriptors, and execs the
    /// command. Returns the child's PID as this (the host) namespace sees it.
    pub fn spawn_pid1(&mut self, stdout: &OwnedFd, stderr: &OwnedFd) -> nix::Result<Pid> {
        let argv = self.argv_ptrs.as_ptr();
        let envp = self.envp_ptrs.as_ptr();
        let out = stdout.as_raw_fd();
        let err = stderr.as_raw_fd();
        let _ = (&self.argv, &self.envp);
        let child = Box::new(move || -> isize {
            // SAFETY: only async-signal-safe calls on memory prepared before
            // the clone; the child has its own copy of the address space.
            unsafe {
                // Every peer starts alike, as a runtime starts a container's
                // init: default dispositions (Rust ignores SIGPIPE, and a
                // parent may ignore more) and nothing blocked. All-zero is
                // SIG_DFL with no flags in every kernel sigaction layout.
                let dfl = [0usize; 4];
                for sig in 1..=64 {
                    if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                        libc::syscall(libc::SYS_rt_sigaction, sig, dfl.as_ptr(), 0usize, 8usize);
                    }
                }
                let empty = 0u64;
                libc::syscall(
                    libc::SYS_rt_sigprocmask,
                    libc::SIG_SETMASK,
                    &empty as *const u64,
                    0usize,
                    8usize,
                );
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                libc::dup2(null, 0);
                libc::dup2(out, 1);
                libc::dup2(err, 2);
                libc::execve(*argv, argv, envp);
                libc::_exit(127)
            }
        });
        // SAFETY: the harness is single-threaded while it clones, and the
        // child only runs the closure above.
        unsafe {
            clone(
                child,
                &mut self.stack,
                CloneFlags::CLONE_NEWPID,
                Some(libc::SIGCHLD),
            )
        }
    }
}

/// Polls /proc/PID/syscall until the process sleeps in one of
/// [`WAIT_SYSCALLS`]: it has exec'd, set up its signal handling and is
/// waiting. Returns the moment that was first seen and the system call.
pub fn wait_ready(pid: Pid, deadline: Duration) -> Result<(Instant, i64), String> {
    wait_ready_of(pid, deadline, true)
}

/// [`wait_ready`] for a process that is not the harness's child (a sandbox
/// started by containerd): its end is seen as /proc/PID/syscall vanishing.
pub fn wait_ready_foreign(pid: Pid, deadline: Duration) -> Result<(Instant, i64), String> {
    wait_ready_of(pid, deadline, false)
}

fn wait_ready_of(pid: Pid, deadline: Duration, child: bool) -> Result<(Instant, i64), String> {
    let start = Instant::now();
    let file = File::open(format!("/proc/{pid}/syscall"))
        .map_err(|e| format!("open /proc/{pid}/syscall: {e}"))?;
    let mut buf = [0u8; 256];
    let mut polls: u64 = 0;
    loop {
        let n = match file.read_at(&mut buf, 0) {
            Ok(n) => n,
            Err(e) if !child => return Err(format!("{pid} ended before it was ready: {e}")),
            Err(_) => 0,
        };
        let now = Instant::now();
        if let Some(nr) = parse_syscall(&buf[..n])
            && WAIT_SYSCALLS.contains(&nr)
        {
            return Ok((now, nr));
        }
        polls += 1;
        if polls.is_multiple_of(64) {
            match if child {
                waitpid(pid, Some(WaitPidFlag::WNOHANG))
            } else {
                Ok(WaitStatus::StillAlive)
            } {
                Ok(WaitStatus::StillAlive) => {}
                Ok(status) => return Err(format!("{pid} ended before it was ready: {status:?}")),
                Err(e) => return Err(format!("waitpid {pid}: {e}")),
            }
            if now - start > deadline {
                return Err(format!("{pid} not ready within {deadline:?}"));
            }
        }
    }
}

fn parse_syscall(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Sends SIGTERM and waits for the process to be reaped; returns the time
/// from the signal to the reap and how it ended.
pub fn stop(pid: Pid) -> Result<(Duration, WaitStatus), String> {
    let t0 = Instant::now();
    kill(pid, Signal::SIGTERM).map_err(|e| format!("kill {pid}: {e}"))?;
    let status = waitpid(pid, None).map_err(|e| format!("waitpid {pid}: {e}"))?;
    Ok((t0.elapsed(), status))
}

/// Kills and reaps a process, ignoring errors: the cleanup path.
pub fn kill_and_reap(pid: Pid) {
    let _ = kill(pid, Signal::SIGKILL);
    let _ = waitpid(pid, None);
}

/// A process the harness started, killed and reaped on drop unless it was
/// stopped properly.
pub struct Guard(pub Option<Pid>);

impl Guard {
    pub fn pid(&self) -> Pid {
        self.0.expect("process already stopped")
    }
    pub fn stop(&mut self) -> Result<(Duration, WaitStatus), String> {
        let pid = self.0.take().expect("process already stopped");
        stop(pid).inspect_err(|_| kill_and_reap(pid))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            kill_and_reap(pid);
        }
    }
}

/// A `Key:   value kB` (or plain number) field of a /proc file.
pub fn field(path: &Path, key: &str) -> Result<u64, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.split_whitespace().next()?.parse().ok())?
        })
        .ok_or_else(|| format!("no {key} in {}", path.display()))
}

/// Resident memory of a process: (VmRSS kB, Rss kB, Pss kB).
pub fn memory(pid: Pid) -> Result<(u64, u64, u64), String> {
    let status = Path::new("/proc").join(pid.to_string()).join("status");
    let rollup = Path::new("/proc")
        .join(pid.to_string())
        .join("smaps_rollup");
    Ok((
        field(&status, "VmRSS")?,
        field(&rollup, "Rss")?,
        field(&rollup, "Pss")?,
    ))
}

/// (voluntary + involuntary context switches, utime + stime clock ticks).
pub fn activity(pid: Pid) -> Result<(u64, u64), String> {
    let status = Path::new("/proc").join(pid.to_string()).join("status");
    let switches =
        field(&status, "voluntary_ctxt_switches")? + field(&status, "nonvoluntary_ctxt_switches")?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("read /proc/{pid}/stat: {e}"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("malformed stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let num = |i: usize| -> Result<u64, String> {
        fields
            .get(i - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("no field {i} in /proc/{pid}/stat"))
    };
    Ok((switches, num(14)? + num(15)?))
}

/// The signal masks the kernel shows for a process: SigBlk, SigIgn, SigCgt.
pub fn signal_masks(pid: Pid) -> Result<[String; 3], String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("read /proc/{pid}/status: {e}"))?;
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    Ok([get("SigBlk:"), get("SigIgn:"), get("SigCgt:")])
}

/// Children of a single-threaded process, from /proc/PID/task/PID/children.
pub fn children(pid: Pid, buf: &mut Vec<u8>) -> Result<Vec<i32>, String> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let file = File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
    buf.clear();
    let mut off = 0u64;
    loop {
        if buf.len() < off as usize + 65536 {
            buf.resize(off as usize + 65536, 0);
        }
        let n = file
            .read_at(&mut buf[off as usize..], off)
            .map_err(|e| format!("read {path}: {e}"))?;
        if n == 0 {
            break;
        }
        off += n as u64;
    }
    Ok(std::str::from_utf8(&buf[..off as usize])
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect())
}

/// Whether a single-threaded process has any child (zombies included). Reads
/// only the start of /proc/PID/task/PID/children, so the kernel lists one or
/// two entries instead of thousands: cheap enough to poll.
pub struct HasChildren(File);

impl HasChildren {
    pub fn open(pid: Pid) -> Result<Self, String> {
        let path = format!("/proc/{pid}/task/{pid}/children");
        File::open(&path)
            .map(HasChildren)
            .map_err(|e| format!("open {path}: {e}"))
    }
    pub fn check(&self) -> Result<bool, String> {
        let mut buf = [0u8; 16];
        self.0
            .read_at(&mut buf, 0)
            .map(|n| n > 0)
            .map_err(|e| format!("read children: {e}"))
    }
}

/// Number of children (PIDs) that are zombies.
pub fn zombies(pids: &[i32]) -> usize {
    pids.iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .map(|(_, r)| r.trim_start().starts_with('Z'))
                })
                .unwrap_or(false)
        })
        .count()
}

/// The name the kernel gives a system call number of this host.
pub fn syscall_name(nr: i64) -> &'static str {
    match nr {
        libc::SYS_rt_sigtimedwait => "rt_sigtimedwait",
        libc::SYS_read => "read (signalfd)",
        libc::SYS_rt_sigsuspend => "rt_sigsuspend",
        libc::SYS_ppoll => "ppoll",
        libc::SYS_epoll_pwait => "epoll_pwait",
        #[cfg(target_arch = "x86_64")]
        libc::SYS_pause => "pause",
        #[cfg(target_arch = "x86_64")]
        libc::SYS_poll => "poll",
        #[cfg(target_arch = "x86_64")]
        libc::SYS_epoll_wait => "epoll_wait",
        _ => "?",
    }
}
