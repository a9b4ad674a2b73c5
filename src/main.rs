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

// Inlined into the entry point: on RISC targets every function costs bytes.
#[inline(always)]
fn main(args: Args) -> ! {
    // First of all, so that no signal can end pause from here on. This also
    // makes writes to a closed pipe fail with EPIPE instead of killing us.
    if sys::block_all_signals().is_err() {
        message::sigmask_failed();
    }

    match args.clone().find_map(flag) {
        Some(Flag::Version) => message::version(),
        Some(Flag::Help) => message::usage(),
        // A sandbox must never die over its command line: warn and go on.
        None => args.clone().for_each(message::unknown_argument),
    }

    // Do not pin whatever directory the runtime started us in.
    if sys::chdir_root().is_err() {
        message::chdir_failed();
    }
    // Do not hold descriptors a runtime leaked to us. Best effort: kernels
    // before 5.9 have no close_range, and pause works without it.
    let _ = sys::close_from(3);

    if sys::getpid() != 1 {
        message::not_first_process();
    }

    // Set-up is over: `arch` moves to one page of stack next to the
    // command-line strings, gives back the rest (8 kB resident instead of
    // 12 to 16, in every pod), and takes signals there for good.
    arch::idle_on_small_stack(args)
}

/// One turn of the idle loop: sleeps until a signal is pending, then acts on
/// it. Inlined into `arch`'s loop, which repeats it for the rest of pause's life.
#[inline(always)]
fn take_signal() {
    match sys::wait_for_signal() {
        // One SIGCHLD may stand for many children, or for none (a spoofed one).
        Ok(SIGCHLD) => sys::reap_children(),
        Ok(signal @ (SIGINT | SIGTERM)) => message::shutting_down_on(signal),
        Ok(_ignored) => {}
        Err(_) => message::wait_failed(),
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
    message::panicked()
}
