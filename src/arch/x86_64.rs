//! x86-64: `syscall` takes the number in rax, arguments in rdi, rsi, rdx, r10
//! and clobbers rcx and r11.

use core::arch::{asm, naked_asm};

/// The ELF entry point. The kernel leaves rsp 16-byte aligned and pointing
/// at argc; `call` then gives `start` the alignment the ABI promises it.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "xor ebp, ebp",
        "mov rdi, rsp",
        "call {start}",
        "ud2",
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
    naked_asm!("mov rsp, rdi", "mov rdi, rsi", "call rdx", "ud2",)
}

pub unsafe fn syscall0(nr: u32) -> isize {
    let ret;
    // SAFETY: the caller passes a system call that touches no Rust memory.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

pub unsafe fn syscall1(nr: u32, a0: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what `a0` points to, if anything.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a0,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

pub unsafe fn syscall3(nr: u32, a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what the arguments point to.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret,
             in("rdi") a0, in("rsi") a1, in("rdx") a2,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

pub unsafe fn syscall4(nr: u32, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller vouches for what the arguments point to.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret,
             in("rdi") a0, in("rsi") a1, in("rdx") a2, in("r10") a3,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}
