//! 32-bit Arm (EABI): `svc 0` takes the number in r7 and arguments in r0..r5.

use core::arch::{asm, naked_asm};

/// The ELF entry point: sp points at argc.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "mov fp, #0",
        "mov lr, #0",
        "mov r0, sp",
        "bic sp, sp, #15",
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
    naked_asm!("mov sp, r0", "mov r0, r1", "blx r2", "udf #0",)
}

pub unsafe fn syscall0(nr: u32) -> isize {
    let ret;
    // SAFETY: the caller passes a system call that touches no Rust memory.
    unsafe { asm!("svc 0", in("r7") nr, lateout("r0") ret, options(nostack, preserves_flags)) };
    ret
}

pub unsafe fn syscall1(nr: u32, a0: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what `a0` points to, if anything.
    unsafe {
        asm!("svc 0", in("r7") nr, inlateout("r0") a0 => ret, options(nostack, preserves_flags))
    };
    ret
}

pub unsafe fn syscall3(nr: u32, a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what the arguments point to.
    unsafe {
        asm!("svc 0", in("r7") nr, inlateout("r0") a0 => ret, in("r1") a1, in("r2") a2,
             options(nostack, preserves_flags));
    }
    ret
}

pub unsafe fn syscall4(nr: u32, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what the arguments point to.
    unsafe {
        asm!("svc 0", in("r7") nr, inlateout("r0") a0 => ret, in("r1") a1, in("r2") a2, in("r3") a3,
             options(nostack, preserves_flags));
    }
    ret
}
