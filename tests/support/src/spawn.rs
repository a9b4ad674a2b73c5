//! Starting any process the way a container runtime starts a container's
//! init (as PID 1 of a fresh PID namespace, or as a plain child), telling
//! when it is ready, and stopping it. [`Command`] is the one spawner: the
//! benchmarks start every peer with it, and [`crate::pid1::Pause`] starts
//! the pause binary under test with it.

use crate::procfs;
use nix::libc;
use nix::sched::{CloneFlags, clone};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Pid, geteuid};
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

/// How a process is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum As {
    /// PID 1 of a fresh PID namespace (and a user namespace when not root),
    /// as in a pod that shares its PID namespace.
    Pid1,
    /// An ordinary child of the caller, as in a `hostPID` pod or a bare run.
    Child,
}

/// Where the standard descriptors of a spawned process point.
#[derive(Clone, Copy)]
pub enum Streams<'a> {
    /// stdin on /dev/null, stdout and stderr on these.
    To(BorrowedFd<'a>, BorrowedFd<'a>),
    /// fds 0, 1 and 2 closed.
    Closed,
}

/// A command line and environment prepared before cloning, so that the
/// child allocates nothing between clone and execve: the caller may be
/// multi-threaded, and a lock another thread held at the clone would never
/// be released in the child. Prepared once, it can be spawned many times.
///
/// Every process starts alike, as a runtime starts a container's init:
/// default signal dispositions and nothing blocked, whatever the caller has.
pub struct Command {
    argv: Vec<CString>,
    envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    stack: Vec<u8>,
    stdin: File,
    leak: Option<(RawFd, RawFd)>,
}

impl Command {
    /// `argv[0]` is the program run; `env` is all the environment it gets.
    pub fn new<A, K, V>(argv: &[A], env: &[(K, V)]) -> Self
    where
        A: AsRef<[u8]>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        assert!(!argv.is_empty(), "a command needs a program");
        let argv: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_ref()).expect("argument without NUL"))
            .collect();
        let envp: Vec<CString> = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.as_ref().as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_ref().as_bytes());
                CString::new(kv).expect("environment without NUL")
            })
            .collect();
        let null_terminated = |v: &[CString]| {
            let mut p: Vec<*const libc::c_char> = v.iter().map(|s| s.as_ptr()).collect();
            p.push(std::ptr::null());
            p
        };
        Command {
            argv_ptrs: null_terminated(&argv),
            envp_ptrs: null_terminated(&envp),
            argv,
            envp,
            stack: vec![0u8; 256 * 1024],
            stdin: File::open("/dev/null").expect("/dev/null"),
            leak: None,
        }
    }

    /// Hands `from` to the process as descriptor `to`, as a careless runtime
    /// would leave it. `from` must stay open until the spawn.
    pub fn leak(&mut self, from: RawFd, to: RawFd) -> &mut Self {
        self.leak = Some((from, to));
        self
    }

    /// Starts the command. Returns its PID as the caller's namespace sees it.
    pub fn spawn(&mut self, as_: As, streams: Streams) -> nix::Result<Pid> {
        let _ = (&self.argv, &self.envp); // owners of what the pointers point to
        let exec = Exec {
            argv: self.argv_ptrs.as_ptr(),
            envp: self.envp_ptrs.as_ptr(),
            stdin: self.stdin.as_raw_fd(),
            streams: match streams {
                Streams::To(out, err) => Some((out.as_raw_fd(), err.as_raw_fd())),
                Streams::Closed => None,
            },
            leak: self.leak,
        };
        let mut flags = CloneFlags::empty();
        if as_ == As::Pid1 {
            flags |= CloneFlags::CLONE_NEWPID;
            if !geteuid().is_root() {
                flags |= CloneFlags::CLONE_NEWUSER;
            }
        }
        // SAFETY: without CLONE_VM the child runs on its own copy of memory,
        // like fork; it only runs `exec`, which makes system calls.
        unsafe {
            clone(
                Box::new(move || -> isize { exec.run() }),
                &mut self.stack,
                flags,
                Some(libc::SIGCHLD),
            )
        }
    }

    /// Starts the command as PID 1, stdin on /dev/null and stdout and
    /// stderr on the given descriptors.
    pub fn spawn_pid1(&mut self, stdout: impl AsFd, stderr: impl AsFd) -> nix::Result<Pid> {
        self.spawn(As::Pid1, Streams::To(stdout.as_fd(), stderr.as_fd()))
    }
}

/// ARG_MAX: how many bytes of arguments and environment execve accepts.
pub fn arg_max() -> usize {
    // SAFETY: sysconf has no memory effects.
    unsafe { libc::sysconf(libc::_SC_ARG_MAX) as usize }
}

/// What the child does between clone and execve, on memory prepared before.
struct Exec {
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    stdin: RawFd,
    streams: Option<(RawFd, RawFd)>,
    leak: Option<(RawFd, RawFd)>,
}

impl Exec {
    fn run(&self) -> ! {
        // SAFETY: runs only in the freshly cloned child: async-signal-safe
        // system calls on descriptors and memory prepared before the clone,
        // then execve or _exit.
        unsafe {
            default_signals();
            match self.streams {
                Some((out, err)) => {
                    libc::dup2(self.stdin, 0);
                    libc::dup2(out, 1);
                    libc::dup2(err, 2);
                }
                None => {
                    libc::close(0);
                    libc::close(1);
                    libc::close(2);
                }
            }
            if let Some((from, to)) = self.leak {
                libc::dup2(from, to);
            }
            libc::execve(*self.argv, self.argv, self.envp);
            libc::_exit(127)
        }
    }
}

/// Every signal back to its default action and none blocked: otherwise the
/// caller's would be inherited across execve (Rust ignores SIGPIPE, and a
/// parent may ignore or block more), which no runtime gives its init.
///
/// # Safety
/// Only in a child about to exec: it changes the whole process's signals.
unsafe fn default_signals() {
    // All-zero is SIG_DFL with no flags in every kernel sigaction layout.
    let dfl = [0usize; 4];
    let empty = 0u64;
    // SAFETY: raw system calls reading the two values above.
    unsafe {
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(libc::SYS_rt_sigaction, sig, dfl.as_ptr(), 0usize, 8usize);
            }
        }
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            0usize,
            8usize,
        );
    }
}

// ----------------------------------------------------------------- readiness

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

/// A process watched until it sleeps in one of `calls`: it has exec'd, set
/// up its signal handling and waits. Any process, the caller's child or not.
pub(crate) struct Starting<'a> {
    pid: Pid,
    syscall: procfs::SyscallFile,
    calls: &'a [i64],
}

impl<'a> Starting<'a> {
    pub(crate) fn watch(pid: Pid, calls: &'a [i64]) -> Result<Self, String> {
        let syscall = procfs::SyscallFile::open(pid.as_raw())?;
        Ok(Starting {
            pid,
            syscall,
            calls,
        })
    }

    /// The call it waits in, if it is one of `calls`: one cheap read.
    pub(crate) fn ready(&self) -> Result<Option<i64>, String> {
        let pid = self.pid;
        let now =
            (self.syscall.read()).map_err(|e| format!("{pid} ended before it was ready ({e})"))?;
        Ok(now.filter(|nr| self.calls.contains(nr)))
    }

    /// Fails once the process has ended (a zombie has ended too).
    pub(crate) fn alive(&self) -> Result<(), String> {
        let pid = self.pid;
        match procfs::stat(pid.as_raw()) {
            Some(s) if s.state != 'Z' => Ok(()),
            _ => Err(format!("{pid} ended before it was ready")),
        }
    }
}

/// Waits until `pid` sleeps in one of [`WAIT_SYSCALLS`] and returns the
/// moment that was first seen and the call. It never sleeps, because it
/// measures start latency (so it keeps a core busy while it waits).
pub fn wait_ready(pid: Pid, deadline: Duration) -> Result<(Instant, i64), String> {
    let starting = Starting::watch(pid, WAIT_SYSCALLS)?;
    let start = Instant::now();
    let mut polls: u64 = 0;
    loop {
        let ready = starting.ready()?;
        let now = Instant::now();
        if let Some(nr) = ready {
            return Ok((now, nr));
        }
        polls += 1;
        // Reading stat costs more than a read of the open syscall file.
        if polls.is_multiple_of(64) {
            starting.alive()?;
            if now - start > deadline {
                return Err(format!("{pid} not ready within {deadline:?}"));
            }
        }
    }
}

// ------------------------------------------------------------------ stopping

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

/// A started process, killed and reaped on drop unless it was stopped.
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
