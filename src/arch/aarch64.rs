//! AArch64: `svc 0` takes the number in x8 and arguments in x0..x5.

use core::arch::naked_asm;

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

syscalls!("svc 0", nr: "x8", ret: "x0", args: ["x0", "x1", "x2", "x3"]);
