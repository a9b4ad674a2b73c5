//! Start and stop latency, and idle memory, interleaved run by run: each
//! run starts every peer once, in a rotating order, so that whatever else
//! the machine does weighs on every peer alike.

use crate::{Bench, Measured, container_env, stats};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};
use test_support::procfs;
use test_support::spawn;

/// What one peer's runs gathered.
#[derive(Default)]
struct Samples {
    starts_us: Vec<f64>,
    stops_us: Vec<f64>,
    vmrss_kb: Vec<f64>,
    rss_kb: Vec<f64>,
    pss_kb: Vec<f64>,
}

/// What a run keeps of one start and stop.
#[derive(Clone, Copy)]
struct Keep {
    /// Past the warm-up: the latencies count.
    latency: bool,
    /// One of the runs memory is sampled in.
    memory: bool,
}

pub fn measure(b: &Bench, m: &mut [Measured]) {
    let plan = &b.plan;
    b.step(&format!(
        "start/stop latency: {} runs per peer (+{} warm-up), memory sampled {} times",
        plan.latency_runs, plan.warmup_runs, plan.memory_samples
    ));
    let n = b.peers.len();
    let mut cmds: Vec<spawn::Command> = b
        .peers
        .iter()
        .map(|p| spawn::Command::new(&p.argv(), &container_env()))
        .collect();
    let mut samples: Vec<Samples> = (0..n).map(|_| Samples::default()).collect();
    let mut failed = vec![false; n];
    let mem_every = (plan.latency_runs / plan.memory_samples.max(1)).max(1);
    for run in 0..plan.warmup_runs + plan.latency_runs {
        let latency = run >= plan.warmup_runs;
        let k = run - run.min(plan.warmup_runs);
        let keep = Keep {
            latency,
            memory: latency && k % mem_every == 0,
        };
        for j in 0..n {
            let i = (run + j) % n;
            if failed[i] {
                continue;
            }
            if let Err(e) = start_stop(&mut cmds[i], &b.null, keep, &mut m[i], &mut samples[i]) {
                m[i].errors.push(format!("start/stop: {e}"));
                failed[i] = true;
            }
        }
    }
    for (x, s) in m.iter_mut().zip(&samples) {
        x.start = stats::latency(&s.starts_us);
        x.stop = stats::latency(&s.stops_us);
        x.vmrss_kb = stats::summary(&s.vmrss_kb);
        x.rss_kb = stats::summary(&s.rss_kb);
        x.pss_kb = stats::summary(&s.pss_kb);
    }
}

/// Starts a peer, waits until it is ready, stops it; records what `keep`
/// says, and once how the ready peer waits.
fn start_stop(
    cmd: &mut spawn::Command,
    null: &OwnedFd,
    keep: Keep,
    m: &mut Measured,
    s: &mut Samples,
) -> Result<(), String> {
    let t0 = Instant::now();
    let pid = cmd
        .spawn_pid1(null, null)
        .map_err(|e| format!("spawn: {e}"))?;
    let mut guard = spawn::Guard(Some(pid));
    let (ready, nr) = spawn::wait_ready(pid, Duration::from_secs(10))?;
    let start = ready - t0;
    if keep.memory {
        let (vmrss, rss, pss) = procfs::memory(pid.as_raw())?;
        s.vmrss_kb.push(vmrss as f64);
        s.rss_kb.push(rss as f64);
        s.pss_kb.push(pss as f64);
    }
    if m.ready_syscall.is_none() {
        m.ready_syscall = Some(spawn::syscall_name(nr).into());
        m.signal_masks = signal_masks(pid).ok();
    }
    let (stop, status) = guard.stop()?;
    m.stop_status = Some(status_text(status));
    if keep.latency {
        s.starts_us.push(us(start));
        s.stops_us.push(us(stop));
    }
    Ok(())
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn status_text(s: nix::sys::wait::WaitStatus) -> String {
    use nix::sys::wait::WaitStatus::*;
    match s {
        Exited(_, c) => format!("exit {c}"),
        Signaled(_, sig, _) => format!("killed by {sig}"),
        other => format!("{other:?}"),
    }
}

/// The signal masks the kernel shows for a peer: SigBlk, SigIgn, SigCgt.
fn signal_masks(pid: nix::unistd::Pid) -> Result<[String; 3], String> {
    let mask = |key: &str| {
        procfs::status_field(pid.as_raw(), key)
            .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))
    };
    Ok([mask("SigBlk")?, mask("SigIgn")?, mask("SigCgt")?])
}
