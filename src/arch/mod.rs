//! The only `unsafe` in pause: the process entry point and the raw system-call
//! instruction for each architecture, plus reading argv off the initial stack.
//! Everything above this module sees a safe API: `syscall!`-free functions in
//! `sys` and the `Args` iterator below.

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
#[cfg_attr(target_arch = "powerpc64", path = "powerpc64.rs")]
#[cfg_attr(target_arch = "s390x", path = "s390x.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
mod imp;

pub use imp::{syscall0, syscall1, syscall3, syscall4};

/// The command line as the kernel laid it on the initial stack:
/// `argc`, then `argc` pointers to NUL-terminated strings.
#[derive(Clone)]
pub struct Args {
    next: *const *const u8,
    end: *const *const u8,
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
        }
    };
    crate::main(args)
}
