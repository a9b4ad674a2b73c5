//! The only `unsafe` in pause but the system calls' own: the process entry
//! point, the system-call instruction and a stack switch for each
//! architecture, plus reading argv off the initial stack. Above this module
//! there is a safe API: the `Args` iterator and `idle_on_small_stack`.

// The crate denies `unsafe` elsewhere: entry point, stack switch and
// system-call instructions cannot be written without it.
#![allow(unsafe_code)]

/// Defines `syscall0` to `syscall4` (as needed) for an architecture whose
/// system-call instruction takes the number in register `nr`, the arguments
/// in `args` and returns in `ret` (a negated errno on failure); `clobbers`
/// are the registers the instruction itself destroys. The number is passed
/// as a full register: some kernels compare all of it. (ppc64 reports errors
/// differently and clobbers its argument registers: it has its own.)
#[cfg(not(target_arch = "powerpc64"))]
macro_rules! syscalls {
    ($insn:literal, nr: $nr:tt, ret: $ret:tt, args: [$a0:tt, $a1:tt, $a2:tt, $a3:tt]
     $(, clobbers: [$($c:tt),*])?) => {
        pub unsafe fn syscall0(nr: u32) -> isize {
            let ret;
            // SAFETY: the caller passes a system call that touches no Rust memory.
            unsafe {
                core::arch::asm!($insn, in($nr) nr as usize, lateout($ret) ret,
                    $($(lateout($c) _,)*)? options(nostack, preserves_flags));
            }
            ret
        }

        pub unsafe fn syscall1(nr: u32, a0: usize) -> isize {
            let ret;
            // SAFETY: the caller vouches for what `a0` points to, if anything.
            unsafe {
                core::arch::asm!($insn, in($nr) nr as usize, in($a0) a0, lateout($ret) ret,
                    $($(lateout($c) _,)*)? options(nostack, preserves_flags));
            }
            ret
        }

        pub unsafe fn syscall3(nr: u32, a0: usize, a1: usize, a2: usize) -> isize {
            let ret;
            // SAFETY: the caller vouches for what the arguments point to.
            unsafe {
                core::arch::asm!($insn, in($nr) nr as usize, in($a0) a0, in($a1) a1, in($a2) a2,
                    lateout($ret) ret, $($(lateout($c) _,)*)? options(nostack, preserves_flags));
            }
            ret
        }

        pub unsafe fn syscall4(nr: u32, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
            let ret;
            // SAFETY: the caller vouches for what the arguments point to.
            unsafe {
                core::arch::asm!($insn, in($nr) nr as usize, in($a0) a0, in($a1) a1, in($a2) a2,
                    in($a3) a3, lateout($ret) ret, $($(lateout($c) _,)*)?
                    options(nostack, preserves_flags));
            }
            ret
        }
    };
}

/// Defines the two naked functions every architecture provides, from its
/// instructions: `_start`, the ELF entry point, which must call
/// `{start}` (`start` below) with the initial stack pointer, which points at
/// argc; and `switch_stack`.
macro_rules! naked_functions {
    (start: [$($start:literal),* $(,)?], switch_stack: [$($switch:literal),* $(,)?] $(,)?) => {
        #[unsafe(naked)]
        #[unsafe(no_mangle)]
        unsafe extern "C" fn _start() -> ! {
            core::arch::naked_asm!($($start),*, start = sym super::start)
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
            core::arch::naked_asm!($($switch),*)
        }
    };
}

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
#[cfg_attr(target_arch = "powerpc64", path = "powerpc64.rs")]
#[cfg_attr(target_arch = "s390x", path = "s390x.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
#[cfg_attr(target_arch = "loongarch64", path = "loongarch64.rs")]
mod imp;

pub use imp::{syscall0, syscall1, syscall3, syscall4};

/// Size of the smallest page on every architecture pause supports.
pub const PAGE: usize = 4096;

/// The command line as the kernel laid it on the initial stack:
/// `argc`, then `argc` pointers to NUL-terminated strings.
#[derive(Clone)]
pub struct Args {
    next: *const *const u8,
    end: *const *const u8,
    /// argv[0]: the kernel copies the strings (argv, then envp, then the
    /// file name) to the top of the stack, so this is the lowest of them.
    strings: *const u8,
}

impl Iterator for Args {
    type Item = &'static [u8];

    fn next(&mut self) -> Option<&'static [u8]> {
        if self.next >= self.end {
            return None;
        }
        // SAFETY: `next` lies inside the argv array the kernel wrote (checked
        // against `end` above), and each entry points to a NUL-terminated
        // string that lives, unchanged, for the whole life of the process.
        unsafe {
            let arg = *self.next;
            self.next = self.next.add(1);
            let mut len = 0;
            // A volatile read keeps LLVM from turning this loop into a call
            // to `strlen`, which does not exist without a C library.
            while arg.add(len).read_volatile() != 0 {
                len += 1;
            }
            Some(core::slice::from_raw_parts(arg, len))
        }
    }
}

/// Called by each architecture's `_start` with the stack pointer the kernel
/// handed over, which points at `argc`.
///
/// # Safety
/// `sp` must be the initial stack pointer of the process.
unsafe extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: the System V process-entry layout: argc, then argv[0..argc].
    let args = unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        Args {
            // argv[0] is our own name, not an argument (and may be absent).
            next: argv.add(argc.min(1)),
            end: argv.add(argc),
            strings: if argc > 0 { *argv } else { core::ptr::null() },
        }
    };
    crate::main(args)
}

/// Moves the stack into the free part of the page that holds the command-line
/// strings, gives back the pages below it (the argv and auxv tables, the
/// kernel's random gap, the frames of start-up), and there takes signals with
/// `crate::take_signal` for the rest of pause's life: every pod's sandbox then
/// holds one page of stack instead of the two or three start-up left resident.
/// The strings themselves stay: /proc/PID/cmdline and `ps` read them.
///
/// When that page has too little room (a huge command line), pause stays on
/// the stack it has and gives nothing back.
#[inline(always)]
pub fn idle_on_small_stack(args: Args) -> ! {
    /// Deepest stack pause uses from here on, with a wide margin (s390x frames
    /// carry a 160-byte save area; ppc64 leaf functions a 288-byte red zone).
    const ROOM: usize = 2048;
    let strings = args.strings as usize;
    let page = strings & !(PAGE - 1);
    let top = (strings & !15).wrapping_sub(16);
    if strings == 0 || top < page + ROOM {
        resume(0)
    }
    // SAFETY: [page, top) is in the stack mapping and resident (it shares a
    // page with the strings). What it holds, if anything, is the end of the
    // argv/auxv tables below the strings, which nothing reads any more:
    // `args`, the only reader, is consumed here.
    unsafe { imp::switch_stack(top, page, resume) }
}

/// Where pause resumes after `idle_on_small_stack`: on the page of the strings,
/// which starts at `strings_page`, or on the stack it had when that is 0.
// It imports sys (which imports arch): passed from main.rs instead, this changed the loong64 and arm-v6 bytes.
extern "C" fn resume(strings_page: usize) -> ! {
    if strings_page != 0 {
        // The old stack below the strings: 64 KiB covers the argv/auxv tables
        // and the kernel's random gap of up to 8 KiB with room to spare.
        const OLD_STACK: usize = 64 * 1024;
        crate::sys::release_memory(strings_page.wrapping_sub(OLD_STACK), OLD_STACK);
    }
    loop {
        crate::take_signal()
    }
}
