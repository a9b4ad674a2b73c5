//! Reaping: orphans made inside a peer's PID namespace are reparented to it
//! (its PID 1); when they all exit at once, how long until none is left a
//! zombie, and how many are left. Peers take turns in a rotating order, round
//! by round. The orphans are test_support's, the same the binary's own suites
//! make.

use super::cpu;
use crate::{Bench, Measured, Peer, container_env, stats};
use nix::unistd::Pid;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};
use test_support::orphans::{Orphans, monotonic_ns};
use test_support::procfs::{self, HasChildren};
use test_support::spawn;

/// One peer's rounds, in ms.
#[derive(Default)]
struct Samples {
    last_exit_ms: Vec<f64>,
    release_ms: Vec<f64>,
    run_us_per_orphan: Vec<f64>,
}

pub fn measure(b: &Bench, m: &mut [Measured]) {
    let plan = &b.plan;
    b.step(&format!(
        "reaping: {} orphans per peer, {} round(s)",
        plan.orphans, plan.reap_rounds
    ));
    let n = b.peers.len();
    let mut samples: Vec<Samples> = (0..n).map(|_| Samples::default()).collect();
    for round in 0..plan.reap_rounds {
        for j in 0..n {
            let i = (round + j) % n;
            if let Err(e) = round_of(
                &b.peers[i],
                plan.orphans,
                &b.null,
                &mut m[i],
                &mut samples[i],
            ) {
                m[i].errors.push(format!("reaping: {e}"));
            }
        }
    }
    for (x, s) in m.iter_mut().zip(&samples) {
        x.reap_last_exit_ms = stats::summary(&s.last_exit_ms);
        x.reap_release_ms = stats::summary(&s.release_ms);
        x.reap_cpu_run_us = stats::summary(&s.run_us_per_orphan);
    }
}

/// A fresh peer reaps `orphans`; the most zombies any round left is kept.
fn round_of(
    peer: &Peer,
    orphans: usize,
    null: &OwnedFd,
    m: &mut Measured,
    s: &mut Samples,
) -> Result<(), String> {
    let mut cmd = spawn::Command::new(&peer.argv(), &container_env());
    let pid = cmd
        .spawn_pid1(null, null)
        .map_err(|e| format!("spawn: {e}"))?;
    let mut guard = spawn::Guard(Some(pid));
    spawn::wait_ready(pid, Duration::from_secs(10))?;
    let r = watch_reaping(pid, orphans, Duration::from_secs(30))?;
    s.last_exit_ms.push(r.last_exit_to_clear_ns as f64 / 1e6);
    s.release_ms.push(r.release_to_clear_ns as f64 / 1e6);
    s.run_us_per_orphan
        .push(r.cpu.run_ns as f64 / 1e3 / orphans as f64);
    let left = m.zombies_left.unwrap_or(0).max(r.zombies_left);
    m.zombies_left = Some(left);
    guard.stop()?;
    Ok(())
}

#[derive(Debug, Clone)]
struct Reaped {
    /// From the last orphan's exit to no child left (ns).
    pub last_exit_to_clear_ns: u64,
    /// From the release (all orphans told to exit) to no child left (ns).
    pub release_to_clear_ns: u64,
    /// Zombies still there at the deadline.
    pub zombies_left: usize,
    /// The peer's CPU time from the release to no child left.
    pub cpu: cpu::Spent,
}

/// Makes `n` orphans in the PID namespace of `peer`, which must be its PID 1
/// and ready; releases them all at once and watches the peer reap them.
fn watch_reaping(peer: Pid, n: usize, deadline: Duration) -> Result<Reaped, String> {
    let mut orphans = Orphans::make(peer, None, 1, n)?;
    all_waiting(&orphans, deadline)?;
    let kids = procfs::children_of(peer.as_raw()).len();
    if kids != n {
        return Err(format!(
            "{kids} children reparented to the peer, expected {n}"
        ));
    }

    let has_children = HasChildren::open(peer.as_raw())?;
    let cpu_before = cpu::of(peer.as_raw())?;
    let released = monotonic_ns();
    orphans.release();
    // A tight loop, never a sleep: it measures when the last zombie goes.
    let release_deadline = Instant::now() + deadline;
    let (clear, zombies_left) = loop {
        if !has_children.check()? {
            break (monotonic_ns(), 0);
        }
        if Instant::now() > release_deadline {
            break (monotonic_ns(), procfs::zombies_of(peer.as_raw()).len());
        }
    };
    let cpu = cpu::of(peer.as_raw())?.since(&cpu_before);
    Ok(Reaped {
        cpu,
        last_exit_to_clear_ns: clear.saturating_sub(orphans.last_exit_ns()),
        release_to_clear_ns: clear.saturating_sub(released),
        zombies_left,
    })
}

/// Waits until every orphan sits in its read of the release pipe, so that
/// the release starts them all from the same point.
fn all_waiting(orphans: &Orphans, deadline: Duration) -> Result<(), String> {
    let start = Instant::now();
    while orphans.waiting() < orphans.count() {
        if start.elapsed() > deadline {
            return Err(format!(
                "only {} of {} orphans started",
                orphans.waiting(),
                orphans.count()
            ));
        }
        std::thread::yield_now();
    }
    Ok(())
}
