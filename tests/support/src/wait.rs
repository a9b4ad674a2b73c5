//! Waiting on a condition with a deadline, never for a fixed time: a passing
//! run waits only as long as the condition takes.

use std::time::{Duration, Instant};

/// Long enough for qemu-user or a container engine on a loaded two-core
/// machine; conditions are polled, so a passing run never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Polls `probe` until it gives `Ok`, and panics at `deadline` saying what
/// was awaited and what the last probe saw. Polls every millisecond at
/// first, backing off to every 20 ms for slow conditions.
pub fn wait_for<T>(
    what: &str,
    deadline: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    let mut nap = Duration::from_millis(1);
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) if start.elapsed() >= deadline => {
                panic!("timed out after {deadline:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(nap),
        }
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// Polls `cond` until it holds; panics after [`DEADLINE`].
pub fn poll(what: &str, mut cond: impl FnMut() -> bool) {
    poll_some(what, || cond().then_some(()));
}

/// Polls `probe` until it gives `Some`; panics after [`DEADLINE`].
pub fn poll_some<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    wait_for(what, DEADLINE, || probe().ok_or_else(|| "not yet".into()))
}
