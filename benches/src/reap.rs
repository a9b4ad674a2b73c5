//! Reaping: orphans made inside a peer's PID namespace are reparented to it
//! (its PID 1); when they all exit at once, how long until none is left a
//! zombie, and how many are left.

use crate::proc;
use nix::libc;
use nix::sched::{CloneFlags, setns};
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::{ForkResult, Pid, close, fork, pipe, read};
use std::fs::File;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Reaped {
    /// From the last orphan's exit to no child left (ns).
    pub last_exit_to_clear_ns: u64,
    /// From the release (all orphans told to exit) to no child left (ns).
    pub release_to_clear_ns: u64,
    /// Zombies still there at the deadline.
    pub zombies_left: usize,
}

fn now_ns() -> u64 {
    let t = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("clock_gettime");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

/// Shared memory seen by the harness and every orphan: slot 0 counts the
/// orphans that are waiting, slots 1..=n hold each one's exit time.
struct Shared {
    ptr: NonNull<libc::c_void>,
    len: usize,
}

impl Shared {
    fn new(slots: usize) -> Self {
        let len = (slots + 1) * 8;
        // SAFETY: a fresh anonymous mapping, unmapped on drop.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                NonZeroUsize::new(len).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .expect("mmap");
        Shared { ptr, len }
    }
    fn slot(&self, i: usize) -> &AtomicU64 {
        assert!((i + 1) * 8 <= self.len);
        // SAFETY: in bounds, aligned (page-aligned base), zero-initialised.
        unsafe { &*(self.ptr.as_ptr() as *const AtomicU64).add(i) }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new().
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

/// Makes `n` orphans in the PID namespace of `peer`, which must be its PID 1
/// and ready; releases them all at once and watches the peer reap them.
pub fn run(peer: Pid, n: usize, deadline: Duration) -> Result<Reaped, String> {
    let shared = Shared::new(n);
    let (rd, wr) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let ns = File::open(format!("/proc/{peer}/ns/pid"))
        .map_err(|e| format!("open /proc/{peer}/ns/pid: {e}"))?;

    // The harness itself must keep its own PID namespace for later peers, so
    // a helper joins the peer's namespace; its child (in that namespace) forks
    // the orphans and exits, and they are reparented to the peer.
    // SAFETY: the harness is single-threaded here.
    let helper = match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            let code = (|| -> Result<(), ()> {
                setns(&ns, CloneFlags::CLONE_NEWPID).map_err(|_| ())?;
                // SAFETY: single-threaded child.
                match unsafe { fork() }.map_err(|_| ())? {
                    ForkResult::Child => {
                        for i in 1..=n {
                            // SAFETY: single-threaded.
                            match unsafe { fork() } {
                                Ok(ForkResult::Child) => orphan(&shared, i, rd.as_raw_fd(), wr),
                                Ok(ForkResult::Parent { .. }) => {}
                                Err(_) => unsafe { libc::_exit(3) },
                            }
                        }
                        unsafe { libc::_exit(0) }
                    }
                    ForkResult::Parent { child } => match waitpid(child, None) {
                        Ok(WaitStatus::Exited(_, 0)) => Ok(()),
                        _ => Err(()),
                    },
                }
            })();
            // SAFETY: ends the helper without running the harness's destructors.
            unsafe { libc::_exit(if code.is_ok() { 0 } else { 2 }) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(rd);
    match waitpid(helper, None) {
        Ok(WaitStatus::Exited(_, 0)) => {}
        other => return Err(format!("orphan maker failed: {other:?}")),
    }

    // Every orphan has closed its copy of the write end and sits in read().
    let start = Instant::now();
    while shared.slot(0).load(Ordering::SeqCst) < n as u64 {
        if start.elapsed() > deadline {
            return Err(format!(
                "only {} of {n} orphans started",
                shared.slot(0).load(Ordering::SeqCst)
            ));
        }
        std::thread::yield_now();
    }
    let mut buf = Vec::new();
    let kids = proc::children(peer, &mut buf)?;
    if kids.len() != n {
        return Err(format!(
            "{} children reparented to the peer, expected {n}",
            kids.len()
        ));
    }

    let has_children = proc::HasChildren::open(peer)?;
    // Release: the last write end closes, every orphan reads EOF and exits.
    let released = now_ns();
    drop(wr);
    let release_deadline = Instant::now() + deadline;
    let (clear, zombies_left) = loop {
        if !has_children.check()? {
            break (Some(now_ns()), 0);
        }
        if Instant::now() > release_deadline {
            break (None, proc::zombies(&proc::children(peer, &mut buf)?));
        }
    };
    let last_exit = (1..=n)
        .map(|i| shared.slot(i).load(Ordering::SeqCst))
        .max()
        .unwrap_or(0);
    let clear = clear.unwrap_or_else(now_ns);
    Ok(Reaped {
        last_exit_to_clear_ns: clear.saturating_sub(last_exit),
        release_to_clear_ns: clear.saturating_sub(released),
        zombies_left,
    })
}

/// An orphan: says it is waiting, blocks until the release, notes the time
/// and exits.
fn orphan(shared: &Shared, i: usize, rd: i32, wr: std::os::fd::OwnedFd) -> ! {
    let _ = close(wr.into_raw_fd());
    shared.slot(0).fetch_add(1, Ordering::SeqCst);
    let mut byte = [0u8; 1];
    // SAFETY: the read end is open in this process.
    let rd = unsafe { std::os::fd::BorrowedFd::borrow_raw(rd) };
    while let Err(nix::errno::Errno::EINTR) = read(rd, &mut byte) {}
    shared.slot(i).store(now_ns(), Ordering::SeqCst);
    // SAFETY: ends the orphan at once.
    unsafe { libc::_exit(0) }
}
