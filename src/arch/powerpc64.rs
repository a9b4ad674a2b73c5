//! 64-bit PowerPC, little-endian ELFv2: `sc` takes the number in r0 and
//! arguments in r3..r8. On failure the kernel sets cr0.SO and leaves a
//! positive errno in r3, which we negate to match the other architectures.
//! The kernel may clobber r0 and r4..r12, cr0, ctr and xer.

use core::arch::asm;

// At entry r1 points at argc and r12 holds the entry address, from which the
// TOC pointer (r2) is derived, as at any ELFv2 global entry. `start` and
// `then` get a minimal 32-byte frame with a zero back chain; r12 must hold
// the address of the function called through ctr.
naked_functions! {
    start: [
        "addis 2, 12, .TOC.-_start@ha",
        "addi 2, 2, .TOC.-_start@l",
        "mr 3, 1",
        "clrrdi 1, 1, 4",
        "li 0, 0",
        "stdu 0, -32(1)",
        "bl {start}",
        "nop",
        "trap",
    ],
    switch_stack: [
        "mr 1, 3",
        "li 0, 0",
        "stdu 0, -32(1)",
        "mr 3, 4",
        "mr 12, 5",
        "mtctr 5",
        "bctrl",
        "trap",
    ],
}

// Each arity names exactly the registers it passes; the rest of r3..r12 are
// declared clobbered, so the compiler never has to zero unused arguments.
macro_rules! sc {
    ($nr:expr, $a0:expr $(, $reg:tt = $arg:expr)* ; $($clobber:tt),*) => {{
        let ret: isize;
        // SAFETY: the caller vouches for what the arguments point to.
        unsafe {
            asm!(
                "sc",
                "bns 1f",
                "neg 3, 3",
                "1:",
                inlateout("r0") $nr as usize => _,
                inlateout("r3") $a0 => ret,
                $(inlateout($reg) $arg => _,)*
                $(lateout($clobber) _,)*
                lateout("r9") _, lateout("r10") _, lateout("r11") _, lateout("r12") _,
                lateout("cr0") _, lateout("ctr") _, lateout("xer") _,
                options(nostack),
            );
        }
        ret
    }};
}

pub unsafe fn syscall0(nr: u32) -> isize {
    sc!(nr, 0usize; "r4", "r5", "r6", "r7", "r8")
}

pub unsafe fn syscall1(nr: u32, a0: usize) -> isize {
    sc!(nr, a0; "r4", "r5", "r6", "r7", "r8")
}

pub unsafe fn syscall3(nr: u32, a0: usize, a1: usize, a2: usize) -> isize {
    sc!(nr, a0, "r4" = a1, "r5" = a2; "r6", "r7", "r8")
}

pub unsafe fn syscall4(nr: u32, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    sc!(nr, a0, "r4" = a1, "r5" = a2, "r6" = a3; "r7", "r8")
}
