//! AArch64: `svc 0` takes the number in x8 and arguments in x0..x5.

use core::arch::{asm, naked_asm};

/// The ELF entry point: sp points at argc and is 16-byte aligned.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "mov x29, xzr",
        "mov x30, xzr",
        "mov x0, sp",
        "bl {start}",
        "udf #0",
        start = sym super::start,
    )
}

/// Calls `then(arg)` on a new stack whose top is `top` (16-byte aligned).
///
/// # Safety
/// `[top - 2 KiB, top)` must be mapped, writable and unused.
#[unsafe(naked)]
pub unsafe extern "C" fn switch_stack(
    top: usize,
    arg: usize,
    then: extern "C" fn(usize) -> !,
) -> ! {
    naked_asm!(
        "mov sp, x0",
        "mov x0, x1",
        "mov x29, xzr",
        "blr x2",
        "udf #0",
    )
}

pub unsafe fn syscall0(nr: u32) -> isize {
    let ret;
    // SAFETY: the caller passes a system call that touches no Rust memory.
    unsafe { asm!("svc 0", in("x8") nr, lateout("x0") ret, options(nostack, preserves_flags)) };
    ret
}

pub unsafe fn syscall1(nr: u32, a0: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what `a0` points to, if anything.
    unsafe {
        asm!("svc 0", in("x8") nr, inlateout("x0") a0 => ret, options(nostack, preserves_flags))
    };
    ret
}

pub unsafe fn syscall3(nr: u32, a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what the arguments point to.
    unsafe {
        asm!("svc 0", in("x8") nr, inlateout("x0") a0 => ret, in("x1") a1, in("x2") a2,
             options(nostack, preserves_flags));
    }
    ret
}

pub unsafe fn syscall4(nr: u32, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what the arguments point to.
    unsafe {
        asm!("svc 0", in("x8") nr, inlateout("x0") a0 => ret, in("x1") a1, in("x2") a2, in("x3") a3,
             options(nostack, preserves_flags));
    }
    ret
}
