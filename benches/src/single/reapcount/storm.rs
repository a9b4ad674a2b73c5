//! One held storm: the peer, PID 1 of a fresh PID namespace under a counting
//! tool, is stopped (SIGSTOP) while N orphans are reparented to it and exit;
//! once all N are zombies it is continued (SIGCONT) and reaps them, then it
//! is stopped with SIGTERM. Holding the peer makes the count repeat: it
//! wakes once for the whole storm, whereas orphans exiting while it runs
//! wake it a number of times that depends on the scheduler.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::time::{Duration, Instant};
use test_support::orphans::Orphans;
use test_support::procfs::{self, HasChildren};

/// Whether a peer sleeps where it waits for work: for the peers, in their
/// signal wait; for the control, anywhere. A probe, polled with [`until`].
pub type Asleep = fn(Pid) -> Result<(), String>;

/// Makes `n` orphans of the PID 1 `peer` (`asleep`) exit while it is held,
/// lets it go and waits until it has none left and sleeps again (`deadline`
/// for each step). An orphan still there at the deadline is an error: the
/// peer did not reap.
pub fn held(peer: Pid, n: usize, asleep: Asleep, deadline: Duration) -> Result<(), String> {
    signal(peer, Signal::SIGSTOP)?;
    until(deadline, "the peer to stop", || {
        let s = procfs::state(peer.as_raw());
        // 't': stopped while a tracer (strace) looks on.
        matches!(s, 'T' | 't')
            .then_some(())
            .ok_or(format!("state {s}"))
    })?;
    if n > 0 {
        let mut orphans = Orphans::make(peer, None, 1, n)?;
        orphans.release();
        until(deadline, &format!("{n} orphans to exit"), || {
            let (kids, zombies) = children_and_zombies(peer);
            (kids == n && zombies == n)
                .then_some(())
                .ok_or(format!("{kids} children, {zombies} zombies"))
        })?;
    }
    let has_children = HasChildren::open(peer.as_raw())?;
    signal(peer, Signal::SIGCONT)?;
    until(
        deadline,
        &format!("the peer to reap {n} orphans"),
        || match has_children.check() {
            Ok(false) => Ok(()),
            Ok(true) => Err(format!(
                "{} children not reaped",
                children_and_zombies(peer).0
            )),
            Err(e) => Err(e),
        },
    )?;
    // SIGTERM finds it asleep again, with or without orphans: otherwise
    // whether it takes SIGTERM in a fresh wait or in the one it returns to
    // after the stop would depend on the timing (seen: 16 instructions).
    until(deadline, "the peer to wait again", || asleep(peer))
}

/// The peers' [`Asleep`]: asleep (not stopped, not running) in one of the
/// signal waits the harness knows.
pub fn asleep_in_wait(pid: Pid) -> Result<(), String> {
    let (state, call) = (procfs::state(pid.as_raw()), procfs::syscall(pid.as_raw()));
    let waits = call.is_some_and(|c| test_support::spawn::WAIT_SYSCALLS.contains(&c));
    (state == 'S' && waits)
        .then_some(())
        .ok_or(format!("state {state}, system call {call:?}"))
}

fn signal(pid: Pid, sig: Signal) -> Result<(), String> {
    kill(pid, sig).map_err(|e| format!("kill -{sig} {pid}: {e}"))
}

/// The children of `pid` and how many of them are zombies.
fn children_and_zombies(pid: Pid) -> (usize, usize) {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let kids: Vec<i32> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    let zombies = kids.iter().filter(|&&k| procfs::state(k) == 'Z').count();
    (kids.len(), zombies)
}

/// Polls `probe` until it holds; at `deadline`, says what was awaited and
/// what was last seen.
pub fn until(
    deadline: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let start = Instant::now();
    let mut nap = Duration::from_millis(1);
    loop {
        match probe() {
            Ok(()) => return Ok(()),
            Err(last) if start.elapsed() >= deadline => {
                return Err(format!(
                    "no sign of {what} within {deadline:?} (last seen: {last})"
                ));
            }
            Err(_) => std::thread::sleep(nap),
        }
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}
