//! Every line pause prints and every exit code it returns; the README's
//! tables list the same. Writes never fail visibly: see `sys::write_line`.
//! Lines are whole constants where possible, and the functions called once
//! are inlined: on RISC targets each call costs a frame and on ppc64 a
//! 12-byte traceback table, and the binary has a byte budget.
//!
//! The functions' names decide where their strings land in the binary
//! (rustc emits them in the order of the symbols that use them), so renaming
//! one changes the bytes, though not the behaviour, of every build.

use crate::sys::{self, STDERR, STDOUT};
use linux_raw_sys::general::SIGINT;

/// `-v`, `-h`, and a stop asked for with SIGINT or SIGTERM.
const EXIT_OK: u8 = 0;
/// Each system call pause cannot go on without has its own code, so that an
/// exit status alone, all a runtime may log, names the call that failed.
const EXIT_SIGNAL_MASK: u8 = 1;
const EXIT_CHDIR: u8 = 2;
/// Upstream's code for "the wait loop ended", which it can only do on a kernel error.
const EXIT_SIGNAL_WAIT: u8 = 42;
/// What a Rust program exits with when it panics, so a panic reads as one.
const EXIT_PANIC: u8 = 101;

#[inline(always)]
pub fn version() -> ! {
    sys::write(
        STDOUT,
        concat!("pause ", env!("CARGO_PKG_VERSION"), "\n").as_bytes(),
    );
    sys::exit(EXIT_OK)
}

#[inline(always)]
pub fn usage() -> ! {
    // One line: every byte counts against the size budget (see the README).
    sys::write(STDOUT, b"Usage: pause [-v|--version] [-h|--help]\n");
    sys::exit(EXIT_OK)
}

pub fn unknown_argument(arg: &[u8]) {
    sys::write_line(STDERR, &[b"pause: ignoring argument: ", arg, b"\n"]);
}

/// Upstream's exact wording: operators' tooling looks for it.
#[inline(always)]
pub fn not_first_process() {
    sys::write(STDERR, b"Warning: pause should be the first process\n");
}

/// Upstream's exact line (with `strsignal`'s names); log pipelines match it.
#[inline(always)]
pub fn shutting_down_on(signal: u32) -> ! {
    let line: &[u8] = if signal == SIGINT {
        b"Shutting down, got signal: Interrupt\n"
    } else {
        b"Shutting down, got signal: Terminated\n"
    };
    sys::write(STDERR, line);
    sys::exit(EXIT_OK)
}

#[inline(always)]
pub fn sigmask_failed() -> ! {
    failed(b"pause: rt_sigprocmask failed\n", EXIT_SIGNAL_MASK)
}

#[inline(always)]
pub fn chdir_failed() -> ! {
    failed(b"pause: chdir(\"/\") failed\n", EXIT_CHDIR)
}

#[inline(always)]
pub fn wait_failed() -> ! {
    failed(b"pause: rt_sigtimedwait failed\n", EXIT_SIGNAL_WAIT)
}

/// Prints nothing: the panic's message would need `core::fmt`, kilobytes of
/// code for a case that cannot happen today.
#[inline(always)]
pub fn panicked() -> ! {
    sys::exit(EXIT_PANIC)
}

/// The three failures share this body, so each costs only the call that
/// passes its line and code.
fn failed(line: &[u8], exit_code: u8) -> ! {
    sys::write(STDERR, line);
    sys::exit(exit_code)
}
