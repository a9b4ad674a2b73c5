//! The behaviour contract of pause, one test per row: each runs the real
//! binary (natively, or under qemu-user with PAUSE_RUNNER) and asserts what an
//! operator would observe. Tests that start pause as PID 1 need root or
//! unprivileged user namespaces.

use nix::sys::signal::Signal;
use test_support::ci::cannot_run;
use test_support::pid1::{self, As, Pause, Stdio, ignored_signals};
use test_support::procfs;
use test_support::wait::poll;

const SHUTDOWN_TERM: &str = "Shutting down, got signal: Terminated\n";
const SHUTDOWN_INT: &str = "Shutting down, got signal: Interrupt\n";
const NOT_FIRST: &str = "Warning: pause should be the first process\n";

fn version_line() -> String {
    format!("pause {}\n", env!("CARGO_PKG_VERSION"))
}

/// Runs pause to completion with `args`, not as PID 1.
fn run(args: &[&[u8]]) -> pid1::Exit {
    Pause::start(As::Child, Stdio::Captured, args)
        .expect("a plain child always starts")
        .wait_exit()
}

#[test]
fn version_flag_in_any_case_and_position_prints_version_and_exits_0() {
    for args in [
        &[&b"-v"[..]][..],
        &[b"-V"],
        &[b"--version"],
        &[b"--unknown", b"-v"],
        &[b"-v", b"-h"],
    ] {
        let exit = run(args);
        let shown = format!(
            "{:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
        assert_eq!(exit.code, Some(0), "exit code for {shown}");
        assert_eq!(exit.stdout, version_line(), "stdout for {shown}");
        assert!(
            !exit.stderr.contains("ignoring"),
            "no warning for {shown}: {}",
            exit.stderr
        );
    }
}

#[test]
fn help_flag_prints_usage_and_exits_0() {
    for args in [&[&b"-h"[..]][..], &[b"--help"], &[b"x", b"--help", b"-v"]] {
        let exit = run(args);
        assert_eq!(exit.code, Some(0));
        assert!(
            exit.stdout.starts_with("Usage: pause"),
            "stdout: {:?}",
            exit.stdout
        );
        assert!(exit.stdout.ends_with('\n'));
    }
}

#[test]
fn sigterm_as_pid1_prints_the_upstream_line_and_exits_0() {
    let Some(pause) = Pause::start(As::Pid1, Stdio::Captured, &[]) else {
        return;
    };
    pause.wait_ready();
    pause.signal(Signal::SIGTERM);
    let exit = pause.wait_exit();
    assert_eq!(exit.code, Some(0), "killed by {:?}", exit.signal);
    assert_eq!(exit.stderr, SHUTDOWN_TERM);
    assert_eq!(exit.stdout, "");
}

#[test]
fn sigint_as_pid1_prints_the_upstream_line_and_exits_0() {
    let Some(pause) = Pause::start(As::Pid1, Stdio::Captured, &[]) else {
        return;
    };
    pause.wait_ready();
    pause.signal(Signal::SIGINT);
    let exit = pause.wait_exit();
    assert_eq!(exit.code, Some(0), "killed by {:?}", exit.signal);
    assert_eq!(exit.stderr, SHUTDOWN_INT);
}

#[test]
fn unknown_arguments_are_named_on_stderr_and_pause_keeps_running() {
    let args: [&[u8]; 3] = [b"--bogus", b"", b"\xff\xfe not utf-8"];
    let Some(mut pause) = Pause::start(As::Pid1, Stdio::Captured, &args) else {
        return;
    };
    pause.wait_ready();
    assert!(pause.running());
    pause.signal(Signal::SIGTERM);
    let exit = pause.wait_exit();
    assert_eq!(exit.code, Some(0));
    let expected = "pause: ignoring argument: --bogus\n\
                    pause: ignoring argument: \n\
                    pause: ignoring argument: \u{fffd}\u{fffd} not utf-8\n"
        .to_string()
        + SHUTDOWN_TERM;
    assert_eq!(exit.stderr, expected);
}

#[test]
fn reaps_a_thousand_orphans_as_pid1() {
    let Some(pause) = Pause::start(As::Pid1, Stdio::Captured, &[]) else {
        return;
    };
    pause.wait_ready();
    let (parents, each) = (50, 20);
    let mut orphans = pause.make_orphans(parents, each);
    // They really are the children of pause now, so the test below can fail.
    poll("the orphans to be reparented to pause", || {
        pause.children().0.len() >= parents * each
    });
    orphans.release();
    poll("pause to reap every orphan", || {
        pause.children().0.is_empty()
    });
    let (kids, zombies) = pause.children();
    assert_eq!((kids.len(), zombies), (0, 0));
    pause.signal(Signal::SIGTERM);
    assert_eq!(pause.wait_exit().code, Some(0));
}

/// Sends every signal pause must ignore, `rounds` times over, then checks that
/// it is still running and still reaping, and that SIGTERM still ends it.
fn survives_ignored_signals(as_: As, rounds: usize) {
    let Some(mut pause) = Pause::start(as_, Stdio::Captured, &[]) else {
        return;
    };
    pause.wait_ready();
    for _ in 0..rounds {
        for sig in ignored_signals() {
            pause.signal_raw(sig);
        }
    }
    pause.wait_signals_taken();
    assert!(pause.running(), "an ignored signal ended pause");
    if as_ == As::Pid1 {
        let mut orphans = pause.make_orphans(5, 10);
        poll("orphans reparented", || pause.children().0.len() >= 50);
        orphans.release();
        poll("pause to reap after the signal storm", || {
            pause.children().0.is_empty()
        });
    }
    pause.signal(Signal::SIGTERM);
    let exit = pause.wait_exit();
    assert_eq!(exit.code, Some(0), "killed by {:?}", exit.signal);
    let expected = match as_ {
        As::Pid1 => SHUTDOWN_TERM.to_string(),
        As::Child => format!("{NOT_FIRST}{SHUTDOWN_TERM}"),
    };
    assert_eq!(exit.stderr, expected);
}

#[test]
fn ignores_every_other_signal_as_pid1() {
    survives_ignored_signals(As::Pid1, 20);
}

#[test]
fn ignores_every_other_signal_when_not_pid1() {
    // Upstream dies on SIGHUP here; pause must not.
    survives_ignored_signals(As::Child, 20);
}

#[test]
fn warns_when_not_pid1() {
    let mut pause = Pause::start(As::Child, Stdio::Captured, &[]).unwrap();
    pause.wait_ready();
    assert!(pause.running());
    pause.signal(Signal::SIGINT);
    let exit = pause.wait_exit();
    assert_eq!(exit.code, Some(0));
    assert_eq!(exit.stderr, format!("{NOT_FIRST}{SHUTDOWN_INT}"));
}

#[test]
fn closed_full_or_broken_stdio_changes_nothing() {
    for stdio in [Stdio::Closed, Stdio::Full, Stdio::Broken] {
        for flag in [&b"-v"[..], b"--help"] {
            let exit = Pause::start(As::Child, stdio, &[flag]).unwrap().wait_exit();
            assert_eq!((exit.code, exit.signal), (Some(0), None), "{flag:?}");
        }
        // Not PID 1 and with an unknown argument, so it writes while running.
        let mut pause = Pause::start(As::Child, stdio, &[b"--bogus"]).unwrap();
        pause.wait_ready();
        pause.signal(Signal::SIGHUP);
        pause.signal(Signal::SIGPIPE);
        pause.wait_ready();
        assert!(pause.running(), "a failed write ended pause");
        pause.signal(Signal::SIGTERM);
        let exit = pause.wait_exit();
        assert_eq!((exit.code, exit.signal), (Some(0), None));
    }
}

#[test]
fn starts_in_root_directory_without_inherited_descriptors() {
    let leak = std::fs::File::open("/proc/self/exe").unwrap();
    use std::os::fd::AsRawFd;
    let Some(pause) =
        Pause::start_with_fd(As::Pid1, Stdio::Captured, &[], Some((leak.as_raw_fd(), 7)))
    else {
        return;
    };
    pause.wait_ready();
    let cwd = std::fs::read_link(format!("/proc/{}/cwd", pause.pid)).unwrap();
    assert_eq!(cwd, std::path::Path::new("/"));
    if !pid1::emulated() {
        // qemu keeps descriptors of its own; natively only 0, 1 and 2 remain.
        let mut fds: Vec<i32> = std::fs::read_dir(format!("/proc/{}/fd", pause.pid))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
            .collect();
        fds.sort();
        assert_eq!(fds, [0, 1, 2]);
    }
    pause.signal(Signal::SIGTERM);
    assert_eq!(pause.wait_exit().code, Some(0));
}

#[test]
fn command_line_stays_readable_while_idle() {
    // pause moves its stack next to the command-line strings and gives the
    // rest back; `ps` and the runtimes still read the strings from /proc.
    let args: [&[u8]; 2] = [b"--pod=web", b"x"];
    let Some(pause) = Pause::start(As::Pid1, Stdio::Captured, &args) else {
        return;
    };
    pause.wait_ready();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", pause.pid)).unwrap();
    let mut expected = Vec::new();
    for word in pid1::runner_argv() {
        expected.extend_from_slice(&word);
        expected.push(0);
    }
    expected.extend_from_slice(pid1::pause_bin().as_os_str().as_encoded_bytes());
    expected.extend_from_slice(b"\0--pod=web\0x\0");
    assert_eq!(
        String::from_utf8_lossy(&cmdline),
        String::from_utf8_lossy(&expected)
    );
    pause.signal(Signal::SIGTERM);
    assert_eq!(pause.wait_exit().code, Some(0));
}

#[test]
fn process_name_is_pause_and_it_has_no_signal_handlers() {
    if pid1::emulated() {
        return; // under qemu the process is named after qemu
    }
    let Some(pause) = Pause::start(As::Pid1, Stdio::Captured, &[]) else {
        return;
    };
    pause.wait_ready();
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", pause.pid)).unwrap();
    let name = pid1::pause_bin()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // The kernel names a process after its executable's file name.
    assert_eq!(comm.trim_end(), &name[..name.len().min(15)]);
    // Signals are taken synchronously: no handler is installed.
    let caught = procfs::status_field(pause.pid.as_raw(), "SigCgt");
    assert_eq!(caught.as_deref(), Some("0000000000000000"));
    pause.signal(Signal::SIGTERM);
    assert_eq!(pause.wait_exit().code, Some(0));
}

#[test]
fn binary_is_static_with_one_read_execute_segment_and_nothing_writable() {
    let bin = pid1::pause_bin();
    let out = match std::process::Command::new("readelf")
        .arg("-lhW")
        .arg(&bin)
        .output()
    {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
        other => {
            let why = format!("readelf (Debian's binutils): {other:?}");
            return cannot_run(&why);
        }
    };
    assert!(
        out.contains("EXEC (Executable file)"),
        "not a fixed-address executable:\n{out}"
    );
    let segments: Vec<(&str, String)> = out
        .lines()
        .skip_while(|l| !l.starts_with("Program Headers:"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            // Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg... Align
            let flags = words[6..words.len() - 1].join("");
            (words[0], flags)
        })
        .collect();
    // No interpreter and no dynamic section: nothing runs before pause.
    // One segment, readable and executable, never writable; a stack that
    // cannot be executed.
    assert_eq!(
        segments,
        [("LOAD", "RE".to_string()), ("GNU_STACK", "RW".to_string())],
        "\n{out}"
    );
}
