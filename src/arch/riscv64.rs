//! RISC-V 64: `ecall` takes the number in a7 and arguments in a0..a5.

use core::arch::naked_asm;

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

syscalls!("ecall", nr: "a7", ret: "a0", args: ["a0", "a1", "a2", "a3"]);
