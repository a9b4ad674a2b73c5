//! pause: the first process of a Kubernetes pod sandbox.
//!
//! It holds the pod's namespaces simply by staying alive, reaps the zombies
//! that the pod's processes leave behind when it is their PID 1, and exits 0
//! on SIGINT or SIGTERM. Every other signal is ignored, whether or not it is
//! PID 1: a sandbox that dies takes the whole pod with it.
//!
//! There are no signal handlers: every signal is blocked and taken
//! synchronously with `rt_sigtimedwait`, so pause costs no CPU and no
//! wake-ups while idle, and there is no async-signal-safety to get wrong.
#![no_std]
#![no_main]

mod arch;
mod message;
mod sys;

use arch::Args;
use linux_raw_sys::general::{SIGCHLD, SIGINT, SIGTERM};

/// Exit codes when setup fails (kept in step with the README).
const EXIT_SIGNAL_MASK: u8 = 1;
const EXIT_CHDIR: u8 = 2;
/// Upstream's code for "the wait loop ended", which it can only do on a kernel error.
const EXIT_SIGNAL_WAIT: u8 = 42;

// Inlined into the entry point: on RISC targets every function costs bytes.
#[inline(always)]
fn main(args: Args) -> ! {
    // First of all, so that no signal can end pause from here on. This also
    // makes writes to a closed pipe fail with EPIPE instead of killing us.
    if sys::block_all_signals().is_err() {
        message::failed(b"pause: rt_sigprocmask failed\n", EXIT_SIGNAL_MASK);
    }

    match args.clone().find_map(flag) {
        Some(Flag::Version) => message::version(),
        Some(Flag::Help) => message::usage(),
        // A sandbox must never die over its command line: warn and go on.
        None => args.clone().for_each(message::unknown_argument),
    }

    // Do not pin whatever directory the runtime started us in.
    if sys::chdir_root().is_err() {
        message::failed(b"pause: chdir(\"/\") failed\n", EXIT_CHDIR);
    }
    // Do not hold descriptors a runtime leaked to us. Best effort: kernels
    // before 5.9 have no close_range, and pause works without it.
    let _ = sys::close_from(3);

    if sys::getpid() != 1 {
        message::not_first_process();
    }

    arch::continue_on_strings_page(args, idle)
}

/// The rest of pause's life, on one page of stack.
extern "C" fn idle(strings_page: usize) -> ! {
    if strings_page != 0 {
        // The old stack below the strings: 64 KiB covers the argv/auxv tables
        // and the kernel's random gap of up to 8 KiB with room to spare.
        const OLD_STACK: usize = 64 * 1024;
        sys::release_memory(strings_page.wrapping_sub(OLD_STACK), OLD_STACK);
    }
    loop {
        match sys::wait_for_signal() {
            // One SIGCHLD may stand for many children, or for none (a spoofed one).
            Ok(SIGCHLD) => sys::reap_children(),
            Ok(signal @ (SIGINT | SIGTERM)) => message::shutting_down(signal),
            Ok(_ignored) => {}
            Err(_) => message::failed(b"pause: rt_sigtimedwait failed\n", EXIT_SIGNAL_WAIT),
        }
    }
}

enum Flag {
    Version,
    Help,
}

fn flag(arg: &[u8]) -> Option<Flag> {
    // `-v` in any case is upstream's; kubeadm runs `pause -v` as a health check.
    if matches!(arg, [b'-', b'v' | b'V']) || same(arg, b"--version") {
        Some(Flag::Version)
    } else if same(arg, b"-h") || same(arg, b"--help") {
        Some(Flag::Help)
    } else {
        None
    }
}

/// Byte-wise `==`: slice equality becomes a call to `bcmp` on some
/// targets, and there is no C library to provide it.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Nothing in pause can panic; should that change, die loudly but simply.
    sys::exit(101)
}
