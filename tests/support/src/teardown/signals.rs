//! SIGINT, SIGTERM and SIGHUP to a run: stop new work, remove every live
//! resource whichever thread owns it, say what was removed on one line, and
//! exit with 128 + the signal. A second SIGINT during that teardown leaves
//! at once (saying so: the next run's sweep removes the rest), as a second
//! Ctrl-C does in ginkgo. `PAUSE_HARNESS_DEADLINE=SECONDS` gives the run a
//! deadline that tears down the same way.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

static STOPPING: AtomicBool = AtomicBool::new(false);
/// Set by the signal handler itself, before the watching thread wakes.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// True once a teardown began: no new work should start.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Whether the run inherited `signal` ignored: a background job of a
/// non-interactive shell gets SIGINT ignored, and must keep ignoring it.
fn inherited_ignored(signal: i32) -> bool {
    let ignored = crate::procfs::signal_mask(std::process::id() as i32, "SigIgn");
    ignored.is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

/// Installs the handler, unless `PAUSE_HARNESS_SIGNALS=off` (the interrupt
/// suite's negative control: what a run without it leaves).
pub(super) fn install() {
    if std::env::var("PAUSE_HARNESS_SIGNALS").is_ok_and(|v| v == "off") {
        return;
    }
    let wanted: Vec<i32> = [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter(|&s| s == SIGTERM || !inherited_ignored(s))
        .collect();
    for &signal in &wanted {
        // SAFETY: the action only stores to an atomic, which is async-signal-safe.
        let flagged = unsafe {
            signal_hook::low_level::register(signal, || SIGNALLED.store(true, Ordering::SeqCst))
        };
        if let Err(e) = flagged {
            eprintln!("harness: cannot watch signal {signal}: {e}");
        }
    }
    install_panic_hook();
    match Signals::new(&wanted) {
        Ok(signals) => {
            std::thread::Builder::new()
                .name("harness-signals".into())
                .spawn(move || watch(signals))
                .expect("signal thread");
        }
        Err(e) => {
            eprintln!("harness: no signal handler ({e}): an interrupt will leave things behind")
        }
    }
    if let Some(seconds) = std::env::var("PAUSE_HARNESS_DEADLINE")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        std::thread::Builder::new()
            .name("harness-deadline".into())
            .spawn(move || {
                std::thread::sleep(Duration::from_secs(seconds));
                teardown_and_exit(&format!("deadline of {seconds} s passed"), 124);
            })
            .expect("deadline thread");
    }
}

fn watch(mut signals: Signals) {
    let Some(first) = signals.forever().next() else {
        return;
    };
    let name = signal_name(first);
    eprintln!("harness: got {name}: stopping (a second Ctrl-C leaves at once)");
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(stop_everything());
    });
    loop {
        if let Ok(summaries) = finished.recv_timeout(Duration::from_millis(20)) {
            report_and_exit(&format!("got {name}"), &summaries, 128 + first);
        }
        if signals.pending().any(|s| s == SIGINT) {
            eprintln!(
                "harness: second SIGINT during the teardown: leaving at once; \
                 what is left is removed by the next run or `make sweep`"
            );
            std::process::exit(128 + SIGINT);
        }
    }
}

/// Stops new work, removes every live resource, says so, exits with `code`.
pub fn teardown_and_exit(why: &str, code: i32) -> ! {
    let summaries = stop_everything();
    report_and_exit(why, &summaries, code)
}

/// Every live resource of this run, then what runs that died meanwhile
/// left (a child of the harness that was killed before it cleaned up).
fn stop_everything() -> Vec<String> {
    STOPPING.store(true, Ordering::SeqCst);
    let mut summaries = super::release_all();
    summaries.extend(super::sweep());
    summaries
}

fn report_and_exit(why: &str, summaries: &[String], code: i32) -> ! {
    if summaries.is_empty() {
        eprintln!("harness: {why}: nothing was running");
    } else {
        eprintln!("harness: {why}: removed {}", summaries.join("; "));
    }
    std::process::exit(code)
}

/// A panic is either the teardown's doing or a failure of its own:
///
/// - a signal to the process group reaches the harness's daemons too
///   (containerd stops on SIGINT), so a call in flight fails and its thread
///   panics while the handler is tearing down: that thread waits for the
///   exit instead (a panic in a binary aborts, and would cut the teardown);
/// - in a binary (panics abort, no `Drop` runs), a failure ends the whole
///   run: everything live is removed before the abort. A test binary
///   unwinds, and each test's `Drop` removes its own.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if signal_within(Duration::from_millis(200)) {
            park_forever();
        }
        default(info);
        if cfg!(panic = "abort") {
            STOPPING.store(true, Ordering::SeqCst);
            let mut summaries = super::release_all();
            summaries.extend(super::sweep());
            if !summaries.is_empty() {
                eprintln!(
                    "harness: a panic ends the run: removed {}",
                    summaries.join("; ")
                );
            }
        }
    }));
}

/// Whether a signal came, or comes within `wait` (the panic it caused can
/// be seen before the signal thread runs).
fn signal_within(wait: Duration) -> bool {
    let start = std::time::Instant::now();
    loop {
        if SIGNALLED.load(Ordering::SeqCst) || stopping() {
            return true;
        }
        if start.elapsed() > wait {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Blocks the calling thread until the process exits (a thread that wanted
/// to start new work during a teardown).
pub(super) fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}
