//! One teardown path for everything the harness starts, whoever owns it.
//!
//! A signal never runs `Drop`, and a test's resources live on its own thread,
//! so each resource is described by plain data (a [`Resource`]: processes
//! with their start time, a directory, cgroups, a user, a container, a file
//! mode) and registered here before anything is started. Three paths remove
//! a resource, all through [`remove::remove`]:
//!
//! - its owner's `Drop`, through [`Live::release`];
//! - SIGINT, SIGTERM or SIGHUP to the run ([`signals`]): every live
//!   resource, whichever thread owns it, then exit with 128 + the signal;
//! - kill -9, an OOM kill or a power cut: each registration is also a file in
//!   the state directory ([`record`]), and the next run of any suite or
//!   benchmark (or `make sweep`) removes what runs that are gone left.

mod left;
mod record;
mod remove;
mod signals;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

pub use left::{left, tied_to_dir};
pub use record::state_dir;
pub use signals::{stopping, teardown_and_exit};

/// A process the harness started: its PID and start time, so that a PID the
/// kernel gave to someone else since is never signalled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub pid: i32,
    pub start: u64,
}

impl Process {
    /// The running process `pid`, if it exists.
    pub fn of(pid: i32) -> Option<Process> {
        crate::procfs::stat(pid).map(|s| Process {
            pid,
            start: s.start,
        })
    }

    /// Whether it still runs (not a zombie) and is the same process.
    pub fn alive(&self) -> bool {
        crate::procfs::stat(self.pid).is_some_and(|s| s.start == self.start && s.state != 'Z')
    }
}

/// What one harness resource consists of, in data enough to remove it from
/// any thread or from another run. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// One line naming it for people ("containerd node /tmp/pause-cri.x").
    pub what: String,
    /// Stopped first, newest first (kubelet before the API server it
    /// talks to): SIGTERM, a grace period, then SIGKILL.
    pub processes: Vec<Process>,
    /// Its private directory: processes that name it on their command line
    /// or run in a root inside it are killed, mounts under it unmounted,
    /// then it is removed.
    pub dir: Option<PathBuf>,
    /// cgroups (paths below each hierarchy's root) it made: what runs in
    /// them is killed, then they are removed, deepest first.
    pub cgroups: Vec<String>,
    /// A throwaway user: its processes are killed, then the account deleted.
    pub user: Option<String>,
    /// Docker containers (names or IDs) in the host's dockerd: `rm -f -v`.
    pub containers: Vec<String>,
    /// Files whose mode the run changed, with the mode to put back.
    pub modes: Vec<(PathBuf, u32)>,
    /// Files whose one-line content the run (or a daemon it started)
    /// changed, with the line to write back: kernel settings under
    /// /proc/sys that kubelet sets when it starts.
    pub contents: Vec<(PathBuf, String)>,
}

impl Resource {
    pub fn new(what: impl Into<String>) -> Resource {
        Resource {
            what: what.into(),
            ..Default::default()
        }
    }

    pub fn dir(mut self, dir: &Path) -> Resource {
        self.dir = Some(dir.to_path_buf());
        self
    }

    pub fn cgroup(mut self, cgroup: impl Into<String>) -> Resource {
        self.cgroups.push(cgroup.into());
        self
    }

    pub fn user(mut self, name: impl Into<String>) -> Resource {
        self.user = Some(name.into());
        self
    }

    pub fn container(mut self, name: impl Into<String>) -> Resource {
        self.containers.push(name.into());
        self
    }

    pub fn mode(mut self, path: &Path, mode: u32) -> Resource {
        self.modes.push((path.to_path_buf(), mode));
        self
    }

    pub fn content(mut self, path: &Path, line: impl Into<String>) -> Resource {
        self.contents.push((path.to_path_buf(), line.into()));
        self
    }
}

/// A registered resource. Removed by [`Live::release`] (what `Drop` calls),
/// by the signal handler, or by the next run's sweep, whichever comes first;
/// never twice.
#[derive(Clone)]
pub struct Live(Arc<Entry>);

struct Entry {
    id: u64,
    /// None once removed.
    resource: Mutex<Option<Resource>>,
}

impl Live {
    /// Adds a process it started (after the spawn: the directory on its
    /// command line already covers the moment in between).
    pub fn add_process(&self, pid: u32) {
        let mut guard = lock(&self.0.resource);
        if let (Some(r), Some(p)) = (guard.as_mut(), Process::of(pid as i32)) {
            r.processes.push(p);
            record::write(self.0.id, r);
        }
    }

    /// Forgets a process that ended by itself (stopped by a test, say) so
    /// that nothing signals its PID later.
    pub fn forget_process(&self, pid: u32) {
        let mut guard = lock(&self.0.resource);
        if let Some(r) = guard.as_mut() {
            r.processes.retain(|p| p.pid != pid as i32);
            record::write(self.0.id, r);
        }
    }

    /// Stops a process it started (SIGTERM, a grace period, SIGKILL) before
    /// the rest of it, as systemd stops one daemon, and forgets it.
    pub fn stop_process(&self, pid: u32) {
        let process = {
            let guard = lock(&self.0.resource);
            let r = guard.as_ref();
            r.and_then(|r| r.processes.iter().find(|p| p.pid == pid as i32).cloned())
        };
        if let Some(p) = process {
            remove::stop_in_order(std::slice::from_ref(&p));
        }
        self.forget_process(pid);
    }

    /// Leaves it in place for good (files kept for a person to inspect):
    /// no teardown path will remove it.
    pub fn keep(&self) {
        if lock(&self.0.resource).take().is_some() {
            record::delete(self.0.id);
        }
    }

    /// Removes it now, if nothing did yet; says what was removed. During a
    /// teardown the owner's work is over: its thread waits for the exit
    /// there instead of carrying on (writing results of a cut-short run).
    pub fn release(&self) -> Vec<String> {
        let removed = release(&self.0);
        if stopping() {
            signals::park_forever();
        }
        removed
    }
}

fn release(entry: &Entry) -> Vec<String> {
    // The lock is held during removal: a signal arriving meanwhile waits
    // for it instead of removing the same things at the same time.
    let mut guard = lock(&entry.resource);
    let Some(resource) = guard.take() else {
        return Vec::new();
    };
    let removed = remove::remove(&resource);
    record::delete(entry.id);
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|e| e.id != entry.id);
    removed
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

static LIVE: Mutex<Vec<Arc<Entry>>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static FIRST: Once = Once::new();

/// Registers `resource` before anything of it exists: from now on a signal
/// or the next run removes it. The first registration of a run installs the
/// signal handler and sweeps what dead runs left. During a teardown no new
/// work starts: the resource is removed at once and the caller's thread
/// waits for the process to exit.
pub fn register(resource: Resource) -> Live {
    FIRST.call_once(|| {
        for line in sweep() {
            eprintln!("{line}");
        }
        signals::install();
    });
    let entry = Arc::new(Entry {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        resource: Mutex::new(Some(resource)),
    });
    record::write(entry.id, lock(&entry.resource).as_ref().unwrap());
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(entry.clone());
    if stopping() {
        release(&entry);
        signals::park_forever();
    }
    Live(entry)
}

/// Removes every live resource of this run, newest first; returns one
/// summary per resource removed.
fn release_all() -> Vec<String> {
    let entries: Vec<Arc<Entry>> = LIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut summaries = Vec::new();
    for entry in entries.iter().rev() {
        let what = lock(&entry.resource).as_ref().map(|r| r.what.clone());
        let removed = release(entry);
        if let Some(what) = what {
            summaries.push(remove::summary(&what, &removed));
        }
    }
    summaries
}

/// Removes what runs that are no longer alive left (their records in the
/// state directory); one line per thing removed. Never touches a live run.
pub fn sweep() -> Vec<String> {
    sweep_in(&state_dir())
}

/// [`sweep`] with the records in `state`.
pub fn sweep_in(state: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for run in record::dead_runs(state) {
        for (file, resource) in record::resources_of(&run) {
            for thing in remove::remove(&resource) {
                lines.push(format!(
                    "swept (left by {}): {}: {thing}",
                    run.label(),
                    resource.what
                ));
            }
            let _ = std::fs::remove_file(file);
        }
        run.forget();
    }
    lines
}

/// Every resource recorded in `state` by any run, live or dead: what a test
/// looks at while a run it started is alive.
pub fn records_in(state: &Path) -> Vec<Resource> {
    record::all_runs(state)
        .iter()
        .flat_map(record::resources_of)
        .map(|(_, r)| r)
        .collect()
}

/// What other runs, alive or gone, still have on this host: a figure taken
/// now does not measure this run alone.
pub fn others_left() -> Vec<String> {
    let me = Process::of(std::process::id() as i32);
    record::all_runs(&state_dir())
        .iter()
        .filter(|run| run.owner() != me.as_ref())
        .flat_map(|run| {
            let label = run.label();
            record::resources_of(run)
                .into_iter()
                .flat_map(move |(_, r)| {
                    let what = format!("{label}: {}", r.what);
                    left(&r).into_iter().map(move |l| format!("{what}: {l}"))
                })
        })
        .collect()
}
