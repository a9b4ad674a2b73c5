//! The system calls pause makes, each as a safe function. Errors come back as
//! the kernel's errno; no call here can touch memory Rust does not own.

// The crate denies `unsafe` elsewhere: making a system call is unsafe, and
// this is the one module that makes them.
#![allow(unsafe_code)]

use crate::arch::{syscall0, syscall1, syscall3, syscall4};
use linux_raw_sys::errno::EINTR;
use linux_raw_sys::general::{
    __NR_chdir, __NR_close_range, __NR_exit_group, __NR_getpid, __NR_madvise, __NR_rt_sigprocmask,
    __NR_rt_sigtimedwait, __NR_wait4, __NR_writev, MADV_DONTNEED, SIG_BLOCK, WNOHANG, iovec,
};

/// The kernel's signal set: one bit per signal, 64 signals on every
/// architecture pause supports. Not libc's 128-byte `sigset_t`.
const ALL_SIGNALS: u64 = !0;
const SIGSET_SIZE: usize = core::mem::size_of::<u64>();

pub type Errno = u32;

fn check(ret: isize) -> Result<usize, Errno> {
    // The kernel reports failure as -errno, in the range -4095..-1.
    if (-4095..0).contains(&ret) {
        Err(ret.unsigned_abs() as Errno)
    } else {
        Ok(ret as usize)
    }
}

pub const STDOUT: u32 = 1;
pub const STDERR: u32 = 2;

/// Writes the pieces as one line with a single `writev`, so concurrent
/// writers cannot split it. Failures (closed fd, EPIPE, /dev/full) are
/// ignored on purpose: pause must behave the same with or without a reader.
pub fn write_line(fd: u32, pieces: &[&[u8]]) {
    let mut iov = [iovec {
        iov_base: core::ptr::null_mut(),
        iov_len: 0,
    }; 3];
    let n = pieces.len().min(iov.len());
    for (slot, piece) in iov.iter_mut().zip(pieces) {
        slot.iov_base = piece.as_ptr() as *mut _;
        slot.iov_len = piece.len() as _;
    }
    // SAFETY: each iovec describes a live, readable slice; the kernel only reads them.
    let _ = unsafe { syscall3(__NR_writev, fd as usize, iov.as_ptr() as usize, n) };
}

/// `write_line` for a line that is all one piece.
#[inline(never)]
pub fn write(fd: u32, line: &[u8]) {
    write_line(fd, &[line]);
}

pub fn chdir_root() -> Result<(), Errno> {
    // SAFETY: a static NUL-terminated path, only read by the kernel.
    check(unsafe { syscall1(__NR_chdir, c"/".as_ptr() as usize) }).map(drop)
}

/// Closes every descriptor from `first` up.
pub fn close_from(first: u32) -> Result<(), Errno> {
    // SAFETY: touches no memory.
    check(unsafe { syscall3(__NR_close_range, first as usize, u32::MAX as usize, 0) }).map(drop)
}

/// Gives the pages in `[start, start + len)` back to the kernel; they read as
/// zeros if touched again. Best effort: an unmapped hole is not an error.
pub fn release_memory(start: usize, len: usize) {
    // SAFETY: callers pass memory that nothing reads or writes any more.
    let _ = unsafe { syscall3(__NR_madvise, start, len, MADV_DONTNEED as usize) };
}

pub fn getpid() -> usize {
    // SAFETY: touches no memory and cannot fail.
    unsafe { syscall0(__NR_getpid) as usize }
}

/// Blocks every signal that can be blocked (the kernel silently keeps
/// SIGKILL and SIGSTOP out of the mask).
pub fn block_all_signals() -> Result<(), Errno> {
    let set = ALL_SIGNALS;
    // SAFETY: the kernel reads SIGSET_SIZE bytes from `set` and writes nothing.
    check(unsafe {
        syscall4(
            __NR_rt_sigprocmask,
            SIG_BLOCK as usize,
            &set as *const u64 as usize,
            0,
            SIGSET_SIZE,
        )
    })
    .map(drop)
}

/// Sleeps, using no CPU, until a blocked signal is pending, takes it off the
/// queue and returns its number.
pub fn wait_for_signal() -> Result<u32, Errno> {
    let set = ALL_SIGNALS;
    loop {
        // SAFETY: the kernel reads `set`; no siginfo and no timeout are passed.
        let ret = unsafe {
            syscall4(
                __NR_rt_sigtimedwait,
                &set as *const u64 as usize,
                0,
                0,
                SIGSET_SIZE,
            )
        };
        match check(ret) {
            // Interrupted by a stop/continue or a debugger: nothing was taken.
            Err(EINTR) => continue,
            other => return other.map(|sig| sig as u32),
        }
    }
}

/// Reaps every child that has exited; returns when none is left to reap
/// now (0), there are no children at all (ECHILD), or on any error that
/// retrying cannot cure (the next SIGCHLD tries again).
pub fn reap_children() {
    while let Ok(1..) | Err(EINTR) = check(
        // SAFETY: no status or rusage pointer: the kernel writes nothing.
        unsafe { syscall4(__NR_wait4, -1isize as usize, 0, WNOHANG as usize, 0) },
    ) {}
}

#[inline(never)]
pub fn exit(code: u8) -> ! {
    // SAFETY: touches no memory; ends every thread of the process (there is
    // one), so control never comes back here.
    unsafe {
        syscall1(__NR_exit_group, code as usize);
        core::hint::unreachable_unchecked()
    }
}
