//! Exact user-space instruction count of a whole lifecycle under callgrind:
//! exec, set-up, wait, SIGTERM, exit.

use crate::peer::VALGRIND;
use crate::{Bench, Measured, Peer, container_env, stats};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Duration;
use test_support::spawn;

pub fn measure(b: &Bench, m: &mut [Measured]) {
    b.step("lifecycle instructions (valgrind --tool=callgrind)");
    let mut instr: Vec<Vec<f64>> = vec![vec![]; b.peers.len()];
    for run in 0..b.plan.callgrind_runs {
        for (i, p) in b.peers.iter().enumerate() {
            match count(p, &b.tmp, run, &b.null) {
                Ok(count) => instr[i].push(count as f64),
                Err(e) => m[i].errors.push(format!("callgrind: {e}")),
            }
        }
    }
    for (x, counts) in m.iter_mut().zip(&instr) {
        x.instructions = stats::summary(counts);
    }
}

/// One life of `peer` under callgrind, its files named after `run`.
fn count(peer: &Peer, tmp: &Path, run: usize, null: &OwnedFd) -> Result<u64, String> {
    let out = tmp.join(format!("callgrind.{}.{run}", peer.key));
    let log = tmp.join(format!("valgrind.{}.{run}.log", peer.key));
    let mut argv = vec![
        VALGRIND.to_string(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out.display()),
        format!("--log-file={}", log.display()),
    ];
    argv.extend(peer.argv());
    let mut cmd = spawn::Command::new(&argv, &container_env());
    let pid = cmd
        .spawn_pid1(null, null)
        .map_err(|e| format!("spawn valgrind: {e}"))?;
    let mut guard = spawn::Guard(Some(pid));
    spawn::wait_ready(pid, Duration::from_secs(120)).map_err(|e| {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        format!("under valgrind: {e}; {log}")
    })?;
    guard.stop()?;
    totals(&out)
}

/// The total of instructions (Ir) callgrind wrote into `out`.
pub fn totals(out: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(out).map_err(|e| format!("read {}: {e}", out.display()))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no totals in {}", out.display()))
}
