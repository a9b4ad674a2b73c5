//! 32-bit Arm (EABI): `svc 0` takes the number in r7 and arguments in r0..r5.

use core::arch::naked_asm;

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

syscalls!("svc 0", nr: "r7", ret: "r0", args: ["r0", "r1", "r2", "r3"]);
