//! Why linux/arm/v6 has a build of its own: the ARMv7 binary uses instructions
//! an ARMv6 core lacks (`movw`, ARMv6T2 and later), so on an ARM1176 (the
//! Raspberry Pi Zero and 1) it dies of SIGILL before printing anything; the
//! ARMv6 build runs there. Both run under qemu-user, as the CPU model
//! `arm1176` and as qemu's default (an ARMv7-or-later core).
//!
//! Needs qemu-arm-static (`make deps`) and both binaries (`make build`).

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use test_support::ci::{require, which};
use test_support::repo;

const SIGILL: i32 = 4;

/// `bin/pause-linux-<name> -v` under qemu-arm-static with `cpu` (None: qemu's
/// default), or None (after `require`) when qemu or the binary is missing.
fn version_under(cpu: Option<&str>, name: &str) -> Option<Output> {
    let qemu = which("qemu-arm-static");
    let bin = repo::path(&format!("bin/pause-linux-{name}"));
    if !require(qemu.is_some(), "qemu-arm-static (make deps)")
        || !require(bin.is_file(), &format!("{} (make build)", bin.display()))
    {
        return None;
    }
    // qemu may write a core file of the dying guest: let it land here, in a
    // directory of this run's own (the tests run in parallel).
    let cpu_name = cpu.unwrap_or("default");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("armv6-{name}-{cpu_name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(qemu.unwrap());
    if let Some(cpu) = cpu {
        cmd.args(["-cpu", cpu]);
    }
    let out = cmd.arg(&bin).arg("-v").current_dir(&dir).output();
    std::fs::remove_dir_all(&dir).unwrap();
    Some(out.expect("run qemu-arm-static"))
}

fn assert_prints_version(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let version = format!("pause {}\n", repo::version());
    assert_eq!(String::from_utf8_lossy(&out.stdout), version);
}

#[test]
fn armv7_binary_dies_of_sigill_on_an_armv6_cpu() {
    let Some(out) = version_under(Some("arm1176"), "arm") else {
        return;
    };
    assert_eq!(out.status.signal(), Some(SIGILL), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn armv7_binary_runs_on_qemus_default_cpu() {
    let Some(out) = version_under(None, "arm") else {
        return;
    };
    assert_prints_version(&out);
}

#[test]
fn armv6_binary_runs_on_an_armv6_cpu() {
    let Some(out) = version_under(Some("arm1176"), "arm-v6") else {
        return;
    };
    assert_prints_version(&out);
}
