//! Every line pause prints. Writes never fail visibly: see `sys::write_line`.
//! Lines are whole constants where possible, and the functions called once
//! are inlined: on RISC targets each call costs a frame and on ppc64 a
//! 12-byte traceback table, and the binary has a byte budget.

use crate::sys::{self, STDERR, STDOUT};
use linux_raw_sys::general::SIGINT;

#[inline(always)]
pub fn version() -> ! {
    sys::write(
        STDOUT,
        concat!("pause ", env!("CARGO_PKG_VERSION"), "\n").as_bytes(),
    );
    sys::exit(0)
}

#[inline(always)]
pub fn usage() -> ! {
    // One line: every byte counts against the size budget (see the README).
    sys::write(STDOUT, b"Usage: pause [-v|--version] [-h|--help]\n");
    sys::exit(0)
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
pub fn shutting_down(signal: u32) -> ! {
    let line: &[u8] = if signal == SIGINT {
        b"Shutting down, got signal: Interrupt\n"
    } else {
        b"Shutting down, got signal: Terminated\n"
    };
    sys::write(STDERR, line);
    sys::exit(0)
}

/// `line` names the system call that failed; each has its own exit code.
pub fn failed(line: &[u8], exit_code: u8) -> ! {
    sys::write(STDERR, line);
    sys::exit(exit_code)
}
