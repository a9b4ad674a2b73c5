//! Idle cost: every peer idles in the same window, and the kernel's count
//! of its context switches and CPU ticks tells whether it woke up.

use crate::{Bench, Measured, container_env};
use std::time::Duration;
use test_support::procfs;
use test_support::spawn;

pub fn measure(b: &Bench, m: &mut [Measured]) {
    b.step(&format!(
        "idle cost: {} s, all peers at once",
        b.plan.idle_seconds
    ));
    match window(b) {
        Ok(v) => {
            for (x, (sw, ticks)) in m.iter_mut().zip(v) {
                x.idle_switches = Some(sw);
                x.idle_ticks = Some(ticks);
            }
        }
        Err(e) => {
            for x in m.iter_mut() {
                x.errors.push(format!("idle: {e}"));
            }
        }
    }
}

/// (context switches, CPU ticks) of each peer during the window.
fn window(b: &Bench) -> Result<Vec<(u64, u64)>, String> {
    let mut cmds: Vec<spawn::Command> = b
        .peers
        .iter()
        .map(|p| spawn::Command::new(&p.argv(), &container_env()))
        .collect();
    let mut guards = Vec::new();
    for c in cmds.iter_mut() {
        let pid = c
            .spawn_pid1(&b.null, &b.null)
            .map_err(|e| format!("spawn: {e}"))?;
        guards.push(spawn::Guard(Some(pid)));
    }
    for g in &guards {
        spawn::wait_ready(g.pid(), Duration::from_secs(10))?;
    }
    let activity = |guards: &[spawn::Guard]| -> Result<Vec<(u64, u64)>, String> {
        guards
            .iter()
            .map(|g| procfs::activity(g.pid().as_raw()))
            .collect()
    };
    let before = activity(&guards)?;
    // The measurement window itself, not a synchronisation.
    std::thread::sleep(Duration::from_secs(b.plan.idle_seconds));
    let after = activity(&guards)?;
    for g in &mut guards {
        g.stop()?;
    }
    Ok(before
        .iter()
        .zip(&after)
        .map(|(b, a)| (a.0 - b.0, a.1 - b.1))
        .collect())
}
