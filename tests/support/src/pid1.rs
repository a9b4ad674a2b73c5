//! Runs the real pause binary the way a container runtime does and observes it
//! from outside: exit status, what it printed, and `/proc`.
//!
//! `PAUSE_BIN` selects the binary (default: this machine's in `bin/`); `PAUSE_RUNNER` names an emulator (qemu-user) to run it under.
//! Shared by the behaviour and stress suites.

use crate::ci::cannot_run;
use crate::wait::poll;
use nix::libc;
use nix::sched::{CloneFlags, clone, setns};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, geteuid};
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub fn pause_bin() -> PathBuf {
    std::env::var_os("PAUSE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo::path(&format!("bin/pause-linux-{}", host_arch())))
}

pub fn runner() -> Option<PathBuf> {
    std::env::var_os("PAUSE_RUNNER")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from)
}

/// Under an emulator the process in /proc is qemu, not pause: its name and
/// descriptors are qemu's, so tests skip those two observations there.
pub fn emulated() -> bool {
    runner().is_some()
}

/// This machine's architecture, as Kubernetes and the binaries' names spell it.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => panic!("no pause binary for {other}"),
    }
}

/// How pause is started.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum As {
    /// PID 1 of a fresh PID namespace (and a user namespace when not root),
    /// as in a pod that shares its PID namespace.
    Pid1,
    /// An ordinary child of the test, as in a `hostPID` pod or a bare run.
    Child,
}

/// Where the standard descriptors of pause point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// Pipes read by the test.
    Captured,
    /// fds 0, 1 and 2 closed.
    Closed,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// Pipes whose read ends are already closed: every write gets EPIPE.
    Broken,
}

/// A collected output stream, read on a thread so pause never blocks on it.
struct Collector {
    buf: Arc<Mutex<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    fn start(fd: OwnedFd) -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let thread = std::thread::spawn(move || {
            let mut file = File::from(fd);
            let mut chunk = [0u8; 65536];
            while let Ok(n @ 1..) = file.read(&mut chunk) {
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Collector {
            buf,
            thread: Some(thread),
        }
    }

    /// Everything written until every writer closed the pipe.
    fn finish(&mut self) -> Vec<u8> {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.buf.lock().unwrap().clone()
    }
}

pub struct Pause {
    pub pid: Pid,
    pub as_: As,
    stdout: Option<Collector>,
    stderr: Option<Collector>,
    status: Option<WaitStatus>,
    /// Kept open so an orphan maker can join the user namespace later.
    userns: Option<File>,
}

pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<Signal>,
    pub stdout: String,
    pub stderr: String,
}

fn cstring(s: &OsStr) -> CString {
    CString::new(s.as_bytes()).expect("argument without NUL")
}

fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2")
}

impl Pause {
    /// Starts pause with `args`; `None` (after `cannot_run`) when this machine
    /// cannot make the namespaces.
    pub fn start(as_: As, stdio: Stdio, args: &[&[u8]]) -> Option<Pause> {
        Self::start_with_fd(as_, stdio, args, None)
    }

    /// As `start`, with `leak` handed to pause as descriptor `leak.1`, as a
    /// careless runtime would leave it.
    pub fn start_with_fd(
        as_: As,
        stdio: Stdio,
        args: &[&[u8]],
        leak: Option<(RawFd, RawFd)>,
    ) -> Option<Pause> {
        // Everything the child needs is prepared before it exists: between
        // clone and exec it may only make system calls (the test harness is
        // multi-threaded, so a lock held elsewhere could never be released).
        let bin = pause_bin();
        let mut argv: Vec<CString> = Vec::new();
        if let Some(r) = runner() {
            argv.push(cstring(r.as_os_str()));
        }
        argv.push(cstring(bin.as_os_str()));
        argv.extend(
            args.iter()
                .map(|a| CString::new(*a).expect("argument without NUL")),
        );
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let path = argv[0].clone();
        let devnull = File::open("/dev/null").expect("/dev/null");
        let devfull = File::options()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");

        let (out_r, out_w) = pipe();
        let (err_r, err_w) = pipe();
        let (stdout, stderr, out_fd, err_fd) = match stdio {
            Stdio::Captured => (
                Some(Collector::start(out_r)),
                Some(Collector::start(err_r)),
                out_w.as_raw_fd(),
                err_w.as_raw_fd(),
            ),
            Stdio::Broken => {
                drop(out_r);
                drop(err_r);
                (None, None, out_w.as_raw_fd(), err_w.as_raw_fd())
            }
            Stdio::Full => (None, None, devfull.as_raw_fd(), devfull.as_raw_fd()),
            Stdio::Closed => (None, None, -1, -1),
        };
        let null_fd = devnull.as_raw_fd();

        let mut child = || -> isize {
            // SAFETY: only async-signal-safe system calls on descriptors and
            // memory prepared above, then exec or _exit.
            unsafe {
                if stdio == Stdio::Closed {
                    libc::close(0);
                    libc::close(1);
                    libc::close(2);
                } else {
                    libc::dup2(null_fd, 0);
                    libc::dup2(out_fd, 1);
                    libc::dup2(err_fd, 2);
                }
                if let Some((from, to)) = leak {
                    libc::dup2(from, to);
                }
                libc::execv(path.as_ptr(), argv_ptrs.as_ptr());
                libc::_exit(127)
            }
        };

        let pid = match as_ {
            As::Pid1 => {
                let mut flags = CloneFlags::CLONE_NEWPID;
                if !geteuid().is_root() {
                    flags |= CloneFlags::CLONE_NEWUSER;
                }
                let mut stack = vec![0u8; 256 * 1024];
                // SAFETY: without CLONE_VM the child runs on its own copy of
                // memory, like fork; the callback only makes system calls.
                match unsafe { clone(Box::new(&mut child), &mut stack, flags, Some(libc::SIGCHLD)) }
                {
                    Ok(pid) => pid,
                    Err(e) => {
                        cannot_run(&format!(
                            "creating a PID namespace ({e}): run as root or enable user namespaces"
                        ));
                        return None;
                    }
                }
            }
            // SAFETY: as above; the child only makes system calls.
            As::Child => match unsafe { fork() }.expect("fork") {
                ForkResult::Child => {
                    child();
                    unreachable!()
                }
                ForkResult::Parent { child } => child,
            },
        };
        // Our copies of the write ends must go, or the collectors never see EOF.
        drop((out_w, err_w));
        let userns = (as_ == As::Pid1 && !geteuid().is_root())
            .then(|| File::open(format!("/proc/{pid}/ns/user")).expect("user namespace"));
        Some(Pause {
            pid,
            as_,
            stdout,
            stderr,
            status: None,
            userns,
        })
    }

    /// Waits until pause sleeps in `rt_sigtimedwait`: from then on every
    /// signal is blocked and taken synchronously, so none can kill it.
    pub fn wait_ready(&self) {
        let path = format!("/proc/{}/syscall", self.pid);
        let want = libc::SYS_rt_sigtimedwait.to_string();
        poll(&format!("pause {} to wait for signals", self.pid), || {
            let now = std::fs::read_to_string(&path).unwrap_or_default();
            now.split_whitespace().next() == Some(want.as_str())
        });
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid, sig).expect("kill");
    }

    /// Sends a raw signal number (real-time signals have no `Signal` value).
    pub fn signal_raw(&self, sig: i32) {
        // SAFETY: kill(2) touches no memory.
        let rc = unsafe { libc::kill(self.pid.as_raw(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid);
    }

    /// True while pause has not exited (a zombie counts as exited).
    pub fn running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)).expect("waitpid") {
            WaitStatus::StillAlive => true,
            status => {
                self.status = Some(status);
                false
            }
        }
    }

    /// Waits for pause to exit (within `DEADLINE`, else kills it and fails)
    /// and collects what it printed.
    pub fn wait_exit(mut self) -> Exit {
        let pid = self.pid;
        let mut status = self.status;
        poll(&format!("pause {pid} to exit"), || {
            if status.is_none() {
                match waitpid(pid, Some(WaitPidFlag::WNOHANG)).expect("waitpid") {
                    WaitStatus::StillAlive => {}
                    s => status = Some(s),
                }
            }
            status.is_some()
        });
        self.status = status;
        let (code, signal) = match status {
            Some(WaitStatus::Exited(_, code)) => (Some(code), None),
            Some(WaitStatus::Signaled(_, sig, _)) => (None, Some(sig)),
            other => panic!("unexpected wait status {other:?}"),
        };
        let text = |c: Option<Collector>| {
            c.map(|mut c| String::from_utf8_lossy(&c.finish()).into_owned())
                .unwrap_or_default()
        };
        Exit {
            code,
            signal,
            stdout: text(self.stdout.take()),
            stderr: text(self.stderr.take()),
        }
    }

    /// Process IDs whose parent is pause, and how many of them are zombies.
    pub fn children(&self) -> (Vec<i32>, usize) {
        children_of(self.pid.as_raw())
    }

    /// Makes `parents * per_parent` orphans inside the PID namespace of pause
    /// (it must be PID 1): helpers fork children and exit at once, so the
    /// children are reparented to pause. The orphans stay alive until the
    /// returned `Orphans` is released, so a test can see them reparented.
    pub fn make_orphans(&self, parents: usize, per_parent: usize) -> Orphans {
        assert!(
            self.as_ == As::Pid1,
            "orphans reach pause only when it is PID 1"
        );
        let pidns = File::open(format!("/proc/{}/ns/pid", self.pid)).expect("pid namespace");
        let userns = self.userns.as_ref().map(|f| f.as_raw_fd());
        let (release_r, release_w) = pipe();
        let r = release_r.as_raw_fd();
        // SAFETY: the child only makes system calls (no allocation, no locks)
        // and ends in _exit.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => unsafe {
                if let Some(fd) = userns
                    && libc::setns(fd, libc::CLONE_NEWUSER) != 0
                {
                    libc::_exit(10);
                }
                if setns(&pidns, CloneFlags::CLONE_NEWPID).is_err() {
                    libc::_exit(11);
                }
                for _ in 0..parents {
                    match libc::fork() {
                        -1 => libc::_exit(12),
                        0 => {
                            // A parent: make its children and leave them.
                            for _ in 0..per_parent {
                                match libc::fork() {
                                    -1 => libc::_exit(13),
                                    0 => {
                                        // An orphan: live until released. Hold
                                        // no descriptor but the release pipe:
                                        // copies of other tests' pipes would
                                        // keep their readers from seeing EOF.
                                        let max = libc::c_uint::MAX;
                                        let r_ = r as libc::c_uint;
                                        libc::syscall(libc::SYS_close_range, 0, r_ - 1, 0);
                                        libc::syscall(libc::SYS_close_range, r_ + 1, max, 0);
                                        let mut b = 0u8;
                                        while libc::read(r, (&mut b as *mut u8).cast(), 1) < 0 {}
                                        libc::_exit(0);
                                    }
                                    _ => {}
                                }
                            }
                            libc::_exit(0);
                        }
                        parent => {
                            let mut st = 0;
                            libc::waitpid(parent, &mut st, 0);
                        }
                    }
                }
                libc::_exit(0)
            },
            ForkResult::Parent { child } => {
                drop(release_r);
                let status = waitpid(child, None).expect("waitpid orphan maker");
                assert_eq!(
                    status,
                    WaitStatus::Exited(child, 0),
                    "the orphan maker failed (10: setns user, 11: setns pid, 12/13: fork)"
                );
                Orphans {
                    release: Some(release_w),
                }
            }
        }
    }
}

impl Drop for Pause {
    fn drop(&mut self) {
        if self.running() {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
        }
    }
}

/// Orphans waiting inside the namespace of pause; they exit when released.
pub struct Orphans {
    release: Option<OwnedFd>,
}

impl Orphans {
    pub fn release(&mut self) {
        self.release.take();
    }
}

impl Drop for Orphans {
    fn drop(&mut self) {
        self.release();
    }
}

/// Process IDs whose parent is `ppid`, and how many of them are zombies.
pub fn children_of(ppid: i32) -> (Vec<i32>, usize) {
    let mut kids = Vec::new();
    let mut zombies = 0;
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The name may hold spaces and parentheses: fields start after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let parent: i32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if parent == ppid {
            kids.push(pid);
            if state == "Z" {
                zombies += 1;
            }
        }
    }
    (kids, zombies)
}

/// Every signal pause must ignore: all catchable ones but SIGINT and SIGTERM
/// (SIGKILL and SIGSTOP cannot be caught; SIGCHLD is sent too, spoofed).
///
/// Under qemu-user (7.2) a few cannot be sent at all: qemu itself dies of
/// host signal 32, and a burst of the fault signals sent with kill(2) makes
/// it crash. Those are left out there; native runs send every one.
pub fn ignored_signals() -> Vec<i32> {
    let mut never = vec![libc::SIGINT, libc::SIGTERM, libc::SIGKILL, libc::SIGSTOP];
    if emulated() {
        never.extend([
            32,
            33,
            libc::SIGILL,
            libc::SIGTRAP,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGSEGV,
        ]);
    }
    (1..=libc::SIGRTMAX())
        .filter(|s| !never.contains(s))
        .collect()
}

impl Pause {
    /// Waits until pause has taken every pending signal (standard and queued
    /// real-time ones) and sleeps in `rt_sigtimedwait` again: only then has
    /// it survived them. Signals are queued when sent, not handled.
    pub fn wait_signals_taken(&self) {
        let path = format!("/proc/{}/status", self.pid);
        poll(
            &format!("pause {} to take every pending signal", self.pid),
            || {
                let status = std::fs::read_to_string(&path).unwrap_or_default();
                let pending = |key: &str| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix(key))
                        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap_or(1))
                        .unwrap_or(1)
                };
                pending("SigPnd:") == 0 && pending("ShdPnd:") == 0
            },
        );
        self.wait_ready();
    }

    /// True when the test collects what pause prints (`Stdio::Captured`).
    pub fn captured(&self) -> bool {
        self.stderr.is_some()
    }

    /// The state letter of pause in /proc (`S` sleeping, `T` stopped, `Z`...).
    pub fn state(&self) -> char {
        process_state(self.pid.as_raw())
    }
}

/// The state letter of a process in /proc, `?` when it is gone.
pub fn process_state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next())
        .unwrap_or('?')
}
