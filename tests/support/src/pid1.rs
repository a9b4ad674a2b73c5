//! The real pause binary, started the way a runtime does (with
//! [`crate::spawn::Command`]) and observed from outside: exit status, what it
//! printed, and /proc. Shared by the behaviour, stress and seccomp suites.
//!
//! `PAUSE_BIN` selects the binary (default: this machine's in `bin/`);
//! `PAUSE_RUNNER` names an emulator (qemu-user) to run it under, with its
//! arguments after it, separated by spaces (`qemu-arm-static -cpu arm1176`:
//! the ARMv6 build must be run on an ARMv6 CPU model).

use crate::ci::cannot_run;
use crate::orphans::Orphans;
use crate::procfs;
use crate::spawn::{Command, Starting, Streams, kill_and_reap};
use crate::wait::{DEADLINE, poll, wait_for};
use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, geteuid};
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How pause is started (PID 1 or a plain child): the spawner's choice.
pub use crate::spawn::As;

pub fn pause_bin() -> PathBuf {
    std::env::var_os("PAUSE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            crate::repo::path(&format!("bin/pause-linux-{}", crate::repo::host_arch()))
        })
}

/// `PAUSE_RUNNER` as it is set: the emulator and its arguments in one string.
pub fn runner() -> Option<OsString> {
    std::env::var_os("PAUSE_RUNNER").filter(|r| !r.is_empty())
}

/// The runner split into its words: the program, then its arguments, each
/// placed before the pause binary on the command line.
pub fn runner_argv() -> Vec<Vec<u8>> {
    runner().map_or_else(Vec::new, |r| {
        r.into_vec()
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    })
}

/// Under an emulator the process in /proc is qemu, not pause: its name and
/// descriptors are qemu's, so tests skip those two observations there.
pub fn emulated() -> bool {
    runner().is_some()
}

/// Where the standard descriptors of pause point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The ends of the streams of pause: where it writes (stdout, stderr) and,
/// for `Captured`, where the test reads.
struct Wires {
    write: Option<(OwnedFd, OwnedFd)>,
    read: Option<(OwnedFd, OwnedFd)>,
}

impl Wires {
    fn new(stdio: Stdio) -> Self {
        let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
        match stdio {
            Stdio::Captured => {
                let ((out_r, out_w), (err_r, err_w)) = (pipe(), pipe());
                Wires {
                    write: Some((out_w, err_w)),
                    read: Some((out_r, err_r)),
                }
            }
            Stdio::Broken => Wires {
                write: Some((pipe().1, pipe().1)),
                read: None,
            },
            Stdio::Full => {
                let full = File::options().write(true).open("/dev/full");
                let full = OwnedFd::from(full.expect("/dev/full"));
                Wires {
                    write: Some((full.try_clone().expect("dup"), full)),
                    read: None,
                }
            }
            Stdio::Closed => Wires {
                write: None,
                read: None,
            },
        }
    }

    fn streams(&self) -> Streams<'_> {
        match &self.write {
            Some((out, err)) => Streams::To(out.as_fd(), err.as_fd()),
            None => Streams::Closed,
        }
    }

    /// After the spawn: the test's copies of the write ends must go, or the
    /// collectors never see EOF.
    fn collect(self) -> (Option<Collector>, Option<Collector>) {
        drop(self.write);
        self.read
            .map(|(out, err)| (Collector::start(out), Collector::start(err)))
            .unzip()
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

/// The runner and its arguments (if any), the pause binary and `args`.
fn pause_argv(args: &[&[u8]]) -> Vec<Vec<u8>> {
    runner_argv()
        .into_iter()
        .chain([pause_bin().into_os_string().into_vec()])
        .chain(args.iter().map(|a| a.to_vec()))
        .collect()
}

impl Pause {
    /// Starts pause with `args`; `None` (after `cannot_run`) when this machine
    /// cannot make the namespaces.
    pub fn start(as_: As, stdio: Stdio, args: &[&[u8]]) -> Option<Pause> {
        Self::start_with_fd(as_, stdio, args, None)
    }

    /// As `start`, with `leak.0` handed to pause as descriptor `leak.1`, as a
    /// careless runtime would leave it.
    pub fn start_with_fd(
        as_: As,
        stdio: Stdio,
        args: &[&[u8]],
        leak: Option<(RawFd, RawFd)>,
    ) -> Option<Pause> {
        let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let mut command = Command::new(&pause_argv(args), &env);
        if let Some((from, to)) = leak {
            command.leak(from, to);
        }
        let wires = Wires::new(stdio);
        let pid = match command.spawn(as_, wires.streams()) {
            Ok(pid) => pid,
            Err(e) if as_ == As::Pid1 => {
                cannot_run(&format!(
                    "creating a PID namespace ({e}): run as root or enable user namespaces"
                ));
                return None;
            }
            Err(e) => panic!("fork: {e}"),
        };
        let (stdout, stderr) = wires.collect();
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
        let what = format!("pause {} to wait for signals", self.pid);
        let starting = Starting::watch(self.pid, &[libc::SYS_rt_sigtimedwait])
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        wait_for(&what, DEADLINE, || match starting.ready() {
            Ok(Some(_)) => Ok(()),
            Ok(None) => match starting.alive() {
                Ok(()) => Err("not in rt_sigtimedwait".into()),
                Err(e) => panic!("{what}: {e}"),
            },
            Err(e) => panic!("{what}: {e}"),
        });
    }

    /// Waits until pause has taken every pending signal (standard and queued
    /// real-time ones) and sleeps in `rt_sigtimedwait` again: only then has
    /// it survived them. Signals are queued when sent, not handled.
    pub fn wait_signals_taken(&self) {
        let pid = self.pid.as_raw();
        let what = format!("pause {pid} to take every pending signal");
        wait_for(&what, DEADLINE, || {
            if !procfs::alive(pid) {
                panic!("{what}: it ended");
            }
            procfs::waiting_for_signals(pid)
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

    /// Lowers RLIMIT_SIGPENDING of pause (soft and hard) to `max`: how many
    /// real-time signals may queue for it, as `ulimit -i` in a pod would.
    pub fn limit_pending_signals(&self, max: u64) {
        let limit = libc::rlimit {
            rlim_cur: max,
            rlim_max: max,
        };
        // SAFETY: prlimit reads `limit` and writes nothing (no old-limit pointer).
        let rc = unsafe {
            libc::prlimit(
                self.pid.as_raw(),
                libc::RLIMIT_SIGPENDING,
                &limit,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, 0, "prlimit RLIMIT_SIGPENDING");
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
        poll(&format!("pause {} to exit", self.pid), || !self.running());
        let (code, signal) = match self.status {
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
        let kids = procfs::children_of(self.pid.as_raw());
        let zombies = kids.iter().filter(|k| k.state == 'Z').count();
        (kids.into_iter().map(|k| k.pid).collect(), zombies)
    }

    /// Makes `parents * per_parent` orphans inside the PID namespace of pause
    /// (it must be PID 1); they stay alive until the returned `Orphans` is
    /// released, so a test can see them reparented.
    pub fn make_orphans(&self, parents: usize, per_parent: usize) -> Orphans {
        assert!(
            self.as_ == As::Pid1,
            "orphans reach pause only when it is PID 1"
        );
        let userns = self.userns.as_ref().map(|f| f.as_fd());
        Orphans::make(self.pid, userns, parents, per_parent).unwrap_or_else(|e| panic!("{e}"))
    }

    /// True when the test collects what pause prints (`Stdio::Captured`).
    pub fn captured(&self) -> bool {
        self.stderr.is_some()
    }

    /// The state letter of pause in /proc (`S` sleeping, `T` stopped, `Z`...).
    pub fn state(&self) -> char {
        procfs::state(self.pid.as_raw())
    }
}

impl Drop for Pause {
    fn drop(&mut self) {
        if self.running() {
            kill_and_reap(self.pid);
        }
    }
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
