//! x86-64: `syscall` takes the number in rax, arguments in rdi, rsi, rdx, r10
//! and clobbers rcx and r11.

use core::arch::naked_asm;

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

syscalls!("syscall", nr: "rax", ret: "rax", args: ["rdi", "rsi", "rdx", "r10"], clobbers: ["rcx", "r11"]);
