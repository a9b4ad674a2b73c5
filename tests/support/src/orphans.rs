//! Orphans for a PID 1 to reap: processes made inside its PID namespace whose
//! parent exits at once, so that the kernel reparents them to it.
//!
//! The caller may be multi-threaded (a test harness), so every forked process
//! here makes system calls and touches shared atomics only: no allocation and
//! no lock, which another thread might have held at the fork. What they
//! report (how many wait, when each exited, how many forks failed) they write
//! into memory shared with the caller.

use nix::libc;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::{ForkResult, Pid, fork};
use std::fs::File;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

/// CLOCK_MONOTONIC in nanoseconds: the clock the orphans note their exit on.
pub fn monotonic_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(0, |t| {
        t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
    })
}

/// Orphans waiting inside the PID namespace of a PID 1; they exit when
/// released (at the latest when this is dropped).
pub struct Orphans {
    release: Option<OwnedFd>,
    /// 0: how many are waiting; 1..=count: when each exited.
    slots: Slots,
    count: usize,
}

impl Orphans {
    /// Makes `parents * per_parent` orphans in the PID namespace of `pid1`
    /// (joining `userns` first: the user namespace that owns it, needed when
    /// not root). A helper joins the namespace (the caller keeps its own) and
    /// forks `parents` processes in it, one after the other; each forks
    /// `per_parent` children and exits at once. Returns once every parent
    /// has exited: the orphans exist and are reparented, though some may not
    /// wait yet (see [`Orphans::waiting`]).
    pub fn make(
        pid1: Pid,
        userns: Option<BorrowedFd>,
        parents: usize,
        per_parent: usize,
    ) -> Result<Orphans, String> {
        let count = parents * per_parent;
        let slots = Slots::new(count + 1);
        let pidns = File::open(format!("/proc/{pid1}/ns/pid"))
            .map_err(|e| format!("open /proc/{pid1}/ns/pid: {e}"))?;
        let (release_r, release_w) = cloexec_pipe()?;
        let plan = Plan {
            enter: Enter {
                pidns: pidns.as_raw_fd(),
                userns: userns.map(|f| f.as_raw_fd()),
            },
            release: release_r.as_raw_fd(),
            parents,
            per_parent,
            slots: &slots,
        };
        // SAFETY: the child runs `plan.make`: system calls and atomics only,
        // ending in _exit.
        let maker = match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
            ForkResult::Child => plan.make(),
            ForkResult::Parent { child } => child,
        };
        drop(release_r);
        match waitpid(maker, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(Orphans {
                release: Some(release_w),
                slots,
                count,
            }),
            other => Err(format!(
                "the orphan maker failed: {other:?} (10: setns user, 11: setns pid, 12/13: fork)"
            )),
        }
    }

    /// How many orphans were made.
    pub fn count(&self) -> usize {
        self.count
    }

    /// How many sit waiting for the release, holding no descriptor but its
    /// read end.
    pub fn waiting(&self) -> usize {
        self.slots.get(0).load(SeqCst) as usize
    }

    /// Lets every orphan exit at once: the last write end of the release
    /// pipe closes and each one's read sees EOF.
    pub fn release(&mut self) {
        self.release.take();
    }

    /// The [`monotonic_ns`] time at which the last orphan to exit so far
    /// exited (0 before any did): each notes it just before `_exit`.
    pub fn last_exit_ns(&self) -> u64 {
        (1..=self.count)
            .map(|i| self.slots.get(i).load(SeqCst))
            .max()
            .unwrap_or(0)
    }
}

impl Drop for Orphans {
    fn drop(&mut self) {
        self.release();
    }
}

/// What the forked maker, its parents and their orphans share.
struct Plan<'a> {
    enter: Enter,
    release: RawFd,
    parents: usize,
    per_parent: usize,
    slots: &'a Slots,
}

impl Plan<'_> {
    /// The maker: joins the namespaces, then forks the parents one by one.
    fn make(&self) -> ! {
        self.enter.join();
        for p in 0..self.parents {
            match raw_fork() {
                -1 => exit(12),
                0 => self.parent(1 + p * self.per_parent),
                parent if !exited_with_0(parent) => exit(13),
                _ => {}
            }
        }
        exit(0)
    }

    /// A parent: makes its children and leaves them.
    fn parent(&self, first_slot: usize) -> ! {
        for k in 0..self.per_parent {
            match raw_fork() {
                -1 => exit(13),
                0 => self.orphan(first_slot + k),
                _ => {}
            }
        }
        exit(0)
    }

    /// An orphan: says it waits, lives until released, notes when it exits.
    fn orphan(&self, slot: usize) -> ! {
        // Copies of other tests' pipes would keep their readers from EOF.
        keep_only(self.release);
        self.slots.get(0).fetch_add(1, SeqCst);
        let mut byte = 0u8;
        // SAFETY: a read into a local byte.
        while unsafe { libc::read(self.release, (&raw mut byte).cast(), 1) } < 0 {}
        self.slots.get(slot).store(monotonic_ns(), SeqCst);
        exit(0)
    }
}

/// A fork storm: processes in the PID namespace of a PID 1 make orphans that
/// exit at once, as fast as they can, until `target` exist in total. Each
/// spawner forks an intermediate process that forks `per_parent` children
/// and exits. Forks that fail (a pids limit refused them) are counted and
/// retried: the storm is meant to hit the limit.
pub struct Storm {
    spawners: Vec<Pid>,
    go: Option<OwnedFd>,
    /// MADE, FAILED, STOP.
    counters: Slots,
}

const MADE: usize = 0;
const FAILED: usize = 1;
const STOP: usize = 2;

impl Storm {
    /// Forks `spawners` processes that join the PID namespace of `pid1` and
    /// wait for [`Storm::go`], so the caller can first put them in a cgroup.
    /// A spawner exits with 0 when the target is met, 11 if setns failed.
    pub fn prepare(
        pid1: Pid,
        spawners: usize,
        per_parent: usize,
        target: u64,
    ) -> Result<Storm, String> {
        let counters = Slots::new(3);
        let pidns = File::open(format!("/proc/{pid1}/ns/pid"))
            .map_err(|e| format!("open /proc/{pid1}/ns/pid: {e}"))?;
        let (go_r, go_w) = cloexec_pipe()?;
        let spawner = Spawner {
            enter: Enter {
                pidns: pidns.as_raw_fd(),
                userns: None,
            },
            go: go_r.as_raw_fd(),
            per_parent,
            target,
            counters: &counters,
        };
        let mut pids = Vec::new();
        for _ in 0..spawners {
            // SAFETY: the child runs `spawner.run`: system calls and atomics
            // only, ending in _exit.
            match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
                ForkResult::Child => spawner.run(),
                ForkResult::Parent { child } => pids.push(child),
            }
        }
        Ok(Storm {
            spawners: pids,
            go: Some(go_w),
            counters,
        })
    }

    pub fn spawners(&self) -> &[Pid] {
        &self.spawners
    }

    /// Starts every spawner at once (EOF on their start pipe).
    pub fn go(&mut self) {
        self.go.take();
    }

    /// Orphans made so far.
    pub fn orphans(&self) -> u64 {
        self.counters.get(MADE).load(SeqCst)
    }

    /// Forks that failed so far.
    pub fn failed_forks(&self) -> u64 {
        self.counters.get(FAILED).load(SeqCst)
    }

    /// Tells the spawners to stop before the target.
    pub fn stop(&self) {
        self.counters.get(STOP).store(1, SeqCst);
    }
}

impl Drop for Storm {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One spawner of a [`Storm`], in its forked process.
struct Spawner<'a> {
    enter: Enter,
    go: RawFd,
    per_parent: usize,
    target: u64,
    counters: &'a Slots,
}

impl Spawner<'_> {
    fn run(&self) -> ! {
        self.enter.join();
        keep_only(self.go);
        let mut byte = 0u8;
        // SAFETY: a read into a local byte, then closing our own descriptor.
        unsafe {
            while libc::read(self.go, (&raw mut byte).cast(), 1) < 0 {}
            libc::close(self.go);
        }
        let (made, failed, stop) = (
            self.counters.get(MADE),
            self.counters.get(FAILED),
            self.counters.get(STOP),
        );
        while made.load(SeqCst) < self.target && stop.load(SeqCst) == 0 {
            match raw_fork() {
                -1 => {
                    failed.fetch_add(1, SeqCst);
                    // SAFETY: no arguments, no memory.
                    unsafe { libc::sched_yield() };
                }
                0 => self.intermediate(),
                parent => {
                    exited_with_0(parent);
                }
            }
        }
        exit(0)
    }

    /// Forks children that exit at once, and exits itself.
    fn intermediate(&self) -> ! {
        for _ in 0..self.per_parent {
            match raw_fork() {
                -1 => self.counters.get(FAILED).fetch_add(1, SeqCst),
                0 => exit(0),
                _ => self.counters.get(MADE).fetch_add(1, SeqCst),
            };
        }
        exit(0)
    }
}

/// The namespaces a forked helper joins: those of the PID 1.
struct Enter {
    pidns: RawFd,
    userns: Option<RawFd>,
}

impl Enter {
    /// Joins the user namespace (if any, exit 10 on failure), then the PID
    /// namespace (exit 11): children forked from now on are inside it.
    fn join(&self) {
        // SAFETY: setns on descriptors this process holds.
        unsafe {
            if let Some(fd) = self.userns
                && libc::setns(fd, libc::CLONE_NEWUSER) != 0
            {
                exit(10);
            }
            if libc::setns(self.pidns, libc::CLONE_NEWPID) != 0 {
                exit(11);
            }
        }
    }
}

/// `len` counters in memory shared with forked processes (MAP_SHARED): what
/// they store there, the caller sees.
struct Slots {
    ptr: NonNull<AtomicU64>,
    len: usize,
}

// SAFETY: only atomics are reached through the pointer.
unsafe impl Send for Slots {}
// SAFETY: as above.
unsafe impl Sync for Slots {}

impl Slots {
    fn new(len: usize) -> Self {
        let bytes = NonZeroUsize::new(len.max(1) * 8).unwrap();
        let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        // SAFETY: a fresh anonymous mapping, unmapped on drop.
        let ptr = unsafe { mmap_anonymous(None, bytes, rw, MapFlags::MAP_SHARED) }.expect("mmap");
        Slots {
            ptr: ptr.cast(),
            len,
        }
    }

    fn get(&self, i: usize) -> &AtomicU64 {
        assert!(i < self.len);
        // SAFETY: in bounds, page-aligned base, zero-filled by the kernel
        // (a valid AtomicU64), mapped until drop.
        unsafe { &*self.ptr.as_ptr().add(i) }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`; no reference outlives `self`.
        let _ = unsafe { munmap(self.ptr.cast(), self.len.max(1) * 8) };
    }
}

fn cloexec_pipe() -> Result<(OwnedFd, OwnedFd), String> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))
}

/// fork(2) as the forked helpers use it: -1, 0 in the child, else its PID.
fn raw_fork() -> libc::pid_t {
    // SAFETY: called only in single-threaded helpers, whose children make
    // system calls and touch atomics only.
    unsafe { libc::fork() }
}

/// Waits for `pid`; true when it exited with 0.
fn exited_with_0(pid: libc::pid_t) -> bool {
    let mut status = 0;
    // SAFETY: waitpid writes the status into a local.
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
    reaped == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// Closes every descriptor but `fd`.
fn keep_only(fd: RawFd) {
    let fd = fd as libc::c_uint;
    // SAFETY: closes descriptors of this process only.
    unsafe {
        if fd > 0 {
            libc::syscall(libc::SYS_close_range, 0, fd - 1, 0);
        }
        libc::syscall(libc::SYS_close_range, fd + 1, libc::c_uint::MAX, 0);
    }
}

/// Ends a forked helper at once, without the caller's destructors.
fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process; nothing runs after it.
    unsafe { libc::_exit(code) }
}
