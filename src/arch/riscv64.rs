//! RISC-V 64: `ecall` takes the number in a7 and arguments in a0..a5.

use core::arch::{asm, naked_asm};

/// The ELF entry point: sp points at argc and is 16-byte aligned.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "li fp, 0",
        "li ra, 0",
        "mv a0, sp",
        "call {start}",
        "unimp",
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
    naked_asm!("mv sp, a0", "mv a0, a1", "jalr a2", "unimp",)
}

pub unsafe fn syscall0(nr: u32) -> isize {
    let ret;
    // SAFETY: the caller passes a system call that touches no Rust memory.
    unsafe { asm!("ecall", in("a7") nr, lateout("a0") ret, options(nostack, preserves_flags)) };
    ret
}

pub unsafe fn syscall1(nr: u32, a0: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what `a0` points to, if anything.
    unsafe {
        asm!("ecall", in("a7") nr, inlateout("a0") a0 => ret, options(nostack, preserves_flags))
    };
    ret
}

pub unsafe fn syscall3(nr: u32, a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what the arguments point to.
    unsafe {
        asm!("ecall", in("a7") nr, inlateout("a0") a0 => ret, in("a1") a1, in("a2") a2,
             options(nostack, preserves_flags));
    }
    ret
}

pub unsafe fn syscall4(nr: u32, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what the arguments point to.
    unsafe {
        asm!("ecall", in("a7") nr, inlateout("a0") a0 => ret, in("a1") a1, in("a2") a2, in("a3") a3,
             options(nostack, preserves_flags));
    }
    ret
}
